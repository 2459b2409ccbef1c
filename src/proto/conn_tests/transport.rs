//! Transport and key exchange: MACs, strict kex, rekeys both ways, every cipher, timers.

use super::*;

#[test]
fn client_rekey_keeps_channel_data_in_order() {
    let (mut conn, mut host, mut c, ch) = exec_session(b"cat");
    for round in 0..3u8 {
        c.send_data(ch as u32, &[round; 100]);
        c.pump(&mut conn, &mut host);
        // Client starts a rekey; the server answers with its own KEXINIT.
        c.kex(&mut conn, &mut host, None, true, false);
        assert!(conn.channel_send(ch, false, &[round; 10]));
        c.pump(&mut conn, &mut host);
        let d = c.recv_kind(msg::CHANNEL_DATA);
        assert_eq!(&d[9..], &[round; 10]);
    }
    assert_eq!(conn.channel_input(ch).len(), 300);
    assert!(conn.closing().is_none());
}

#[test]
fn wrong_mac_disconnects_with_mac_error() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| w.u8(msg::IGNORE));
    let mut bytes = c.out.pending().to_vec();
    c.out.sent(bytes.len());
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let n = bytes.len();
    conn.input_space()[..n].copy_from_slice(&bytes);
    conn.received(n, &mut host, 0);
    assert_eq!(conn.closing().unwrap().reason, msg::reason::MAC_ERROR);
    c.pump(&mut conn, &mut host);
    assert_eq!(disconnect_reason(&mut c), msg::reason::MAC_ERROR);
}

#[test]
fn strict_kex_refuses_ignore_before_newkeys() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.out.raw(b"SSH-2.0-test\r\n").unwrap();
    let i_c = Client::kexinit(true);
    c.send(|w| w.raw(&i_c));
    c.send(|w| w.u8(msg::IGNORE));
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.closing().unwrap().reason, msg::reason::PROTOCOL_ERROR);
}

#[test]
fn strict_kex_requires_kexinit_first() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.out.raw(b"SSH-2.0-test\r\n").unwrap();
    c.send(|w| w.u8(msg::IGNORE));
    let i_c = Client::kexinit(true);
    c.send(|w| w.raw(&i_c));
    c.pump(&mut conn, &mut host);
    assert!(conn.closing().is_some());
}

#[test]
fn lax_client_may_send_ignore_during_kex() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.out.raw(V_C).unwrap();
    c.out.raw(b"\r\n").unwrap();
    c.send(|w| {
        w.u8(msg::IGNORE)?;
        w.string(b"x")
    });
    c.pump(&mut conn, &mut host);
    let server_init = c.recv_kind(msg::KEXINIT);
    c.kex(&mut conn, &mut host, Some(&server_init), false, true);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::SERVICE_ACCEPT);
}

#[test]
fn messages_out_of_phase_disconnect() {
    // A channel open before authentication.
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN)?;
        w.string(b"session")?;
        w.u32(0)?;
        w.u32(100)?;
        w.u32(100)
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
    // A service request before key exchange.
    let (mut conn, mut host, mut c) = setup(65536);
    c.out.raw(b"SSH-2.0-test\r\n").unwrap();
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.closing().unwrap().reason, msg::reason::PROTOCOL_ERROR);
}

