//! The bytes a client sends before any key is agreed, into a fresh `Conn`: version line,
//! preamble, plaintext packets, KEXINIT negotiation, KEX_ECDH_INIT, NEWKEYS and whatever
//! follows. The first input byte only picks how the stream is cut into reads, how much
//! output the socket takes each time, and how the clock moves; the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quoll::proto::auth::Policy;
use quoll::proto::conn::{Conn, Disconnect};
use quoll::proto::test_client::{params, test_host};
use quoll_fuzz::Watch;

/// xorshift32: the read sizes and timings, from the first input byte.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, mut stream)) = data.split_first() else {
        return;
    };
    let mut rng = Rng(0x9e37_79b9 ^ u32::from(ctl));
    let mut host = test_host();
    let policy = Policy {
        blank: ctl & 1 != 0,
        ..Policy::default()
    };
    let mut conn = Conn::try_new(params(65536, 1 << 30, policy), 0, &mut host.budget)
        .expect("an unlimited budget");
    let mut watch = Watch::default();
    conn.start(&mut host);
    watch.check(&conn);
    let mut now = 0u64;
    // Each turn reads or drains something, so this bound is never what stops a run.
    for _ in 0..100_000 {
        if stream.is_empty() || watch.closed() {
            break;
        }
        // The edge answers a held question now or a turn later (its helper is slow), and
        // every other event at once.
        host.hold = conn.question().is_some() && rng.next() % 4 == 0;
        host.settle(&mut conn, now);
        watch.check(&conn);
        if conn.wants_input() {
            let space = conn.input_space();
            let want = match rng.next() % 4 {
                0 => 1,
                1 => 7,
                2 => 100,
                _ => usize::MAX,
            };
            let n = want.min(space.len()).min(stream.len());
            space[..n].copy_from_slice(&stream[..n]);
            stream = &stream[n..];
            conn.received(n, &mut host, now);
            watch.check(&conn);
        }
        // The socket takes some of the output (all of it when the core waits for room).
        let out = conn.output().len();
        let take = if conn.wants_input() {
            out * (rng.next() % 3) as usize / 2
        } else {
            out
        };
        conn.output_sent(take);
        watch.check(&conn);
        now += u64::from(rng.next() % 2000);
        conn.tick(&mut host, now);
        if conn.wants_input() {
            conn.received(0, &mut host, now);
        }
        watch.check(&conn);
    }
    // Whatever else happens to a closed connection, it stays closed.
    if watch.closed() {
        conn.tick(&mut host, now + 3_600_000);
        watch.check(&conn);
        conn.peer_closed();
        watch.check(&conn);
        conn.disconnect(Disconnect {
            reason: 11,
            text: "later",
        });
        watch.check(&conn);
        let n = conn.output().len();
        conn.output_sent(n);
        watch.check(&conn);
    }
});
