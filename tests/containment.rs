//! One process serves everyone, so what one connection's children, files or guesses do must
//! stay with that connection: a helper child signalled or stopped by its user, a name lookup
//! that never answers, a flood of password guesses against a slow hash, a `-t` login trying
//! another account's password, an authorized_keys that points at a root-only file, the
//! memory of a file-transfer child. Most need root (throwaway users, a port-53 socket, a
//! mount namespace); CI runs as root, and without it these tests fail rather than pass.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn need_root(what: &str) {
    assert!(
        is_root(),
        "{what} needs root (throwaway users, a port-53 socket, a mount namespace); run as root"
    );
}

/// A DNS server that reads queries and never answers, at 127.77.0.N:53, and a resolv.conf
/// naming it; quoll is started in a mount namespace where that file is /etc/resolv.conf.
struct SilentDns {
    _sock: UdpSocket,
    resolv: PathBuf,
    _dir: TempDir,
}

impl SilentDns {
    fn new(n: u8) -> SilentDns {
        let sock = UdpSocket::bind(("127.77.0.".to_string() + &n.to_string(), 53))
            .unwrap_or_else(|e| panic!("bind a silent DNS server on 127.77.0.{n}:53: {e}"));
        let dir = TempDir::new("dns");
        let resolv = dir.join("resolv.conf");
        std::fs::write(
            &resolv,
            format!("nameserver 127.77.0.{n}\noptions timeout:30 attempts:1\n"),
        )
        .unwrap();
        SilentDns {
            _sock: sock,
            resolv,
            _dir: dir,
        }
    }

    /// quoll in a mount namespace of its own that sees our resolv.conf.
    fn server(&self) -> Server {
        let script = format!(
            "mount --bind '{}' /etc/resolv.conf && exec \"$0\" \"$@\"",
            self.resolv.display()
        );
        Server::start_with(Options {
            wrapper: [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        })
    }
}

/// `ssh -N -L PORT:name:80`, and a connection to PORT that makes quoll look `name` up.
struct Tunnel {
    ssh: Child,
    conn: TcpStream,
}

impl Tunnel {
    fn open(srv: &Server) -> Tunnel {
        let port = free_port();
        let mut cmd = srv.ssh_command(
            &[
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-L",
                &format!("127.0.0.1:{port}:quoll-test-lookup.invalid:80"),
            ],
            "",
        );
        let ssh = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh -L");
        let mut conn = None;
        assert!(
            wait_until(Duration::from_secs(20), || {
                conn = TcpStream::connect(("127.0.0.1", port)).ok();
                conn.is_some()
            }),
            "ssh -L did not listen:\n{}",
            srv.log()
        );
        Tunnel {
            ssh,
            conn: conn.unwrap(),
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.ssh.kill();
        let _ = self.ssh.wait();
    }
}

/// The pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill with integer arguments.
    unsafe { libc::kill(pid as i32, sig) };
}

/// Waits for quoll's resolver child(ren) to appear: children that are not in `before`.
fn resolver_children(srv: &Server, before: &[u32]) -> Vec<u32> {
    let pid = srv.pid().unwrap();
    let mut kids = Vec::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            kids = children_of(pid);
            kids.retain(|k| !before.contains(k));
            !kids.is_empty()
        }),
        "no resolver child appeared:\n{}",
        srv.log()
    );
    kids
}

