//! Run-time connection limits. A burst of legitimate clients from one address waits instead
//! of failing; connections that never log in are cut at the grace time, and before that at
//! the key exchange deadline; a flooding address hits its own cap while other addresses
//! still log in; at the unauthenticated total newcomers wait; idle connections from many
//! networks cannot keep a newcomer from another one out; sources that keep failing are
//! refused for a while; out of descriptors the daemon rests instead of spinning, and logins
//! already under way still work.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

fn quoll(extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

/// A TCP connection that reads the server's version line and then says nothing.
fn silent(port: u16) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).ok()?;
    (&buf == b"SSH-").then_some(s)
}

/// What a fresh connection gets within `wait`: Some(bytes) when the server answered or
/// closed, None when it is still waiting.
fn first_bytes(s: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4];
    match s.read(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(_) => Some(vec![]),
    }
}

#[test]
fn a_burst_from_one_address_all_logs_in() {
    if skip_unless_quoll("connection limits") {
        return;
    }
    let srv = quoll(&[]);
    let end = Instant::now() + Duration::from_secs(10);
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    let (mut ok, mut failed) = (0, Vec::new());
                    while Instant::now() < end {
                        let out = srv.ssh("true");
                        if out.code == Some(0) {
                            ok += 1;
                        } else {
                            failed.push(out.describe());
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: usize = results.iter().map(|r| r.0).sum();
    let failed: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
    eprintln!("{ok} logins, {} failed", failed.len());
    assert!(failed.is_empty(), "{:?}\n{}", failed.first(), srv.log());
    assert!(ok >= 8);
}

#[test]
fn silent_connections_are_cut_at_the_grace_time() {
    if skip_unless_quoll("login grace") {
        return;
    }
    let srv = quoll(&["--login-grace", "2"]);
    let mut s = silent(srv.port).expect("version line");
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert!(
        srv.log().contains("login grace time exceeded"),
        "{}",
        srv.log()
    );
}

#[test]
fn a_flooding_address_is_capped_while_others_log_in() {
    if skip_unless_quoll("per-address limit") {
        return;
    }
    let srv = quoll(&["--max-unauth-per-addr", "3"]);
    let mut held = Vec::new();
    assert!(wait_until(Duration::from_secs(10), || {
        if let Some(s) = silent(srv.port) {
            held.push(s);
        }
        held.len() == 3
    }));
    // Over the cap, as many again wait (accepted, no version line yet) ...
    let mut waiting: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", srv.port)).unwrap())
        .collect();
    for w in waiting.iter_mut() {
        assert_eq!(first_bytes(w, Duration::from_millis(500)), None);
    }
    assert!(srv
        .log()
        .contains("waits: 3 unauthenticated connections from this address"));
    // ... and beyond that the flooder's connections are closed at once.
    let mut seventh = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    assert_eq!(
        first_bytes(&mut seventh, Duration::from_secs(5)),
        Some(vec![]),
        "{}",
        srv.log()
    );
    assert!(srv
        .log()
        .contains("refused: 3 unauthenticated connections from this address"));
    // Another address is served meanwhile.
    let out = srv.ssh_opts(&["-b", "127.0.0.2"], "echo other-address");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "other-address\n");
    assert!(srv.log().contains("from 127.0.0.2:"));
    // When one of the held ones leaves, the oldest waiting one is served.
    drop(held.pop());
    assert_eq!(
        first_bytes(&mut waiting[0], Duration::from_secs(5)),
        Some(b"SSH-".to_vec()),
        "{}",
        srv.log()
    );
}

#[test]
fn twenty_simultaneous_logins_from_one_address_all_succeed() {
    if skip_unless_quoll("per-address limit") {
        return;
    }
    // Twice the default per-address cap, all at once.
    let srv = quoll(&[]);
    let srv = &srv;
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..20)
            .map(|i| sc.spawn(move || (i, srv.ssh(&format!("echo n{i}")))))
            .collect();
        for h in handles {
            let (i, out) = h.join().unwrap();
            assert_eq!(out.code, Some(0), "{i}: {}", srv.context(&out));
            assert_eq!(out.stdout, format!("n{i}\n"));
        }
    });
}

#[test]
fn over_the_unauthenticated_total_newcomers_wait() {
    if skip_unless_quoll("unauthenticated limit") {
        return;
    }
    let srv = quoll(&["--max-unauth", "2"]);
    let mut held = Vec::new();
    assert!(wait_until(Duration::from_secs(10), || {
        if let Some(s) = silent(srv.port) {
            held.push(s);
        }
        held.len() == 2
    }));
    let mut third = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    assert_eq!(first_bytes(&mut third, Duration::from_secs(1)), None);
    drop(held.pop());
    assert_eq!(
        first_bytes(&mut third, Duration::from_secs(5)),
        Some(b"SSH-".to_vec()),
        "{}",
        srv.log()
    );
    assert!(srv
        .log()
        .contains("Maximum of 2 unauthenticated connections reached"));
}

