//! Where Dropbear and OpenSSH differ and scripts notice, quoll does what Dropbear does: a
//! session's channel closes once its command has exited and the output it wrote is sent,
//! even while a background child still holds the pipes (`ssh host 'sleep 10 & echo
//! started'` returns at once); every byte the command wrote before it exited still arrives;
//! and the exit statuses of start-up errors and of `-i`.

mod common;
use common::*;
use std::fs::File;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The issue's own bound: the background `sleep 10` must not hold the session; returning
/// well before it ends is what a script notices. Generous for a busy 2-core machine.
const PROMPT: Duration = Duration::from_secs(6);

/// Whether process `pid` (a background child of a session, running as this user) lives.
fn alive(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn kill(pid: &str) {
    let _ = Command::new("kill").arg(pid).status();
}

/// Runs `remote` through `ssh`, timing it.
fn timed(srv: &Server, remote: &str) -> (Out, Duration) {
    let t = Instant::now();
    let out = srv.ssh(remote);
    (out, t.elapsed())
}

#[test]
fn a_background_child_holding_the_output_does_not_hold_the_session() {
    let srv = Server::start();
    let (out, took) = timed(&srv, "sleep 10 & echo started $!");
    let pid = out
        .stdout
        .trim()
        .strip_prefix("started ")
        .unwrap_or("")
        .to_string();
    let ok = out.code == Some(0) && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let lives = ok && alive(&pid);
    if ok {
        kill(&pid);
    }
    assert!(
        ok,
        "expected `started PID` and status 0\n{}",
        srv.context(&out)
    );
    assert!(
        took < PROMPT,
        "ssh took {took:?}: it waited for the background sleep\n{}",
        srv.context(&out)
    );
    // As with Dropbear the background child goes on: the session's end is not its end.
    assert!(
        lives,
        "the background sleep {pid} was killed\n{}",
        srv.context(&out)
    );
}

#[test]
fn an_init_script_leaving_a_daemon_on_stdout_returns_with_its_status() {
    // `/etc/init.d/foo restart` starting a daemon that keeps stdout and stderr open, then
    // saying something on each and failing.
    let srv = Server::start();
    let (out, took) = timed(&srv, "sleep 10 & echo restarting; echo warning >&2; exit 3");
    assert_eq!(out.code, Some(3), "{}", srv.context(&out));
    assert_eq!(out.stdout, "restarting\n", "{}", srv.context(&out));
    assert_eq!(out.stderr, "warning\n", "{}", srv.context(&out));
    assert!(took < PROMPT, "ssh took {took:?}\n{}", srv.context(&out));
}

#[test]
fn output_a_background_child_wrote_before_the_exit_arrives_and_later_output_does_not() {
    // Dropbear's rule: what the pipe holds when the command exits is sent, nothing after.
    let srv = Server::start();
    let (out, took) = timed(
        &srv,
        "(echo early; sleep 4; echo late) & sleep 1; echo started",
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "early\nstarted\n", "{}", srv.context(&out));
    assert!(
        took < Duration::from_secs(4),
        "ssh took {took:?}\n{}",
        srv.context(&out)
    );
}

/// 4 MiB of random bytes in a file, and their sha256.
fn random_file(dir: &TempDir) -> (std::path::PathBuf, String) {
    let path = dir.join("data");
    let mut data = vec![0u8; 4 << 20];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut data))
        .expect("read /dev/urandom");
    std::fs::write(&path, &data).expect("write data");
    set_mode(&path, 0o644);
    (path, sha256_hex(&data))
}

/// Runs `remote` with stdout and stderr into files of `dir`; (status, stdout's sha256,
/// stderr's sha256, time taken).
fn to_files(srv: &Server, dir: &TempDir, remote: &str) -> (Option<i32>, String, String, Duration) {
    let (o, e) = (dir.join("stdout"), dir.join("stderr"));
    let t = Instant::now();
    let mut child = srv
        .ssh_command(&[], remote)
        .stdin(Stdio::null())
        .stdout(File::create(&o).unwrap())
        .stderr(File::create(&e).unwrap())
        .spawn()
        .expect("spawn ssh");
    let (code, timed_out) = wait_timeout(&mut child, CMD_TIMEOUT);
    assert!(!timed_out, "{remote}: ssh timed out\n{}", srv.log());
    (code, sha256_file(&o), sha256_file(&e), t.elapsed())
}

#[test]
fn four_mib_written_before_the_exit_all_arrive_beside_a_background_child() {
    let srv = Server::start();
    let dir = TempDir::new("bg4m");
    let (path, sum) = random_file(&dir);
    let empty = sha256_hex(b"");
    let data = path.display();
    for (remote, want_out, want_err) in [
        (format!("cat {data}; exit 4"), &sum, &empty),
        (format!("sleep 10 & cat {data}; exit 4"), &sum, &empty),
        (format!("sleep 10 & cat {data} >&2; exit 4"), &empty, &sum),
    ] {
        let (code, out, err, took) = to_files(&srv, &dir, &remote);
        let log = srv.log();
        assert_eq!(code, Some(4), "{remote}\n{log}");
        assert_eq!(&out, want_out, "{remote}: stdout differs\n{log}");
        assert_eq!(&err, want_err, "{remote}: stderr differs\n{log}");
        assert!(took < Duration::from_secs(9), "{remote}: took {took:?}");
    }
}

#[test]
fn output_still_in_the_pipe_at_the_exit_waits_for_a_slow_client() {
    // The client reads nothing for 3 s: its window fills while the command writes 4 MiB and
    // exits with a background child holding the pipe. What the pipe holds then must wait
    // for the window, not be dropped.
    let srv = Server::start();
    let dir = TempDir::new("slow");
    let (path, sum) = random_file(&dir);
    let remote = format!("sleep 10 & cat {}; exit 5", path.display());
    let t = Instant::now();
    let mut child = srv
        .ssh_command(&[], &remote)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ssh");
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_secs(3));
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let (code, timed_out) = wait_timeout(&mut child, CMD_TIMEOUT);
    let got = reader.join().unwrap();
    let took = t.elapsed();
    let log = srv.log();
    assert!(!timed_out, "ssh timed out\n{log}");
    assert_eq!(code, Some(5), "{log}");
    assert_eq!(got.len(), 4 << 20, "{log}");
    assert_eq!(sha256_hex(&got), sum, "{log}");
    assert!(took < Duration::from_secs(9), "took {took:?}");
}

#[test]
fn stdout_closed_early_then_stderr_and_the_status() {
    let srv = Server::start();
    let out = srv.ssh("echo a; exec 1>&-; sleep 2; echo b >&2; exit 3");
    assert_eq!(out.code, Some(3), "{}", srv.context(&out));
    assert_eq!(out.stdout, "a\n", "{}", srv.context(&out));
    assert_eq!(out.stderr, "b\n", "{}", srv.context(&out));
}

#[test]
fn a_command_killed_by_a_signal_beside_a_background_child() {
    let srv = Server::start();
    let (out, took) = timed(&srv, "sleep 10 & echo before; kill -TERM $$");
    assert_eq!(out.stdout, "before\n", "{}", srv.context(&out));
    // ssh exits 255 on an exit-signal.
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert!(took < PROMPT, "ssh took {took:?}\n{}", srv.context(&out));
}
