//! Dropbear's flags with Dropbear's meanings: -c, -b, -i (through ssh's
//! ProxyCommand), -P, -K, -I, -M, -Q, -e, -r given twice.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn quoll(extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

#[test]
fn c_forces_the_command_and_keeps_the_original() {
    if skip_unless_quoll("-c") {
        return;
    }
    let srv = quoll(&["-c", "echo forced: $SSH_ORIGINAL_COMMAND"]);
    assert_eq!(srv.ssh_ok("echo asked"), "forced: echo asked\n");
}

#[test]
fn b_sends_the_banner_before_login() {
    if skip_unless_quoll("-b") {
        return;
    }
    let dir = TempDir::new("banner");
    let banner = dir.join("banner");
    std::fs::write(&banner, "Authorised users only.\n").unwrap();
    let srv = quoll(&["-b", banner.to_str().unwrap()]);
    // LogLevel INFO: ssh shows banners at that level (the harness's ERROR hides them).
    let out = srv.ssh_opts(&["-o", "LogLevel=INFO"], "true");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        out.stderr.contains("Authorised users only."),
        "{}",
        srv.context(&out)
    );
}

#[test]
fn i_serves_one_connection_on_stdin_and_stdout() {
    if skip_unless_quoll("-i") {
        return;
    }
    // The harness's server supplies the key files and authorized_keys directory.
    let srv = quoll(&[]);
    let proxy = format!(
        "{} -i -E -r {} -D {}",
        quoll_bin(),
        srv.hostkey.display(),
        srv.dir.path().display()
    );
    let opt = format!("ProxyCommand={proxy}");
    let out = srv.ssh_opts(&["-o", &opt], "echo via-inetd");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "via-inetd\n");
}

#[test]
fn p_writes_the_pidfile_and_removes_it_on_exit() {
    if skip_unless_quoll("-P") {
        return;
    }
    let dir = TempDir::new("pid");
    let pidfile = dir.join("quoll.pid");
    let port = free_port();
    let mut child = Command::new(quoll_bin())
        .args(["-F", "-E", "-p", &format!("127.0.0.1:{port}"), "-r"])
        .arg(dir.join("hostkey"))
        .arg("-P")
        .arg(&pidfile)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || pidfile.exists()));
    let text = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(text.trim(), child.id().to_string());
    sh(&format!("kill -TERM {}", child.id()));
    let (_, timed_out) = wait_timeout(&mut child, Duration::from_secs(10));
    assert!(!timed_out);
    assert!(!pidfile.exists(), "pidfile left behind");
}

#[test]
fn i_and_m_end_quiet_and_long_connections() {
    if skip_unless_quoll("-I -M") {
        return;
    }
    let srv = quoll(&["-I", "2"]);
    let t = Instant::now();
    let out = srv.ssh("sleep 20");
    assert_ne!(out.code, Some(0));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // The daemon logs the exit after it has sent the disconnect: the client may be first.
    let logged =
        |srv: &Server, text: &str| wait_until(Duration::from_secs(5), || srv.log().contains(text));
    assert!(logged(&srv, "Idle timeout"), "{}", srv.log());
    // Traffic keeps a connection alive.
    assert_eq!(
        srv.ssh_ok("for i in 1 2 3 4; do echo $i; sleep 1; done"),
        "1\n2\n3\n4\n"
    );

    let srv = quoll(&["-M", "2"]);
    let t = Instant::now();
    let out = srv.ssh("while :; do echo tick; sleep 0.5; done");
    assert_ne!(out.code, Some(0));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(
        logged(&srv, "Maximum session time reached"),
        "{}",
        srv.log()
    );
}

