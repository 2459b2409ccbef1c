//! Issue 5: run-time connection limits. A burst of legitimate clients from one address waits
//! instead of failing; connections that never log in are cut at the grace time; a flooding
//! address hits its own cap while other addresses still log in; the total of unauthenticated
//! connections makes newcomers wait in the listen backlog.

mod common;
use common::*;
use std::io::Read;
use std::net::TcpStream;
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