#[test]
fn a_resolver_child_signalled_by_its_user_ends_nothing() {
    need_root("this test");
    let dns = SilentDns::new(1);
    let srv = dns.server();
    let mut cat = srv.cat_session();
    let sessions = children_of(srv.pid().unwrap());
    let tunnel = Tunnel::open(&srv);
    let kids = resolver_children(&srv, &sessions);
    for &k in &kids {
        signal(k, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        alive(srv.pid().unwrap()),
        "quoll died when its resolver child got SIGTERM:\n{}",
        srv.log()
    );
    assert!(!srv.log().contains("Terminated by signal"), "{}", srv.log());
    cat.ping().expect("the other session still answers");
    assert_eq!(srv.ssh_ok("echo still-serving"), "still-serving\n");
    drop(tunnel);
    cat.finish().unwrap();
}

#[test]
fn a_stopped_resolver_child_holds_no_listener() {
    need_root("this test");
    let dns = SilentDns::new(2);
    let mut srv = dns.server();
    let port = srv.port;
    let tunnel = Tunnel::open(&srv);
    let kids = resolver_children(&srv, &[]);
    for &k in &kids {
        signal(k, libc::SIGSTOP);
    }
    // The daemon goes away (killed, as a crash or an upgrade would): its port must be free
    // for the next one at once, whatever its children do.
    srv.stop();
    let bound = TcpListener::bind(("127.0.0.1", port));
    for &k in &kids {
        signal(k, libc::SIGKILL);
    }
    drop(tunnel);
    assert!(
        bound.is_ok(),
        "port {port} still held after quoll died: {:?}",
        bound.err()
    );
}

#[test]
fn a_name_lookup_that_never_answers_is_killed_after_its_deadline() {
    need_root("this test");
    let dns = SilentDns::new(3);
    let srv = dns.server();
    let mut tunnel = Tunnel::open(&srv);
    let start = Instant::now();
    let kids = resolver_children(&srv, &[]);
    // ssh closes the forwarded connection once quoll refuses the channel.
    tunnel
        .conn
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let mut buf = [0u8; 16];
    let r = tunnel.conn.read(&mut buf);
    let took = start.elapsed();
    eprintln!("forwarded connection ended after {took:?}: {r:?}");
    assert!(
        took < Duration::from_secs(25),
        "the lookup was not cut at its deadline (took {took:?}):\n{}",
        srv.log()
    );
    assert!(
        wait_until(Duration::from_secs(5), || kids.iter().all(|&k| !alive(k))),
        "resolver child still running"
    );
    assert!(srv.log().contains("name lookup timed out"), "{}", srv.log());
    assert_eq!(srv.ssh_ok("echo after"), "after\n");
}

/// Rounds of sha512crypt that take about `target` here (the daemon's own code).
fn rounds_for(target: Duration) -> u64 {
    let probe = 20_000u64;
    let t = Instant::now();
    let h = quoll::accounts::pwhash::hash(b"probe", &format!("$6$rounds={probe}$abcdefgh"));
    assert!(h.is_some());
    let per_round = t.elapsed().as_secs_f64() / probe as f64;
    ((target.as_secs_f64() / per_round) as u64).clamp(1000, 999_999_999)
}

#[test]
fn password_guessing_against_a_slow_hash_stalls_no_other_session() {
    need_root("this test");
    let user = TestUser::create("slow", "unused", "/bin/sh").expect("sshpass and root");
    let rounds = rounds_for(Duration::from_secs(1));
    let hash = quoll::accounts::pwhash::hash(b"right-one", &format!("$6$rounds={rounds}$saltsalt"))
        .unwrap();
    sh(&format!("usermod -p '{}' {}", &*hash, user.name));
    let srv = Server::start();
    let mut cat = srv.cat_session();
    let stop = Instant::now() + Duration::from_secs(10);
    let (echo_ms, key_login) = std::thread::scope(|sc| {
        for i in 0..32 {
            let (srv, name) = (&srv, &user.name);
            sc.spawn(move || {
                while Instant::now() < stop {
                    // From addresses of their own: the guessers' failures are theirs.
                    let mut c = Command::new("sshpass");
                    c.args(["-p", "wrong-guess", "ssh", "-F", "/dev/null"]);
                    for o in [
                        format!("BindAddress=127.0.{}.{}", 100 + i / 8, 1 + i % 8),
                        format!("UserKnownHostsFile={}", srv.known_hosts.display()),
                        "StrictHostKeyChecking=accept-new".into(),
                        "PreferredAuthentications=password".into(),
                        "PubkeyAuthentication=no".into(),
                        "NumberOfPasswordPrompts=3".into(),
                        "ConnectTimeout=20".into(),
                        "LogLevel=ERROR".into(),
                    ] {
                        c.arg("-o").arg(o);
                    }
                    c.args(["-p", &srv.port.to_string()]);
                    c.arg(format!("{name}@127.0.0.1")).arg("true");
                    let out = run(&mut c, Duration::from_secs(40));
                    assert_ne!(out.code, Some(0), "a wrong password logged in");
                }
            });
        }
        // Let the flood build up, then time the other session's echo.
        std::thread::sleep(Duration::from_secs(2));
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            cat.ping()
                .expect("the open session answers during the flood");
            times.push(t.elapsed().as_millis());
            std::thread::sleep(Duration::from_millis(100));
        }
        let t = Instant::now();
        let out = srv.ssh("echo key-login");
        (times, (out, t.elapsed()))
    });
    eprintln!("echo round trips during the flood (ms): {echo_ms:?}");
    eprintln!("key login took {:?}", key_login.1);
    assert_eq!(
        key_login.0.code,
        Some(0),
        "key login during the flood:\n{}",
        srv.context(&key_login.0)
    );
    assert_eq!(key_login.0.stdout, "key-login\n");
    let worst = *echo_ms.iter().max().unwrap();
    assert!(
        worst < 200,
        "an echo took {worst} ms while passwords were being guessed: {echo_ms:?}"
    );
    let guesses = srv.log().matches("Bad password attempt").count();
    eprintln!("{guesses} wrong passwords checked");
    assert!(guesses >= 10, "the flood did not get going:\n{}", srv.log());
    cat.finish().unwrap();
}

