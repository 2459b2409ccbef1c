//! Memory: no allocation failure ends the daemon. Under an address-space limit (`ulimit -v`,
//! as a 64 MB board with strict overcommit behaves) every connection with a session either
//! works or is refused on its own, with a reason the client prints; the daemon and the
//! sessions it already serves live on. `--max-memory` bounds the connection and channel
//! buffers of all connections together.

mod common;
use common::*;

/// 48 MiB: the debug build starts at about 5 MiB of address space.
const LIMIT_KIB: u64 = 49152;

fn quoll(limit_kib: Option<u64>, extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        address_space_kib: limit_kib,
        ..Default::default()
    })
}

/// ssh's own log level, at which it prints why a channel was refused (the harness's ERROR
/// hides that).
const INFO: &[&str] = &["-o", "LogLevel=INFO"];

/// What ssh prints when quoll refuses a connection or a channel for want of memory.
fn is_memory_refusal(stderr: &str) -> bool {
    stderr.contains("resource shortage: memory limit reached")
        || stderr.contains("memory limit reached: connection refused")
}

/// Opens `n` `ssh ... cat` sessions one after the other. Each must either echo or be refused
/// for want of memory; returns the working ones and how many were refused.
fn open_sessions(srv: &mut Server, n: usize) -> (Vec<CatSession>, usize) {
    let mut working = Vec::new();
    let mut refused = 0;
    for i in 0..n {
        match srv.try_cat_session(INFO) {
            Ok(s) => working.push(s),
            Err(e) if is_memory_refusal(&e) => refused += 1,
            Err(e) => panic!(
                "session {i} neither worked nor was refused for memory: {e}\n--- server log ---\n{}",
                srv.log()
            ),
        }
        assert!(srv.alive(), "quoll died at session {i}:\n{}", srv.log());
    }
    (working, refused)
}

/// Everything that still works after the limit was met: the daemon, every session it
/// serves (the first ones included), and a new session once an old one has ended.
fn still_serving(srv: &mut Server, mut working: Vec<CatSession>) {
    assert!(srv.alive(), "{}", srv.log());
    for (i, s) in working.iter_mut().enumerate() {
        s.ping()
            .unwrap_or_else(|e| panic!("session {i} stopped answering: {e}\n{}", srv.log()));
    }
    for s in working.drain(..4) {
        s.finish().unwrap();
    }
    let out = srv.ssh("echo after");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "after\n");
    for (i, s) in working.iter_mut().enumerate() {
        s.ping()
            .unwrap_or_else(|e| panic!("session {} stopped answering: {e}", i + 4));
    }
    assert!(!srv.log().contains("memory allocation of"), "{}", srv.log());
}

#[test]
fn under_an_address_space_limit_sessions_work_or_are_refused_one_by_one() {
    if skip_unless_quoll("memory limits") {
        return;
    }
    let mut srv = quoll(Some(LIMIT_KIB), &[]);
    let (working, refused) = open_sessions(&mut srv, 64);
    eprintln!("{} sessions, {refused} refused", working.len());
    // The default budget is half the address-space limit here (24 MiB: 56 sessions of
    // 444,952 bytes); the rest are refused and logged, each on its own.
    assert!(working.len() >= 20, "{}", srv.log());
    assert!(refused > 0, "the limit was never reached:\n{}", srv.log());
    assert!(
        srv.log().contains("refused: memory budget of"),
        "{}",
        srv.log()
    );
    still_serving(&mut srv, working);
}

#[test]
fn when_the_system_refuses_memory_the_session_is_refused_not_the_daemon() {
    if skip_unless_quoll("memory limits") {
        return;
    }
    // A budget larger than the address space: here the system says no first, through the
    // allocator (1 MiB windows reach the limit in about 35 sessions).
    let mut srv = quoll(Some(LIMIT_KIB), &["--max-memory", "1G", "-W", "1048576"]);
    let (working, refused) = open_sessions(&mut srv, 48);
    eprintln!("{} sessions, {refused} refused", working.len());
    assert!(refused > 0, "the limit was never reached:\n{}", srv.log());
    assert!(working.len() >= 10, "{}", srv.log());
    assert!(srv.log().contains("out of memory"), "{}", srv.log());
    still_serving(&mut srv, working);
}

