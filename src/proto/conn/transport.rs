//! The transport's own messages (RFC 4253): the version line, our KEXINIT, the client's
//! KEXINIT and KEX_ECDH_INIT, and the refusal sent when there is no `Conn` at all.

use super::Disconnect;
use super::{fail, no_space, Host, KexState, State, SERVER_VERSION};
use crate::proto::crypto::X25519Secret;
use crate::proto::kex::{self, ClientOffer, ExchangeHash, OurInit};
use crate::proto::limits::{MAX_PREAMBLE, MAX_VERSION_LINE};
use crate::proto::msg::{self, reason};
use crate::proto::packet::{Input, Output};

impl State {
    #[inline(never)]
    pub(super) fn read_version(&mut self, input: &mut Input) -> Result<(), Disconnect> {
        loop {
            let buf = input.buffered();
            let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
                if buf.len() > MAX_VERSION_LINE || self.preamble + buf.len() > MAX_PREAMBLE {
                    return Err(fail(reason::PROTOCOL_ERROR, "no SSH version line"));
                }
                return Ok(());
            };
            let line = &buf[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.starts_with(b"SSH-") {
                if !(line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-"))
                    || nl + 1 > MAX_VERSION_LINE
                    || line.iter().any(|&c| !(0x20..0x7f).contains(&c))
                {
                    return Err(fail(reason::PROTOCOL_ERROR, "unsupported SSH version"));
                }
                // Fits: checked against MAX_VERSION_LINE above.
                let _ = self.v_c.extend_from_slice(line);
                input.consume(nl + 1);
                self.version_done = true;
                return Ok(());
            }
            self.preamble += nl + 1;
            if self.preamble > MAX_PREAMBLE {
                return Err(fail(reason::PROTOCOL_ERROR, "no SSH version line"));
            }
            input.consume(nl + 1);
        }
    }

    pub(super) fn send_kexinit(&mut self, out: &mut Output, host: &mut dyn Host) {
        let mut cookie = [0u8; 16];
        host.random(&mut cookie);
        let ours = Box::new(OurInit::build(cookie));
        let _ = out.packet(cookie[0], |w| w.raw(ours.payload()));
        out.counters = Default::default();
        self.kex = KexState::SentInit(ours);
    }

    /// Sending anything but transport and kex messages is not allowed between our KEXINIT and
    /// our NEWKEYS.
    pub(super) fn sending_blocked(&self) -> bool {
        matches!(self.kex, KexState::SentInit(_) | KexState::AwaitEcdh(..))
            || self.session_id.is_none()
    }

    pub(super) fn on_kexinit(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        in_seq: u32,
        host: &mut dyn Host,
        now: u64,
    ) -> Result<(), Disconnect> {
        let first = self.session_id.is_none();
        let ours = match core::mem::replace(&mut self.kex, KexState::Idle) {
            KexState::SentInit(o) => o,
            KexState::Idle => {
                // The client starts a rekey: answer with our KEXINIT.
                let mut cookie = [0u8; 16];
                host.random(&mut cookie);
                let o = Box::new(OurInit::build(cookie));
                out.packet(0, |w| w.raw(o.payload())).map_err(no_space)?;
                out.counters = Default::default();
                self.kex_started_at = now;
                o
            }
            _ => return Err(fail(reason::PROTOCOL_ERROR, "KEXINIT during key exchange")),
        };
        let offer: ClientOffer = kex::negotiate(payload, first)
            .map_err(|e| fail(reason::KEY_EXCHANGE_FAILED, e.text()))?;
        if first {
            self.strict = offer.strict;
            self.ext_info = offer.ext_info;
            if offer.strict && in_seq != 0 {
                return Err(fail(
                    reason::PROTOCOL_ERROR,
                    "strict key exchange violation: KEXINIT was not the first packet",
                ));
            }
        }
        self.ignore_next_kex = offer.ignore_guess;
        let blob = host.host_key_blob();
        self.kex = KexState::AwaitEcdh(
            Box::new(ExchangeHash::start(
                &self.v_c,
                SERVER_VERSION.as_bytes(),
                payload,
                ours.payload(),
                &blob,
            )),
            offer.algs,
        );
        Ok(())
    }

    pub(super) fn on_ecdh(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        host: &mut dyn Host,
    ) -> Result<(), Disconnect> {
        let KexState::AwaitEcdh(hash, algs) = core::mem::replace(&mut self.kex, KexState::Idle)
        else {
            return Err(fail(reason::PROTOCOL_ERROR, "unexpected KEX_ECDH_INIT"));
        };
        let mut secret = [0u8; 32];
        host.random(&mut secret);
        let eph = X25519Secret::from_random(secret);
        let mut kem_seed = [0u8; 32];
        host.random(&mut kem_seed);
        let ex = kex::ecdh(
            *hash,
            payload,
            eph,
            &kem_seed,
            self.session_id.as_ref(),
            algs,
        );
        zeroize::Zeroize::zeroize(&mut secret);
        zeroize::Zeroize::zeroize(&mut kem_seed);
        let ex = ex.map_err(|e| fail(reason::KEY_EXCHANGE_FAILED, e.text()))?;
        let sig = host.sign(&ex.h);
        let blob = host.host_key_blob();
        out.packet(0, |w| {
            w.u8(msg::KEX_ECDH_REPLY)?;
            w.string(&blob)?;
            w.string(&ex.q_s)?;
            w.string(&sig)
        })
        .map_err(no_space)?;
        out.packet(0, |w| w.u8(msg::NEWKEYS)).map_err(no_space)?;
        let first = self.session_id.is_none();
        out.set_cipher(ex.keys.s2c);
        if self.strict {
            out.seq = 0;
        }
        out.counters = Default::default();
        if first {
            self.session_id = Some(ex.h);
            if self.ext_info {
                out.packet(0, |w| {
                    w.u8(msg::EXT_INFO)?;
                    w.u32(1)?;
                    w.string(b"server-sig-algs")?;
                    w.string(crate::proto::userkey::SERVER_SIG_ALGS.as_bytes())
                })
                .map_err(no_space)?;
            }
        }
        self.kex = KexState::AwaitNewKeys(Box::new(ex.keys.c2s));
        Ok(())
    }
}

/// What a connection refused at accept is sent, with no `Conn` to speak for it: our version
/// line and a DISCONNECT in the clear (RFC 4253 §11.1 allows one at any time, and packets are
/// unencrypted until the first NEWKEYS), so that the client prints `text`. At most 120 bytes
/// of `text` are sent.
pub fn refusal(reason: u32, text: &str) -> heapless::Vec<u8, 256> {
    let mut payload = [0u8; 136];
    let plen = {
        let mut w = crate::proto::wire::Writer::new(&mut payload);
        let text = &text.as_bytes()[..text.len().min(120)];
        // Fits: 1 + 4 + 4 + 120 + 4 bytes.
        let _ = (|| {
            w.u8(msg::DISCONNECT)?;
            w.u32(reason)?;
            w.string(text)?;
            w.string(b"")
        })();
        w.len()
    };
    // Padding as `Output::packet` does it without a cipher: (5 + payload + padding) % 8 == 0,
    // at least 4 bytes.
    let mut pad = 8 - (5 + plen) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut v = heapless::Vec::new();
    let _ = v.extend_from_slice(SERVER_VERSION.as_bytes());
    let _ = v.extend_from_slice(b"\r\n");
    let _ = v.extend_from_slice(&((1 + plen + pad) as u32).to_be_bytes());
    let _ = v.push(pad as u8);
    let _ = v.extend_from_slice(&payload[..plen]);
    let _ = v.extend_from_slice(&[0u8; 16][..pad]);
    v
}