#[test]
fn with_t_another_accounts_password_sheds_no_key_restriction() {
    need_root("this test");
    let me = TestUser::create("tme", "my-password", "/bin/sh").expect("sshpass and root");
    let other = TestUser::create("tot", "other-password", "/bin/sh").expect("sshpass and root");
    let srv = Server::start_with(Options {
        extra_args: vec!["-t".into()],
        ..Default::default()
    });
    // The key may only run a forced command.
    let keys = srv.dir.join("authorized_keys");
    let line = std::fs::read_to_string(&keys).unwrap();
    std::fs::write(&keys, format!("command=\"echo forced\" {line}")).unwrap();
    let out = run(
        Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rawssh.py"))
            .args(["key_then_other_password", &srv.port.to_string()])
            .env("RAWSSH_USER", &me.name)
            .env("RAWSSH_PASS", "my-password")
            .env("RAWSSH_OTHER", &other.name)
            .env("RAWSSH_OTHER_PASS", "other-password")
            .env("RAWSSH_KEY", &srv.client_key),
        CMD_TIMEOUT,
    );
    assert!(
        out.stdout.contains("output: forced\n") && out.stdout.contains("RESULT ok"),
        "{}",
        srv.context(&out)
    );
    let log = srv.log();
    assert!(
        !log.contains(&format!("Password auth succeeded for '{}'", other.name)),
        "{log}"
    );
    assert!(
        log.contains(&format!("Password auth succeeded for '{}'", me.name)),
        "{log}"
    );
}

#[test]
fn authorized_keys_is_read_as_the_user() {
    need_root("this test");
    ensure_user("quolltest");
    let srv = Server::start_with(Options {
        user: Some("quolltest".into()),
        ..Default::default()
    });
    // The harness's file is readable by everyone: the user gets in.
    assert_eq!(srv.ssh_ok("id -un"), "quolltest\n");
    // Now it is a link to a file only root may read: quoll must not read it for the user.
    let secret = PathBuf::from(format!("/root/quoll-test-keys-{}", std::process::id()));
    let keys = srv.dir.join("authorized_keys");
    std::fs::copy(&keys, &secret).unwrap();
    set_mode(&secret, 0o600);
    std::fs::remove_file(&keys).unwrap();
    std::os::unix::fs::symlink(&secret, &keys).unwrap();
    let out = srv.ssh("id -un");
    let _ = std::fs::remove_file(&secret);
    assert_ne!(
        out.code,
        Some(0),
        "logged in through a root-only authorized_keys:\n{}",
        srv.context(&out)
    );
    assert!(srv.log().contains("Permission denied"), "{}", srv.log());
}

/// Whether the 32 bytes of `needle` appear anywhere in the readable memory of `pid`.
fn memory_holds(pid: u32, needle: &[u8]) -> bool {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let Ok(mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
        return false;
    };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        if !perms.starts_with('r') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        let mut buf = vec![0u8; (b - a) as usize];
        if mem.read_exact_at(&mut buf, a).is_err() {
            continue;
        }
        if buf.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
    }
    false
}

#[test]
fn file_transfer_children_hold_no_host_key() {
    need_root("this test");
    let srv = Server::start_with(Options {
        extra_args: vec!["--builtin-scp".into()],
        ..Default::default()
    });
    let seed = *quoll::hostkey::load(&srv.hostkey).unwrap().seed();
    let pid = srv.pid().unwrap();
    // Sanity: the daemon itself does hold it (so the search works).
    assert!(memory_holds(pid, &seed), "the search does not find the key");
    for what in ["sftp", "scp"] {
        let mut client = if what == "sftp" {
            let mut c = srv.transfer_command("sftp", &[]);
            c.arg("-b").arg("-").arg(format!("{}@127.0.0.1", srv.user));
            c
        } else {
            // scp -O's server side: `scp -t`, kept waiting for its first record.
            srv.ssh_command(&[], "scp -t /tmp")
        };
        let mut child = client
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut kids = Vec::new();
        assert!(
            wait_until(Duration::from_secs(10), || {
                kids = children_of(pid);
                !kids.is_empty()
            }),
            "no {what} child:\n{}",
            srv.log()
        );
        // Its memory image is its own by now (give an exec a moment).
        std::thread::sleep(Duration::from_millis(300));
        for &k in &kids {
            assert!(
                !memory_holds(k, &seed),
                "the {what} child {k} holds the host key seed"
            );
        }
        let _ = child.stdin.take().map(|mut s| s.write_all(b""));
        let _ = child.kill();
        let _ = child.wait();
    }
}
