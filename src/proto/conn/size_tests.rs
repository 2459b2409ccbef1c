//! What a connection holds: the figures README.md states, and the refusal's bytes.

use super::*;
use crate::config;

/// The figures README.md states; a change that grows a connection must update both.
#[test]
fn connection_memory_stays_within_documented_bound() {
    let conn = core::mem::size_of::<Conn>();
    let channel = core::mem::size_of::<crate::proto::channel::Channel>();
    let fixed = Conn::fixed_bytes(config::MAX_CHANNELS);
    eprintln!("Conn {conn} B, Channel {channel} B, at accept {fixed} B");
    assert_eq!(config::OUTPUT_BUFFER, 70_128);
    // README's figures (x86_64): 184,680 bytes at accept, and 446,824 for a connection
    // with one session at the default window (the unit the default budget is counted in).
    #[cfg(feature = "aes")]
    assert_eq!(crate::proto::packet::INPUT_BUFFER, 70_136);
    #[cfg(all(target_pointer_width = "64", feature = "aes"))]
    {
        assert_eq!((conn, channel, fixed), (3072, 432, 184_680));
        assert_eq!(fixed + config::DEFAULT_WINDOW as usize, 446_824);
    }
    // Without the AES modes: a 16-byte tag at most, and the chacha20-poly1305 keys alone.
    #[cfg(not(feature = "aes-ctr"))]
    assert_eq!(crate::proto::packet::INPUT_BUFFER, 70_040);
    #[cfg(all(target_pointer_width = "64", not(feature = "aes-ctr")))]
    assert_eq!((conn, channel, fixed), (1320, 432, 182_832));
    // The `aes-ctr` subset: HMAC-SHA-256's 32-byte MAC at most.
    #[cfg(all(feature = "aes-ctr", not(feature = "aes")))]
    assert_eq!(crate::proto::packet::INPUT_BUFFER, 70_072);
    assert!(
        conn <= 3328 && channel <= 512 && fixed <= 187_000,
        "{fixed}"
    );
}

/// A refusal parses as our version line and a DISCONNECT with the reason and text.
#[test]
fn a_refusal_is_a_version_line_and_a_disconnect() {
    let long = "x".repeat(300);
    for text in ["memory limit reached: connection refused", &long[..]] {
        let r = refusal(msg::reason::TOO_MANY_CONNECTIONS, text);
        let nl = r.iter().position(|&c| c == b'\n').unwrap();
        assert_eq!(&r[..nl + 1], format!("{SERVER_VERSION}\r\n").as_bytes());
        let mut inp = crate::proto::packet::Input::new();
        let rest = &r[nl + 1..];
        inp.space()[..rest.len()].copy_from_slice(rest);
        inp.filled(rest.len());
        let (a, b) = inp.next_packet().unwrap().unwrap();
        let mut rd = Reader::new(&inp.payload_buf()[a..b]);
        assert_eq!(rd.u8().unwrap(), msg::DISCONNECT);
        assert_eq!(rd.u32().unwrap(), msg::reason::TOO_MANY_CONNECTIONS);
        assert_eq!(
            rd.string().unwrap(),
            &text.as_bytes()[..text.len().min(120)]
        );
        assert_eq!(rd.string().unwrap(), b"");
        inp.consume_packet();
        assert_eq!(inp.next_packet(), Ok(None), "nothing after it");
    }
}

/// What a connection holds is what it took: at accept, per channel, and back at close.
#[test]
fn a_connection_takes_its_fixed_bytes_and_gives_everything_back() {
    let p = Params {
        window: config::DEFAULT_WINDOW,
        max_channels: config::MAX_CHANNELS,
        max_auth_tries: config::DEFAULT_MAX_AUTH_TRIES,
        rekey_bytes: config::REKEY_BYTES,
        rekey_secs: config::REKEY_SECS,
        auth: auth::Policy::default(),
        timers: Timers::default(),
    };
    let fixed = Conn::fixed_bytes(p.max_channels);
    let mut budget = Budget::new(fixed - 1, crate::proto::budget::zeroed);
    assert_eq!(
        Conn::try_new(p, 0, &mut budget).err(),
        Some(Shortage::Budget)
    );
    assert_eq!(budget.used(), 0);
    let mut budget = Budget::new(1 << 30, |_| None);
    assert_eq!(
        Conn::try_new(p, 0, &mut budget).err(),
        Some(Shortage::System)
    );
    assert_eq!(budget.used(), 0, "a failed allocation holds nothing");
    let mut budget = Budget::new(fixed, crate::proto::budget::zeroed);
    let conn = Conn::try_new(p, 0, &mut budget).unwrap();
    assert_eq!((budget.used(), conn.held_bytes()), (fixed, fixed));
    conn.free(&mut budget);
    assert_eq!(budget.used(), 0);
}