#[test]
fn k_sends_keepalives_and_drops_a_silent_client() {
    if skip_unless_quoll("-K") {
        return;
    }
    let srv = quoll(&["-K", "1"]);
    // A live client answers the keepalives: a quiet session survives.
    assert_eq!(srv.ssh_ok("sleep 3; echo alive"), "alive\n");
    // A stopped client answers nothing: dropped after 3 unanswered requests.
    let mut cmd = srv.ssh_command(&[], "sleep 60");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    assert!(wait_until(Duration::from_secs(10), || srv
        .log()
        .contains("Pubkey auth succeeded")));
    std::thread::sleep(Duration::from_millis(300));
    sh(&format!("kill -STOP {}", child.id()));
    let dropped = wait_until(Duration::from_secs(15), || {
        srv.log().contains("Keepalive timeout")
    });
    sh(&format!("kill -CONT {}", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    assert!(dropped, "{}", srv.log());
}

#[test]
fn q_lists_the_algorithms() {
    if skip_unless_quoll("-Q") {
        return;
    }
    let q = |kind: &str| {
        let out = run(Command::new(quoll_bin()).args(["-Q", kind]), CMD_TIMEOUT);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        out.stdout
    };
    assert_eq!(
        q("kex"),
        "mlkem768x25519-sha256\ncurve25519-sha256\ncurve25519-sha256@libssh.org\n"
    );
    // User keys (the default features build every kind); the host key stays Ed25519.
    assert_eq!(
        q("sig"),
        "ssh-ed25519\nsk-ssh-ed25519@openssh.com\necdsa-sha2-nistp256\n\
         ecdsa-sha2-nistp384\necdsa-sha2-nistp521\nsk-ecdsa-sha2-nistp256@openssh.com\n\
         rsa-sha2-512\nrsa-sha2-256\n"
    );
    let key = q("key");
    for name in [
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    ] {
        assert!(key.lines().any(|l| l == name), "{name}: {key}");
    }
    assert_eq!(key.lines().count(), 14, "{key}");
    assert_eq!(q("HostKeyAlgorithms"), "ssh-ed25519\n");
    assert_eq!(
        q("cipher"),
        "chacha20-poly1305@openssh.com\naes128-ctr\naes256-ctr\n\
         aes128-gcm@openssh.com\naes256-gcm@openssh.com\n"
    );
    assert_eq!(
        q("mac"),
        "hmac-sha2-256-etm@openssh.com\nhmac-sha2-512-etm@openssh.com\n\
         hmac-sha2-256\nhmac-sha2-512\n"
    );
    let out = run(Command::new(quoll_bin()).args(["-Q", "bogus"]), CMD_TIMEOUT);
    assert_eq!(out.code, Some(1));
}

#[test]
fn e_passes_the_server_environment() {
    if skip_unless_quoll("-e") {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    std::env::set_var("QUOLL_TEST_MARKER", "from-server");
    // A variable that is not UTF-8 is left out; the others still pass, and the daemon lives.
    let odd = std::ffi::OsStr::from_bytes(b"QUOLL_TEST_\xff");
    std::env::set_var(odd, std::ffi::OsStr::from_bytes(b"\xfe"));
    let srv = quoll(&["-e"]);
    std::env::remove_var(odd);
    assert_eq!(srv.ssh_ok("echo $QUOLL_TEST_MARKER"), "from-server\n");
    assert_eq!(srv.ssh_ok("echo again"), "again\n");
    let srv = quoll(&[]);
    assert_eq!(srv.ssh_ok("echo x$QUOLL_TEST_MARKER"), "x\n");
}

#[test]
fn r_twice_uses_the_ed25519_key_and_ignores_others() {
    if skip_unless_quoll("-r") {
        return;
    }
    let srv = quoll(&[]);
    let other = srv.dir.join("dropbear_rsa_host_key");
    std::fs::write(&other, b"not an ed25519 key").unwrap();
    set_mode(&other, 0o600);
    let srv2 = quoll(&["-r", other.to_str().unwrap()]);
    // -r HOSTKEY (the harness's) -r other: the Ed25519 one is used, the other ignored.
    assert_eq!(srv2.ssh_ok("echo two-r"), "two-r\n");
    assert!(srv2.log().contains("Ignoring host key"), "{}", srv2.log());
}

#[test]
fn l_binds_the_listener_to_an_interface() {
    if skip_unless_quoll("-l") {
        return;
    }
    require_root("SO_BINDTODEVICE");
    let srv = quoll(&["-l", "lo"]);
    assert_eq!(srv.ssh_ok("echo on-lo"), "on-lo\n");
    let dir = TempDir::new("iface");
    let out = run(
        Command::new(quoll_bin())
            .args(["-F", "-E", "-p", &format!("127.0.0.1:{}", free_port())])
            .args(["-l", "nosuchdev0", "-r"])
            .arg(dir.join("hostkey")),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("interface 'nosuchdev0'"),
        "{}",
        out.describe()
    );
}
