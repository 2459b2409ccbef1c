//! A recorded session replayed: every prefix, every corrupted byte, output taken in pieces.

use super::*;

/// A real session's client bytes, recorded: version, key exchange, an unknown key, a key
/// login, an `exec` of `cat` with data and EOF. Keys and randomness are fixed on both
/// sides, so a fresh connection fed these bytes follows the same session.
fn recorded_session() -> Vec<u8> {
    let (mut conn, mut host, mut c) = setup(65536);
    c.recording = Some(Vec::new());
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    // A key the server does not know (the query step), then the right one.
    let other = public_blob(&Ed25519Key::from_seed(&[9; 32]).public_key());
    c.send_pubkey_query(&other);
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_FAILURE);
    c.send_signed_pubkey();
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_SUCCESS);
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    c.send_data(ch, b"hello");
    c.send(|w| {
        w.u8(msg::CHANNEL_EOF)?;
        w.u32(ch)
    });
    c.pump(&mut conn, &mut host);
    c.recording.take().unwrap()
}

/// A connection fed a byte stream the way the daemon's loop feeds it: questions answered at
/// once, the output taken as it comes, held packets let through, the channel's data passed
/// on. Clone is a snapshot.
#[derive(Clone)]
struct Replay {
    conn: Box<Conn>,
    host: TestHost,
    data: Vec<u8>,
}

impl Replay {
    fn new() -> Replay {
        let (conn, host, _) = setup(65536);
        Replay {
            conn,
            host,
            data: Vec::new(),
        }
    }

    fn round(&mut self) {
        let (conn, host) = (&mut self.conn, &mut self.host);
        host.settle(conn, 0);
        let n = conn.output().len();
        conn.output_sent(n);
        if conn.wants_input() {
            conn.received(0, host, 0);
        }
        if let Some(&(ch, _)) = host.started.first() {
            let got = conn.channel_input(ch).to_vec();
            conn.channel_consumed(ch, got.len(), host);
            self.data.extend_from_slice(&got);
        }
    }

    /// Feeds `bytes` as far as the connection takes them, then lets it settle.
    fn feed(&mut self, mut bytes: &[u8]) {
        let mut idle = 0;
        while !bytes.is_empty() && self.conn.closing().is_none() && idle < 3 {
            self.round();
            let space = self.conn.input_space();
            let n = space.len().min(bytes.len());
            if n == 0 {
                idle += 1;
                continue;
            }
            idle = 0;
            space[..n].copy_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            self.conn.received(n, &mut self.host, 0);
        }
        for _ in 0..3 {
            self.round();
        }
    }

    /// Logged in, the channel's data and whether its EOF came, the disconnect if it closed.
    fn outcome(&self) -> (bool, &[u8], bool, Option<Disconnect>) {
        let eof = self
            .host
            .started
            .first()
            .is_some_and(|&(ch, _)| self.conn.channel_input_finished(ch));
        (
            self.conn.authenticated(),
            &self.data,
            eof,
            self.conn.closing(),
        )
    }
}

#[test]
fn every_prefix_and_every_corrupted_byte_of_a_real_session() {
    let session = recorded_session();
    let mut whole = Replay::new();
    whole.feed(&session);
    assert_eq!(
        whole.outcome(),
        (true, &b"hello"[..], true, None),
        "the replayed session logs in, its data and EOF arrive"
    );
    // Where the client's encrypted packets begin: after the version line and its three
    // plaintext packets (KEXINIT, KEX_ECDH_INIT, NEWKEYS).
    let mut plain = session.iter().position(|&b| b == b'\n').unwrap() + 1;
    for _ in 0..3 {
        plain += 4 + u32::from_be_bytes(session[plain..plain + 4].try_into().unwrap()) as usize;
    }
    // `at` holds the connection after `session[..i]`, byte by byte.
    let mut at = Replay::new();
    for i in 0..session.len() {
        // The prefix: the connection waits for the rest (nothing closes it), nothing logs in
        // before the key exchange is done, and no data arrives that was not sent.
        let (authenticated, data, _, closing) = at.outcome();
        assert!(closing.is_none(), "prefix {i}: {closing:?}");
        assert!(b"hello".starts_with(data), "prefix {i}: {data:?}");
        assert!(i > plain || !authenticated, "prefix {i} logged in");
        // Byte i corrupted: the session goes on unchanged (the byte meant nothing: a
        // plaintext packet's padding), or it ends, at the latest when more bytes come (a
        // length that now asks for more; a version line still awaited). Before the keys it
        // grants nothing; after them it ends with MAC_ERROR, or at once when the length
        // decrypts to one no packet may have.
        let mut bad = at.clone();
        bad.feed(&[session[i] ^ 0x55]);
        bad.feed(&session[i + 1..]);
        if bad.outcome() == (true, &b"hello"[..], true, None) {
            assert!(
                i < plain,
                "byte {i}: corruption in the encrypted part went unnoticed"
            );
        } else {
            let (authenticated, data, _, _) = bad.outcome();
            assert!(b"hello".starts_with(data), "byte {i}: {data:?}");
            assert!(i > plain || !authenticated, "byte {i}: logged in");
            bad.feed(&[0; 2 * crate::proto::limits::MAX_PACKET]);
            let d = bad
                .outcome()
                .3
                .unwrap_or_else(|| panic!("byte {i}: never closed"));
            assert!(
                i < plain || d.reason == msg::reason::MAC_ERROR || d.text == "bad packet length",
                "byte {i} of {}: {d:?}",
                session.len()
            );
        }
        at.feed(&session[i..i + 1]);
    }
}

#[test]
fn output_taken_by_the_socket_in_pieces_loses_nothing() {
    // The edge sends what `channel_send_room` allows while the socket takes only part of the
    // queued output each time (a slow link): every byte must arrive, in order.
    let (mut conn, _host, mut c, ch) = exec_session(b"cat");
    let byte = |i: usize| (i % 251) as u8;
    let (mut sent, mut seed) = (0usize, 7u32);
    let mut received = Vec::new();
    while sent < 900_000 {
        let room = conn.channel_send_room(ch).min(32768).min(900_000 - sent);
        if room > 0 {
            let data: Vec<u8> = (sent..sent + room).map(byte).collect();
            assert!(
                conn.channel_send(ch, false, &data),
                "{room} bytes at {sent}"
            );
            sent += room;
        }
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let take = ((seed >> 8) as usize % 30_000).min(conn.output().len());
        c.take_data(&mut conn, take, &mut received);
    }
    let rest = conn.output().len();
    c.take_data(&mut conn, rest, &mut received);
    assert_eq!(received.len(), sent);
    assert!(received.iter().enumerate().all(|(i, &b)| b == byte(i)));
}