/// The client that `absorb`s the server's output (as the fuzz targets use it) follows key
/// exchanges the server starts and ones it starts itself, with and without strict kex, and
/// every byte of process output arrives.
#[test]
fn absorbing_client_follows_both_sides_rekeys() {
    for strict in [false, true] {
        let (mut conn, mut host, mut c) = setup_rekey(65536, 20_000);
        c.handshake(&mut conn, &mut host, strict);
        c.login(&mut conn, &mut host);
        let ch = c.open_exec(&mut conn, &mut host, b"cat") as usize;
        let mut sent = Vec::new();
        let mut received = Vec::new();
        let mut kexinits = 0;
        for round in 0..40u8 {
            if round % 10 == 5 {
                assert!(c.start_kex());
            }
            let n = conn.channel_send_room(ch).min(3000);
            if n > 0 {
                let data = vec![round; n];
                assert!(conn.channel_send(ch, false, &data));
                sent.extend_from_slice(&data);
            }
            conn.tick(&mut host, 0);
            c.deliver(&mut conn, &mut host, 0, usize::MAX);
            let out = conn.output().to_vec();
            conn.output_sent(out.len());
            for p in c.absorb(&out) {
                match p[0] {
                    msg::CHANNEL_DATA => received.extend_from_slice(&p[9..]),
                    msg::KEXINIT => kexinits += 1,
                    _ => {}
                }
            }
            assert_eq!((c.lost, conn.closing()), (None, None), "round {round}");
        }
        // Both kinds happened: by volume (40 rounds of up to 3000 bytes) and asked for.
        assert!(kexinits >= 5, "{kexinits} exchanges");
        assert_eq!(received, sent);
    }
}

#[test]
fn server_rekeys_by_volume_without_losing_data() {
    let (mut conn, mut host, mut c) = setup_rekey(65536, 20_000);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, b"cat") as usize;
    let mut sent = 0u8;
    let mut received = Vec::new();
    for round in 0..6u8 {
        // Output from the process until the volume limit is reached.
        while conn.channel_send_room(ch) > 0 && sent < 20 * (round + 1) {
            assert!(conn.channel_send(ch, false, &[sent; 1000]));
            sent += 1;
        }
        conn.tick(&mut host, 0);
        // Sending stops while the server's exchange is under way.
        assert_eq!(conn.channel_send_room(ch), 0, "round {round}");
        // Client data sent before it saw the server's KEXINIT is still delivered.
        c.send_data(ch as u32, &[round; 10]);
        c.pump(&mut conn, &mut host);
        while let Some(p) = c.recv() {
            if p[0] == msg::KEXINIT {
                c.kex(&mut conn, &mut host, Some(&p), true, false);
                break;
            }
            assert_eq!(p[0], msg::CHANNEL_DATA);
            received.extend_from_slice(&p[9..]);
        }
        c.pump(&mut conn, &mut host);
        while let Some(p) = c.recv() {
            if p[0] == msg::CHANNEL_DATA {
                received.extend_from_slice(&p[9..]);
            }
        }
        assert!(conn.channel_send_room(ch) > 0);
    }
    let expected: Vec<u8> = (0..sent).flat_map(|i| [i; 1000]).collect();
    assert_eq!(received, expected);
    let input: Vec<u8> = (0..6u8).flat_map(|i| [i; 10]).collect();
    assert_eq!(conn.channel_input(ch), &input[..]);
    assert!(conn.closing().is_none());
}

#[test]
fn keepalives_then_disconnect_after_three_unanswered() {
    let (mut conn, mut host, mut c) = setup_timers(crate::proto::conn::Timers {
        keepalive: 5,
        ..Default::default()
    });
    assert_eq!(conn.next_tick(0), 5000);
    conn.tick(&mut host, 5000);
    c.pump(&mut conn, &mut host);
    let p = c.recv_kind(msg::GLOBAL_REQUEST);
    assert_eq!(&p[5..26], b"keepalive@openssh.com");
    // The client's REQUEST_FAILURE counts as an answer.
    c.send(|w| w.u8(msg::REQUEST_FAILURE));
    let data = c.out.pending().to_vec();
    c.out.sent(data.len());
    conn.input_space()[..data.len()].copy_from_slice(&data);
    conn.received(data.len(), &mut host, 6000);
    assert_eq!(conn.next_tick(6000), 5000);
    // Silence: three more requests, then the end.
    for t in [11_000, 16_000, 21_000] {
        conn.tick(&mut host, t);
        assert!(conn.closing().is_none());
        c.pump(&mut conn, &mut host);
        c.recv_kind(msg::GLOBAL_REQUEST);
    }
    conn.tick(&mut host, 26_000);
    assert_eq!(conn.closing().map(|d| d.text), Some("Keepalive timeout"));
}