/// A TCP connection to the server from `local` (any 127.x.y.z address: Linux routes all of
/// 127/8 to the loopback interface), or None when the kernel did not complete it within 2 s.
fn connect_from(local: Ipv4Addr, port: u16) -> Option<TcpStream> {
    use std::os::fd::FromRawFd;
    let sin = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own (the TcpStream closes it), with
    // pointers to live sockaddr_in values of the given length.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if fd < 0 {
            return None;
        }
        let s = TcpStream::from_raw_fd(fd);
        let a = sin(local, 0);
        if libc::bind(fd, &a as *const _ as *const libc::sockaddr, len) != 0 {
            return None;
        }
        let b = sin(Ipv4Addr::LOCALHOST, port);
        if libc::connect(fd, &b as *const _ as *const libc::sockaddr, len) != 0
            && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS)
        {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        if libc::poll(&mut p, 1, 2000) != 1 || !matches!(s.take_error(), Ok(None)) {
            return None;
        }
        s.set_nonblocking(false).ok()?;
        Some(s)
    }
}

/// Whether the server still holds this connection open (drains what it sent).
fn still_open(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let open = loop {
        match s.read(&mut buf) {
            Ok(0) => break false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break true,
            Err(_) => break false,
        }
    };
    s.set_nonblocking(false).unwrap();
    open
}

