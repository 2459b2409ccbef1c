//! The server's per-login public-key crypto, timed: an X25519 key pair and agreement
//! (curve25519-sha256 key exchange), an Ed25519 signature (the host key signs the exchange
//! hash) and an Ed25519 verification (the client's user-auth signature). An example, not a
//! `quoll` subcommand, so the shipped binary does not grow.
//!
//!   cargo run --release --example handshake [ROUNDS]
//!
//! scripts/cross-test runs it natively and under qemu-user for each target (docs/cross.md).
//! Prints one line: `handshake rounds=N x25519_ms=.. sign_ms=.. verify_ms=.. total_ms=..`
//! (milliseconds per operation, the fastest of N rounds; x25519 is key generation plus
//! agreement; total is their sum).

use quoll::proto::crypto::{verify_sig_blob, Ed25519Key, X25519Secret};
use std::time::{Duration, Instant};

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20)
        .max(1);

    // Fixed inputs: the cost does not depend on the values (the code is constant-time).
    let client = X25519Secret::from_random([7u8; 32]);
    let client_pub = client.public_key();
    let host = Ed25519Key::from_seed(&[9u8; 32]);
    let user = Ed25519Key::from_seed(&[11u8; 32]);
    let user_pub = user.public_key();
    let exchange_hash = [0x5au8; 32];
    let user_sig = user.sign_blob(&exchange_hash);

    // Each operation is timed on its own and the fastest round is kept: the machines this runs
    // on (CI, qemu-user) are shared, and a busy moment only ever makes a round slower.
    let mut sink = 0u8;
    let (mut x25519, mut sign, mut verify) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for i in 0..rounds {
        let t = Instant::now();
        let s = X25519Secret::from_random([i as u8 | 0x40; 32]);
        let _server_pub = s.public_key();
        let shared = s.agree(&client_pub).expect("agreement");
        x25519 = x25519.min(t.elapsed());
        sink ^= shared.0[0];

        let t = Instant::now();
        sink ^= host.sign_blob(&exchange_hash)[20];
        sign = sign.min(t.elapsed());

        let t = Instant::now();
        assert!(verify_sig_blob(&user_pub, &exchange_hash, &user_sig));
        verify = verify.min(t.elapsed());
    }

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "handshake rounds={} x25519_ms={:.3} sign_ms={:.3} verify_ms={:.3} total_ms={:.3} ({})",
        rounds,
        ms(x25519),
        ms(sign),
        ms(verify),
        ms(x25519 + sign + verify),
        sink
    );
}