#[test]
fn idle_and_max_session_timers() {
    let (mut conn, mut host, _c) = setup_timers(crate::proto::conn::Timers {
        idle: 10,
        ..Default::default()
    });
    conn.tick(&mut host, 9_999);
    assert!(conn.closing().is_none());
    conn.tick(&mut host, 10_000);
    assert_eq!(conn.closing().map(|d| d.text), Some("Idle timeout"));
    let (mut conn, mut host, _c) = setup_timers(crate::proto::conn::Timers {
        max_session: 3,
        ..Default::default()
    });
    assert_eq!(conn.next_tick(1000), 2000);
    conn.tick(&mut host, 3_000);
    assert_eq!(
        conn.closing().map(|d| d.text),
        Some("Maximum session time reached")
    );
}

/// Every cipher quoll offers as (cipher, MAC) names: each CTR cipher with every MAC, each
/// AEAD with no MAC.
fn cipher_pairs() -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    for &(c, alg) in CIPHERS {
        if alg.needs_mac() {
            v.extend(MACS.iter().map(|&(m, _)| (c, m)));
        } else {
            v.push((c, ""));
        }
    }
    v
}

/// A logged-in connection under `cipher`/`mac` with a `cat` channel open.
fn session_with(
    cipher: &'static str,
    mac: &'static str,
    rekey_bytes: u64,
) -> (Box<Conn>, TestHost, Client, usize) {
    let (mut conn, mut host, _) = setup_rekey(65536, rekey_bytes);
    let mut c = Client::with_cipher(cipher, mac);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, b"cat") as usize;
    (conn, host, c, ch)
}

/// Handshake, login, exec, key exchanges started by the server (every 200,000 bytes) and by
/// the client, and 1 MB each way, byte-exact, under every cipher and MAC.
#[test]
fn every_cipher_logs_in_rekeys_and_moves_a_megabyte_each_way() {
    const TOTAL: usize = 1_000_000;
    let byte = |i: usize| (i * 7 + i / 251) as u8;
    for (cipher, mac) in cipher_pairs() {
        let (mut conn, mut host, mut c, ch) = session_with(cipher, mac, 200_000);
        let (mut up, mut up_got, mut down, mut down_got) = (0, Vec::new(), 0, Vec::new());
        let mut unadjusted = 0u32;
        let (mut kexinits, mut client_kex) = (0, 0);
        for round in 0..1000 {
            if up_got.len() == TOTAL && down_got.len() == TOTAL {
                break;
            }
            if round == 30 && c.start_kex() {
                client_kex += 1;
            }
            // Nothing but the exchange while the client's is under way.
            if !c.in_kex() {
                if unadjusted > 0 {
                    c.send(|w| {
                        w.u8(msg::CHANNEL_WINDOW_ADJUST)?;
                        w.u32(ch as u32)?;
                        w.u32(unadjusted)
                    });
                    unadjusted = 0;
                }
                let n = (TOTAL - up).min(16_384);
                if n > 0 {
                    let chunk: Vec<u8> = (up..up + n).map(byte).collect();
                    c.send_data(ch as u32, &chunk);
                    up += n;
                }
            }
            c.deliver(&mut conn, &mut host, 0, usize::MAX);
            let got = conn.channel_input(ch).to_vec();
            up_got.extend_from_slice(&got);
            conn.channel_consumed(ch, got.len(), &mut host);
            let n = conn.channel_send_room(ch).min(TOTAL - down).min(16_384);
            if n > 0 {
                let chunk: Vec<u8> = (down..down + n).map(byte).collect();
                assert!(conn.channel_send(ch, false, &chunk));
                down += n;
            }
            conn.tick(&mut host, 0);
            let out = conn.output().to_vec();
            conn.output_sent(out.len());
            for p in c.absorb(&out) {
                match p[0] {
                    msg::CHANNEL_DATA => {
                        down_got.extend_from_slice(&p[9..]);
                        unadjusted += (p.len() - 9) as u32;
                    }
                    msg::KEXINIT => kexinits += 1,
                    _ => {}
                }
            }
            assert_eq!((c.lost, conn.closing()), (None, None), "{cipher} {mac}");
        }
        assert_eq!(up_got.len(), TOTAL, "{cipher} {mac}");
        assert_eq!(down_got.len(), TOTAL, "{cipher} {mac}");
        assert!(up_got.iter().enumerate().all(|(i, &b)| b == byte(i)));
        assert!(down_got.iter().enumerate().all(|(i, &b)| b == byte(i)));
        // The client's own, and the server's by volume (at 200 kB either way since the last).
        assert_eq!(client_kex, 1, "{cipher} {mac}");
        assert!(
            kexinits >= client_kex + 3,
            "{cipher} {mac}: {kexinits}, {client_kex} by the client"
        );
    }
}