/// 200 idle connections from 20 networks (10 from each: under every per-source cap) hold
/// every login slot; some send a version line and then nothing, some nothing at all. A login
/// from a 21st network is served at once, not after the others' grace time.
#[test]
fn idle_connections_from_twenty_networks_do_not_keep_a_newcomer_out() {
    if skip_unless_quoll("admission") {
        return;
    }
    let srv = quoll(&[]);
    let port = srv.port;
    let mut held: Vec<TcpStream> = std::thread::scope(|sc| {
        let handles: Vec<_> = (1..=20u8)
            .map(|n| {
                sc.spawn(move || {
                    let mut mine = Vec::new();
                    for _ in 0..10 {
                        if let Some(mut s) = connect_from(Ipv4Addr::new(127, n, 0, 1), port) {
                            if n % 2 == 0 {
                                let _ = s.write_all(b"SSH-2.0-idle\r\n");
                            }
                            mine.push(s);
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // Every login slot (32) is held by them; more wait or were turned away.
    let open = held.iter_mut().map(still_open).filter(|&o| o).count();
    assert!(
        open >= 32,
        "only {open} idle connections open\n{}",
        srv.log()
    );
    let t = Instant::now();
    let out = srv.ssh_opts(&["-b", "127.21.0.1"], "echo newcomer");
    let took = t.elapsed();
    eprintln!("{open} idle connections open; the newcomer logged in in {took:?}");
    assert_eq!(out.code, Some(0), "after {took:?}: {}", srv.context(&out));
    assert_eq!(out.stdout, "newcomer\n");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}\n{}",
        srv.log()
    );
    drop(held);
}

/// A connection that sends nothing (or only its version line) is cut at the key exchange
/// deadline (10 s by default), long before the login grace time (120 s).
#[test]
fn an_idle_connection_is_cut_at_the_key_exchange_deadline() {
    if skip_unless_quoll("key exchange deadline") {
        return;
    }
    let srv = quoll(&[]);
    let mut s = silent(srv.port).expect("version line");
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(8) && took < Duration::from_secs(30),
        "{took:?}\n{}",
        srv.log()
    );
    assert!(
        srv.log().contains("key exchange not completed in time"),
        "{}",
        srv.log()
    );
}

/// The key exchange deadline ends with the key exchange: a client that then takes longer
/// to authenticate has the login grace time.
#[test]
fn after_the_key_exchange_the_login_grace_time_applies() {
    if skip_unless_quoll("--kex-timeout") {
        return;
    }
    let srv = quoll(&["--kex-timeout", "1"]);
    let out = run(
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rawssh.py"))
            .arg("slow_auth")
            .arg(srv.port.to_string())
            .env("RAWSSH_USER", &srv.user)
            .env("RAWSSH_WAIT", "3"),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stdout.contains("RESULT ok"), "{}", srv.context(&out));
    // One that stays silent is cut after a second.
    let mut s = silent(srv.port).expect("version line");
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.read_to_end(&mut Vec::new());
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

/// `ssh` from `from` with a key that is not authorized, until the daemon refuses the
/// connection before authentication; returns how many attempts were refused a key.
fn fail_until_refused(srv: &Server, stranger: &std::path::Path, from: &str, max: usize) -> usize {
    for i in 0..max {
        let out = run(
            &mut srv.ssh_command_keys(&[stranger], &["-b", from], "true"),
            CMD_TIMEOUT,
        );
        assert_eq!(out.code, Some(255), "{}", srv.context(&out));
        if !out.stderr.contains("Permission denied") {
            return i;
        }
    }
    max
}

/// A source whose connections keep failing authentication is refused at accept for a while
/// (after more than 15 s of penalties: four failed connections in a row), the right key
/// included; other sources are not. One or two failures lock nobody out.
#[test]
fn a_source_that_keeps_failing_is_refused_for_a_while() {
    if skip_unless_quoll("per-source penalties") {
        return;
    }
    let srv = quoll(&[]);
    let stranger = srv.dir.join("stranger");
    ssh_keygen(&stranger);
    let failed = fail_until_refused(&srv, &stranger, "127.9.0.1", 8);
    assert!((4..8).contains(&failed), "{failed} failures\n{}", srv.log());
    let out = srv.ssh_opts(&["-b", "127.9.0.1"], "echo should-not-run");
    assert_eq!(out.code, Some(255), "{}", srv.context(&out));
    assert_eq!(out.stdout, "");
    let log = srv.log();
    assert!(
        log.contains("Penalty for 127.9.0.1: new connections refused for"),
        "{log}"
    );
    assert!(
        log.contains("refused: source penalised for another"),
        "{log}"
    );
    // Another address of the same network is another source.
    assert_eq!(
        srv.ssh_ok_from("127.9.0.2", "echo neighbour"),
        "neighbour\n"
    );
    assert_eq!(srv.ssh_ok("echo other"), "other\n");
}

#[test]
fn penalties_off_refuse_nobody() {
    if skip_unless_quoll("--penalties") {
        return;
    }
    let srv = quoll(&["--penalties", "off"]);
    let stranger = srv.dir.join("stranger");
    ssh_keygen(&stranger);
    assert_eq!(fail_until_refused(&srv, &stranger, "127.9.0.1", 8), 8);
    assert_eq!(srv.ssh_ok_from("127.9.0.1", "echo still"), "still\n");
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Copies bytes between two sockets until either side closes.
fn relay(a: TcpStream, b: TcpStream) {
    for (mut from, mut to) in [(a.try_clone().unwrap(), b.try_clone().unwrap()), (b, a)] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }
}

/// Out of descriptors (a limit of 64 and a flood of connections from 8 networks): the
/// daemon stops accepting for a while instead of spinning on a readable listener, logs
/// that in a few lines with counts, and a login whose connection was accepted before the
/// flood still reads its files and starts its session; so does one after the flood.
#[test]
fn out_of_descriptors_the_daemon_rests_and_logins_still_work() {
    if skip_unless_quoll("descriptor reserve") {
        return;
    }
    let srv = Server::start_with(Options {
        extra_args: vec!["--max-unauth".into(), "100".into()],
        nofile: Some(64),
        ..Default::default()
    });
    let pid = srv.pid().unwrap();
    // A connection accepted before the flood (the daemon has sent its version line), for a
    // real `ssh` to log in through later.
    let early = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let mut b = [0u8; 4];
    early.peek(&mut b).unwrap();
    let relay_port = TcpListener::bind("127.0.0.1:0").unwrap();
    let rport = relay_port.local_addr().unwrap().port();

    let before = cpu_ticks(pid);
    let t0 = Instant::now();
    let flood_end = t0 + Duration::from_secs(5);
    let port = srv.port;
    let early_login = std::thread::scope(|sc| {
        for n in 41..=48u8 {
            sc.spawn(move || {
                // Connections are held, so the daemon's descriptors stay used up while new
                // ones keep its listen backlog full.
                let mut mine = Vec::new();
                while Instant::now() < flood_end {
                    if mine.len() >= 40 {
                        std::thread::sleep(Duration::from_millis(50));
                    } else if let Some(s) = connect_from(Ipv4Addr::new(127, n, 0, 1), port) {
                        mine.push(s);
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let login = sc.spawn(|| {
            let (client, _) = relay_port.accept().unwrap();
            relay(client, early);
        });
        let port_opt = rport.to_string();
        let out = srv.ssh_opts(&["-p", &port_opt], "echo accepted-before");
        login.join().unwrap();
        out
    });
    let spent = cpu_ticks(pid) - before;
    let flood = t0.elapsed();
    eprintln!("daemon CPU over {flood:?} of flood: {spent} ticks");
    assert_eq!(early_login.code, Some(0), "{}", srv.context(&early_login));
    assert_eq!(early_login.stdout, "accepted-before\n");
    // Spinning would be about one core for the whole flood; resting uses a few percent.
    let ticks_per_s = 100;
    assert!(
        spent < ticks_per_s * 3 / 2,
        "{spent} ticks of CPU over {flood:?} of flood\n{}",
        srv.log()
    );
    // After the flood.
    assert_eq!(srv.ssh_ok("echo after"), "after\n");
    // The lines held back are counted, in a line of their own at the end of the interval.
    wait_until(Duration::from_secs(10), || {
        srv.log()
            .contains("more connections closed for lack of descriptors")
    });
    let log = srv.log();
    let lines = log
        .lines()
        .filter(|l| l.contains("accept") || l.contains("descriptors"))
        .count();
    eprintln!("{lines} lines about accept and descriptors");
    assert!(
        lines <= 20,
        "{lines} lines about accept and descriptors:\n{log}"
    );
    assert!(
        log.contains("more connections closed for lack of descriptors"),
        "{log}"
    );
    assert!(!log.contains("nonexistent user"), "{log}");
}
