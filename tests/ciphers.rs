//! The stock OpenSSH client with `-o Ciphers=X -o MACs=Y` for every cipher and MAC quoll
//! offers: `ssh -vv` shows the pair negotiated in both directions and random bytes go through
//! `cat` both ways at once, byte-exact (SHA-256).
//!
//! Every pair moves 64 MiB each way with `RekeyLimit=1M` (a rekey every MiB).

mod common;
use common::*;
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

/// What quoll offers (`quoll -Q cipher`, `quoll -Q mac`; `offered_lists_match` checks).
const CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
];
const MACS: &[&str] = &[
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
];

/// `ssh -vv -o Ciphers=cipher -o MACs=mac host cat` with `size` random bytes in and out.
fn cat_through(srv: &Server, cipher: &str, mac: &str, size: usize, rekey: bool) {
    let tag = format!("{cipher} {mac}");
    let src = srv.dir.join("src.bin");
    let back = srv.dir.join("back.bin");
    let want = random_file(&src, size);
    let mut opts = vec![
        "-vv".to_string(),
        "-o".to_string(),
        format!("Ciphers={cipher}"),
        "-o".to_string(),
        format!("MACs={mac}"),
    ];
    if rekey {
        opts.extend(["-o".to_string(), "RekeyLimit=1M".to_string()]);
    }
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let out = run_io(
        &mut srv.ssh_command(&opts, "cat"),
        Stdio::from(File::open(&src).unwrap()),
        Stdio::from(File::create(&back).unwrap()),
        TRANSFER_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{tag}\n{}", srv.context(&out));
    // An AEAD's MAC is implicit: the MAC option is not used.
    let shown_mac = if cipher.contains("gcm") || cipher.starts_with("chacha") {
        "<implicit>"
    } else {
        mac
    };
    for dir in ["client->server", "server->client"] {
        let line = format!("kex: {dir} cipher: {cipher} MAC: {shown_mac} compression: none");
        assert!(
            out.stderr.lines().any(|l| l.trim_end().ends_with(&line)),
            "ssh -vv does not show {line:?}\n{}",
            srv.context(&out)
        );
    }
    if rekey {
        let exchanges = out.stderr.matches("SSH2_MSG_NEWKEYS received").count();
        assert!(
            exchanges as u64 >= (size as u64 >> 20),
            "{tag}: {exchanges} key exchanges for {size} bytes with RekeyLimit=1M"
        );
    }
    let len = std::fs::metadata(&back).unwrap().len();
    assert_eq!(len, size as u64, "{tag}: bytes back\n{}", srv.context(&out));
    assert_eq!(
        sha256_file(&back),
        want,
        "{tag}: data changed on the way through cat\n{}",
        srv.context(&out)
    );
}

/// 64 MiB each way with a rekey every MiB, for every pair of `cipher` and (for the CTR
/// ciphers) each MAC.
fn every_mac_of(cipher: &str) {
    let srv = Server::start();
    let aead = cipher.contains("gcm") || cipher.starts_with("chacha");
    let macs: &[&str] = if aead { &MACS[..1] } else { MACS };
    for &mac in macs {
        cat_through(&srv, cipher, mac, 64 << 20, true);
    }
}

#[test]
fn chacha20_poly1305_64mib_with_rekeys() {
    every_mac_of("chacha20-poly1305@openssh.com");
}

#[test]
fn aes128_ctr_every_mac_64mib_with_rekeys() {
    every_mac_of("aes128-ctr");
}

#[test]
fn aes256_ctr_every_mac_64mib_with_rekeys() {
    every_mac_of("aes256-ctr");
}

#[test]
fn aes128_gcm_64mib_with_rekeys() {
    every_mac_of("aes128-gcm@openssh.com");
}

#[test]
fn aes256_gcm_64mib_with_rekeys() {
    every_mac_of("aes256-gcm@openssh.com");
}

/// Every cipher is tested above.
#[test]
fn every_offered_cipher_has_a_test() {
    assert_eq!(
        CIPHERS,
        [
            "chacha20-poly1305@openssh.com",
            "aes128-ctr",
            "aes256-ctr",
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
        ]
    );
}

/// The lists above are what quoll offers (`-Q`), so no offered pair goes untested.
#[test]
fn offered_lists_match() {
    if skip_unless_quoll("-Q") {
        return;
    }
    let q = |kind: &str| {
        let out = run(Command::new(quoll_bin()).args(["-Q", kind]), CMD_TIMEOUT);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        out.stdout.lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(q("cipher"), CIPHERS);
    assert_eq!(q("mac"), MACS);
}

/// A client that offers only ciphers quoll lacks is refused in the key exchange, and says so.
#[test]
fn no_common_cipher_is_refused() {
    let srv = Server::start();
    let out = srv.ssh_opts(&["-v", "-o", "Ciphers=aes192-ctr"], "true");
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert!(
        out.stderr.contains("no matching cipher"),
        "{}",
        srv.context(&out)
    );
}