#[test]
fn the_channel_over_the_budget_is_refused_and_the_others_keep_working() {
    if skip_unless_quoll("--max-memory") {
        return;
    }
    // Each session takes a connection's buffers (under 200 KiB) and a 1 MiB window: two fit
    // in 3.5 MiB, the third connection fits but its channel does not.
    let srv = quoll(None, &["--max-memory", "3584K", "-W", "1048576"]);
    let mut first = srv.cat_session();
    let mut second = srv.cat_session();
    let out = srv.ssh_opts(INFO, "echo third");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        out.stderr
            .contains("open failed: resource shortage: memory limit reached"),
        "{}",
        srv.context(&out)
    );
    assert!(srv.log().contains("memory budget of 3670016 bytes reached"));
    first.ping().unwrap();
    second.ping().unwrap();
    // An ended session gives its memory back.
    first.finish().unwrap();
    let out = srv.ssh("echo third");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "third\n");
    second.ping().unwrap();
}

#[test]
fn a_connection_over_the_budget_is_refused_with_a_reason() {
    if skip_unless_quoll("--max-memory") {
        return;
    }
    // Less than one connection's buffers: every connection is refused, and says why.
    let srv = quoll(None, &["--max-memory", "64K"]);
    let out = srv.ssh("true");
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert!(
        out.stderr
            .contains("Received disconnect from 127.0.0.1 port"),
        "{}",
        srv.context(&out)
    );
    assert!(is_memory_refusal(&out.stderr), "{}", srv.context(&out));
    assert!(
        srv.log()
            .contains("refused: memory budget of 65536 bytes reached"),
        "{}",
        srv.log()
    );
}

/// Written (anonymous) memory of a process in KiB, from /proc/PID/smaps_rollup.
fn anonymous_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let line = s.lines().find(|l| l.starts_with("Anonymous:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What a session's traffic wrote into its buffers goes back to the system once the
/// connection is quiet (1 s, `SPARE_AFTER_MS`): after 4 MiB through `cat` both ways the idle
/// daemon holds no more than it did idle before, and the session goes on.
#[test]
fn a_quiet_session_gives_back_what_its_traffic_wrote() {
    if skip_unless_quoll("giving back buffer pages") {
        return;
    }
    let srv = quoll(None, &[]);
    let pid = srv.pid().unwrap();
    let mut s = srv.cat_session();
    let quiet = std::time::Duration::from_millis(2500);
    std::thread::sleep(quiet);
    let before = anonymous_kib(pid);
    s.flood(4096, 1023).unwrap();
    std::thread::sleep(quiet);
    let after = anonymous_kib(pid);
    eprintln!("quoll's written memory, idle: {before} KiB before, {after} KiB after 4 MiB");
    // Kept, the input and output buffers alone would be over 100 KiB more.
    assert!(
        after <= before + 24,
        "{before} KiB idle before, {after} KiB after\n{}",
        srv.log()
    );
    s.ping().unwrap();
    s.finish().unwrap();
}

/// What the remote command's stdout pipe holds after 8 MiB streamed through it in 64 KiB
/// writes (`fcntl(F_GETPIPE_SZ)`, printed on stderr); every byte must have arrived.
fn streamed_pipe_size(srv: &Server) -> u64 {
    let script = "dd if=/dev/zero bs=65536 count=128 2>/dev/null; \
                  python3 -c 'import fcntl, sys; sys.stderr.write(str(fcntl.fcntl(1, 1032)))'";
    let out = srv.ssh(script);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout.len(), 8 << 20, "{}", srv.log());
    assert!(out.stdout.bytes().all(|b| b == 0));
    out.stderr
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pipe size: {}", srv.context(&out)))
}

/// A command that streams gets a 1 MiB stdout pipe from the growth room (what a full house
/// of connections leaves of the budget), gives it back when it ends, and gets none when
/// the room is not there (a 64 MB board's budget).
#[test]
fn a_streaming_command_gets_a_larger_pipe_only_from_the_growth_room() {
    if skip_unless_quoll("growing a session's pipe") {
        return;
    }
    // One connection's buffers and window leave 1.6 MiB: room for one grown pipe.
    let srv = quoll(None, &["--max-conns", "1", "--max-memory", "2M"]);
    assert_eq!(streamed_pipe_size(&srv), 1 << 20);
    assert_eq!(
        streamed_pipe_size(&srv),
        1 << 20,
        "the first gave its room back"
    );
    // A full house of 64 connections does not fit 16 MiB: no growth room.
    let srv = quoll(None, &["--max-memory", "16M"]);
    assert_eq!(streamed_pipe_size(&srv), 65536);
}
