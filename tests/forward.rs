//! Tunnels: `ssh -L` (direct-tcpip), `ssh -R` (tcpip-forward, port 0), the -j/-k refusals,
//! and agent forwarding (`ssh -A`, then `ssh-add -l` in the session).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// An echo server on 127.0.0.1 for the test's lifetime; returns its port.
fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for c in l.incoming().flatten() {
            thread::spawn(move || {
                let mut r = c.try_clone().unwrap();
                let mut w = c;
                let _ = std::io::copy(&mut r, &mut w);
                let _ = w.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

/// Sends `data` through `port` and returns what came back (the peer echoes until EOF). A
/// connection the far end refuses comes back empty.
fn round_trip(port: u16, data: &[u8]) -> Vec<u8> {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let data = data.to_vec();
    let writer = thread::spawn(move || {
        let _ = w.write_all(&data);
        let _ = w.shutdown(Shutdown::Write);
    });
    let mut got = Vec::new();
    let mut r = s;
    let _ = r.read_to_end(&mut got);
    let _ = writer.join();
    got
}

/// `data` goes through `port` and comes back whole (compared by hash, so a failure stays short).
fn assert_echoed(port: u16, data: &[u8], srv: &Server) {
    let got = round_trip(port, data);
    assert_eq!(
        sha256_hex(&got),
        sha256_hex(data),
        "{} bytes back of {}\n{}",
        got.len(),
        data.len(),
        srv.log()
    );
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A background `ssh -N` holding forwards, killed on drop.
struct Tunnel(Child);

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    assert!(
        wait_until(Duration::from_secs(15), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "port {port} never opened"
    );
}

#[test]
fn local_forward_10mib_each_way_and_10_parallel() {
    let srv = Server::start();
    let echo = echo_server();
    let local = free_port();
    let spec = format!("{local}:127.0.0.1:{echo}");
    let _t = Tunnel(
        srv.ssh_command(&["-N", "-o", "ExitOnForwardFailure=yes", "-L", &spec], "")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(local);
    let data = random_bytes(10 << 20, 1);
    assert_echoed(local, &data, &srv);
    let handles: Vec<_> = (0..10)
        .map(|i| {
            thread::spawn(move || {
                let d = random_bytes(1 << 20, 100 + i);
                round_trip(local, &d) == d
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .filter_map(|h| h.join().ok())
        .filter(|&b| b)
        .count();
    assert_eq!(ok, 10, "{}", srv.log());
}

#[test]
fn remote_forward_port_zero_10mib() {
    let srv = Server::start();
    let echo = echo_server();
    let spec = format!("0:127.0.0.1:{echo}");
    let mut child = srv
        .ssh_command(
            &[
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "LogLevel=INFO",
                "-R",
                &spec,
            ],
            "",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _t = Tunnel(child);
    // ssh prints "Allocated port N for remote forward to ...".
    let mut line = String::new();
    let mut r = BufReader::new(stderr);
    let deadline = Instant::now() + Duration::from_secs(15);
    let port: u16 = loop {
        line.clear();
        assert!(
            Instant::now() < deadline && r.read_line(&mut line).unwrap() > 0,
            "{}",
            srv.log()
        );
        if let Some(rest) = line.strip_prefix("Allocated port ") {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
    };
    // quoll listens on loopback only (no -a).
    let listening = sh(&format!("ss -ltnH 'sport = :{port}' | awk '{{print $4}}'"));
    assert!(listening.trim().starts_with("127.0.0.1:"), "{listening}");
    let data = random_bytes(10 << 20, 2);
    assert_echoed(port, &data, &srv);
}

#[test]
fn forwarding_refused_under_j_and_k() {
    if skip_unless_quoll("-j and -k") {
        return;
    }
    let srv = Server::start_with(Options {
        extra_args: vec!["-j".into(), "-k".into()],
        ..Default::default()
    });
    // -k: the remote forward request fails and ssh says so.
    let out = run(
        &mut srv.ssh_command(
            &[
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-R",
                "0:127.0.0.1:9",
            ],
            "",
        ),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(255), "{}", out.describe());
    assert!(
        out.stderr.contains("remote port forwarding failed"),
        "{}",
        out.describe()
    );
    // -j: a connection through the local forward is refused by the server.
    let echo = echo_server();
    let local = free_port();
    let spec = format!("{local}:127.0.0.1:{echo}");
    let mut child = srv
        .ssh_command(&["-N", "-o", "LogLevel=INFO", "-L", &spec], "")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _t = Tunnel(child);
    wait_port(local);
    assert!(round_trip(local, b"hello").is_empty());
    let mut text = String::new();
    let mut r = BufReader::new(stderr);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !text.contains("administratively prohibited") && Instant::now() < deadline {
        if r.read_line(&mut text).unwrap_or(0) == 0 {
            break;
        }
    }
    assert!(
        text.contains("open failed: administratively prohibited"),
        "{text}"
    );
    assert!(srv.log().contains("refused"), "{}", srv.log());
}

#[test]
fn agent_forwarding_lists_the_clients_keys() {
    let srv = Server::start();
    let dir = TempDir::new("agent");
    let sock = dir.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || sock.exists()));
    let add = run(
        Command::new("ssh-add")
            .arg("-q")
            .arg(&srv.client_key)
            .env("SSH_AUTH_SOCK", &sock),
        CMD_TIMEOUT,
    );
    assert_eq!(add.code, Some(0), "{}", add.describe());
    let fp = fingerprint_in(&sh(&format!(
        "ssh-keygen -l -f {}",
        srv.client_key.display()
    )))
    .unwrap();
    // The harness says IdentityAgent=none, which also stops forwarding: name the agent.
    let agent_opt = format!("IdentityAgent={}", sock.display());
    let out = run(
        srv.ssh_command(
            &["-A", "-o", &agent_opt],
            "ssh-add -l; echo sock=$SSH_AUTH_SOCK",
        )
        .env("SSH_AUTH_SOCK", &sock),
        CMD_TIMEOUT,
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stdout.contains(&fp), "{}", srv.context(&out));
    // The socket lives in a private directory that is gone once the session ends.
    let path = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sock="))
        .unwrap()
        .to_string();
    assert!(!path.is_empty());
    assert!(wait_until(Duration::from_secs(10), || {
        !std::path::Path::new(&path).exists()
    }));
    // Without -A there is no agent socket.
    let out = srv.ssh("echo ${SSH_AUTH_SOCK:-none}");
    assert_eq!(out.stdout, "none\n", "{}", srv.context(&out));
}

/// An ssh-agent on a socket in `dir` holding `key`; killed on drop.
struct Agent {
    child: Child,
    sock: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &TempDir, key: &std::path::Path) -> Agent {
        let sock = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let agent = Agent { child, sock };
        assert!(wait_until(Duration::from_secs(10), || agent.sock.exists()));
        let add = run(
            Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &agent.sock),
            CMD_TIMEOUT,
        );
        assert_eq!(add.code, Some(0), "{}", add.describe());
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// As root, serving another user: the agent socket's directory belongs to root, so the user
/// cannot move it away and put a symlink in its place, through which root would remove a
/// file of the same name elsewhere when the session ends. The user can still use the socket,
/// and nobody else can. Needs root.
#[test]
fn agent_directory_cannot_be_swapped_by_the_user() {
    const USER: &str = "quolltest";
    assert!(
        is_root(),
        "needs root: the session runs as another user (tests run as {})",
        current_user()
    );
    ensure_user(USER);
    let srv = Server::start_with(Options {
        user: Some(USER.to_string()),
        ..Default::default()
    });
    let dir = TempDir::new("agentswap");
    let agent = Agent::start(&dir, &srv.client_key);
    // A root file named as the socket will be, in a directory the link will point to.
    let victim_dir = TempDir::new("agentvictim");
    let victim = victim_dir.join(&format!("agent.{}", srv.pid().unwrap()));
    std::fs::write(&victim, "root's file\n").unwrap();
    let script = format!(
        r#"d=$(dirname "$SSH_AUTH_SOCK")
echo "sock=$SSH_AUTH_SOCK"
stat -c 'dir=%U %a' "$d"
stat -c 'sock=%U %a' "$SSH_AUTH_SOCK"
ssh-add -l >/dev/null && echo agent-usable
mv "$d" "$d.moved" 2>/dev/null && ln -s {} "$d" && echo swapped
true"#,
        victim_dir.path().display()
    );
    let agent_opt = format!("IdentityAgent={}", agent.sock.display());
    let out = run(
        srv.ssh_command(&["-A", "-o", &agent_opt], &script)
            .env("SSH_AUTH_SOCK", &agent.sock),
        CMD_TIMEOUT,
    );
    let sock = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sock=/"))
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    // The session is over once the socket is gone; then the victim must still be there.
    let removed = wait_until(Duration::from_secs(10), || {
        !std::path::Path::new(&sock).exists()
    });
    let victim_left = std::fs::read_to_string(&victim);
    let sock_dir = std::path::Path::new(&sock).parent().unwrap().to_path_buf();
    let dir_left = std::fs::symlink_metadata(&sock_dir).is_ok();
    // Whatever happened, leave /tmp clean.
    let _ = std::fs::remove_file(&sock_dir);
    let _ = std::fs::remove_dir_all(format!("{}.moved", sock_dir.display()));
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(!sock.is_empty(), "no SSH_AUTH_SOCK\n{}", srv.context(&out));
    assert_eq!(
        victim_left.as_deref().ok(),
        Some("root's file\n"),
        "root's file was removed through the swapped directory\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("agent-usable"),
        "the user cannot use the socket\n{}",
        srv.context(&out)
    );
    assert!(
        !out.stdout.contains("swapped"),
        "the user replaced the directory with a symlink\n{}",
        srv.context(&out)
    );
    assert!(
        out.stdout.contains("dir=root 711\n"),
        "the directory should be root's, mode 711\n{}",
        srv.context(&out)
    );
    assert!(
        out.stdout.contains(&format!("sock={USER} 600\n")),
        "the socket should be the user's, mode 600\n{}",
        srv.context(&out)
    );
    assert!(removed, "the socket was not removed\n{}", srv.log());
    assert!(!dir_left, "the directory was not removed\n{}", srv.log());
}

#[test]
fn local_forward_to_a_host_name_resolves_off_the_loop() {
    // The machine's own name when it resolves to loopback (as in /etc/hosts on Debian),
    // else `localhost`.
    let loopback = |name: &str| {
        sh(&format!(
            "getent ahostsv4 {name} | head -n1 | cut -d' ' -f1 || true"
        ))
        .trim()
        .starts_with("127.")
    };
    let mut name = sh("hostname").trim().to_string();
    if !loopback(&name) {
        name = "localhost".into();
    }
    require(
        loopback(&name),
        "neither this machine's name nor localhost resolves to 127.x",
    );
    let srv = Server::start();
    let echo = echo_server();
    let local = free_port();
    let spec = format!("{local}:{name}:{echo}");
    let _t = Tunnel(
        srv.ssh_command(&["-N", "-L", &spec], "")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(local);
    let data = random_bytes(1 << 20, 3);
    assert_echoed(local, &data, &srv);
}

#[test]
fn permitopen_limits_local_forward_targets() {
    if skip_unless_quoll("permitopen") {
        return;
    }
    let srv = Server::start();
    let allowed = echo_server();
    let other = echo_server();
    let key = std::fs::read_to_string(srv.dir.join("id_ed25519.pub")).unwrap();
    std::fs::write(
        srv.dir.join("authorized_keys"),
        format!("permitopen=\"127.0.0.1:{allowed}\" {key}"),
    )
    .unwrap();
    let (l1, l2) = (free_port(), free_port());
    let (s1, s2) = (
        format!("{l1}:127.0.0.1:{allowed}"),
        format!("{l2}:127.0.0.1:{other}"),
    );
    let _t = Tunnel(
        srv.ssh_command(&["-N", "-L", &s1, "-L", &s2], "")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(l1);
    wait_port(l2);
    assert_eq!(round_trip(l1, b"permitted"), b"permitted", "{}", srv.log());
    assert!(round_trip(l2, b"not listed").is_empty(), "{}", srv.log());
}