/// A flipped byte in the MAC (the GCM tag, the Poly1305 tag) of the client's next packet
/// ends the connection with MAC_ERROR, under every cipher and MAC.
#[test]
fn a_flipped_mac_or_tag_byte_ends_the_connection_with_mac_error() {
    for (cipher, mac) in cipher_pairs() {
        for from_end in [1, 16] {
            let (mut conn, mut host, mut c, ch) = session_with(cipher, mac, 1 << 30);
            c.send_data(ch as u32, b"tampered");
            let mut bytes = c.out.pending().to_vec();
            c.out.sent(bytes.len());
            let at = bytes.len() - from_end;
            bytes[at] ^= 0x40;
            let n = bytes.len();
            conn.input_space()[..n].copy_from_slice(&bytes);
            conn.received(n, &mut host, 0);
            let d = conn.closing();
            assert_eq!(
                d.map(|d| d.reason),
                Some(msg::reason::MAC_ERROR),
                "{cipher} {mac}"
            );
            assert!(conn.channel_input(ch).is_empty(), "nothing of it delivered");
            c.pump(&mut conn, &mut host);
            assert_eq!(disconnect_reason(&mut c), msg::reason::MAC_ERROR);
        }
    }
}

/// With the length in clear (EtM, GCM) or in the first block (encrypt-and-MAC), a length over
/// the limit ends the connection as soon as those bytes are in: no waiting for a body of that
/// size, and so no MAC work over it.
#[test]
fn a_length_over_the_limit_is_refused_from_the_first_block() {
    for (cipher, mac) in cipher_pairs() {
        let (mut conn, mut host, mut c, _) = session_with(cipher, mac, 1 << 30);
        // The client's next packet, sealed, with its length raised past the limit: in clear
        // where it travels in clear; else as the client's keystream encrypts it.
        c.send(|w| w.raw(&[msg::IGNORE; 20]));
        let mut bytes = c.out.pending().to_vec();
        let clear = mac.contains("etm") || cipher.contains("gcm");
        let lie = 1_000_000u32 + 16;
        if clear {
            bytes[..4].copy_from_slice(&lie.to_be_bytes());
        } else {
            // chacha20-poly1305 and encrypt-and-MAC encrypt the length with a keystream: XOR
            // in the difference from the real length (what is not length field or MAC).
            let tag = match mac {
                "" => 16,
                m if m.contains("512") => 64,
                _ => 32,
            };
            let real = (bytes.len() - 4 - tag) as u32;
            let x = (real ^ lie).to_be_bytes();
            for (b, x) in bytes.iter_mut().zip(x) {
                *b ^= x;
            }
        }
        // Only the first 16 bytes arrive.
        conn.input_space()[..16].copy_from_slice(&bytes[..16]);
        conn.received(16, &mut host, 0);
        let d = conn.closing();
        assert_eq!(
            d.map(|d| (d.reason, d.text)),
            Some((msg::reason::PROTOCOL_ERROR, "bad packet length")),
            "{cipher} {mac}"
        );
    }
}
