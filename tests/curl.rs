//! curl's sftp:// (libssh2: Debian 12 has 1.10, whose only ciphers quoll shares are aes*-ctr
//! with plain hmac-sha2-256/512) fetches a file byte-exact with the client key. Without curl
//! or without SFTP in it the test fails with NOT RUN (scripts/test installs curl).

mod common;
use common::*;
use std::io::Write;
use std::process::Command;

#[test]
fn curl_sftp_get_is_byte_exact() {
    let has_sftp = Command::new("curl")
        .arg("-V")
        .output()
        .map(|o| {
            let v = String::from_utf8_lossy(&o.stdout).into_owned();
            v.contains("libssh2")
                && v.lines()
                    .any(|l| l.starts_with("Protocols:") && l.contains(" sftp"))
        })
        .unwrap_or(false);
    require(
        has_sftp,
        "curl with libssh2 and sftp is not installed (scripts/test installs curl)",
    );
    let srv = Server::start();
    let src = srv.dir.join("curl-src.bin");
    let data: Vec<u8> = (0..3 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::File::create(&src)
        .and_then(|mut f| f.write_all(&data))
        .expect("write source file");
    let got = srv.dir.join("curl-got.bin");
    let url = format!("sftp://127.0.0.1:{}{}", srv.port, src.display());
    let out = run(
        Command::new("curl")
            .args(["-sS", "-v", "-k", "--key"])
            .arg(&srv.client_key)
            .arg("--pubkey")
            .arg(srv.dir.join("id_ed25519.pub"))
            .arg("-u")
            .arg(format!("{}:", srv.user))
            .arg("-o")
            .arg(&got)
            .arg(&url),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(
        sha256_file(&got),
        sha256_hex(&data),
        "curl's copy differs\n{}",
        srv.context(&out)
    );
}
