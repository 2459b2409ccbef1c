//! Events: what a packet asks of the edge waits, unconsumed, until the edge answers; nothing
//! more is read or answered meanwhile, and the replies then go out in the requests' order.

use super::*;
use crate::proto::auth::{Attempt, Outcome};
use crate::proto::conn::{Answer, Event, GlobalReply};

/// Hands the client's bytes to the connection as the loop reads a socket, but answers no
/// event (an edge that has not decided yet). Returns how many bytes it took.
fn feed(c: &mut Client, conn: &mut Conn, host: &mut TestHost) -> usize {
    let data = c.out.pending().to_vec();
    let mut off = 0;
    while off < data.len() && conn.wants_input() {
        let space = conn.input_space();
        let n = space.len().min(data.len() - off);
        if n == 0 {
            break;
        }
        space[..n].copy_from_slice(&data[off..off + n]);
        off += n;
        conn.received(n, host, 0);
    }
    c.out.sent(off);
    off
}

/// The socket takes all of the server's output; the client reads it.
fn take(c: &mut Client, conn: &mut Conn) {
    let out = conn.output().to_vec();
    conn.output_sent(out.len());
    c.inp.space()[..out.len()].copy_from_slice(&out);
    c.inp.filled(out.len());
}

fn logged_in() -> (Box<Conn>, TestHost, Client) {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    (conn, host, c)
}

/// A session channel opened (answered by the test host), its number.
fn open_session(c: &mut Client, conn: &mut Conn, host: &mut TestHost) -> u32 {
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN)?;
        w.string(b"session")?;
        w.u32(7)?;
        w.u32(1 << 20)?;
        w.u32(32768)
    });
    c.pump(conn, host);
    let p = c.recv_kind(msg::CHANNEL_OPEN_CONFIRMATION);
    u32::from_be_bytes(p[5..9].try_into().unwrap())
}

fn request(c: &mut Client, ch: u32, name: &[u8], reply: bool, rest: &[u8]) {
    c.send(|w| {
        w.u8(msg::CHANNEL_REQUEST)?;
        w.u32(ch)?;
        w.string(name)?;
        w.bool(reply)?;
        w.raw(rest)
    });
}

fn exec_args(cmd: &[u8]) -> Vec<u8> {
    let mut v = (cmd.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(cmd);
    v
}

/// A session start waits for the edge: no reply, no later request handled, no input read;
/// the edge's yes sends the SUCCESS, then the later request's reply, in order.
#[test]
fn a_session_start_holds_the_connection_until_the_edge_resumes() {
    let (mut conn, mut host, mut c) = logged_in();
    let ch = open_session(&mut c, &mut conn, &mut host);
    request(&mut c, ch, b"exec", true, &exec_args(b"true"));
    // After the start an env request is refused: it must be handled after the answer.
    let mut env = Vec::new();
    for s in [&b"LANG"[..], b"C"] {
        env.extend_from_slice(&(s.len() as u32).to_be_bytes());
        env.extend_from_slice(s);
    }
    request(&mut c, ch, b"env", true, &env);
    feed(&mut c, &mut conn, &mut host);
    match conn.event() {
        Some(Event::SessionStart { ch: e, start }) => {
            assert_eq!(e, ch as usize);
            assert_eq!(start.command, Some(&b"true"[..]));
            assert!(start.pty.is_none() && start.env.is_empty());
        }
        _ => panic!("no session start event"),
    }
    assert!(!conn.wants_input() && conn.input_space().is_empty());
    // More bytes from the client are not taken, time passing changes nothing.
    c.send(|w| w.u8(msg::IGNORE));
    assert_eq!(feed(&mut c, &mut conn, &mut host), 0);
    conn.tick(&mut host, 10);
    conn.received(0, &mut host, 10);
    take(&mut c, &mut conn);
    assert_eq!(c.recv(), None, "nothing is answered before the edge");
    assert!(matches!(conn.event(), Some(Event::SessionStart { .. })));
    conn.resume(Answer::Yes, &mut host, 20);
    assert!(conn.event().is_none() && conn.wants_input());
    take(&mut c, &mut conn);
    c.recv_kind(msg::CHANNEL_SUCCESS);
    c.recv_kind(msg::CHANNEL_FAILURE);
    assert_eq!(c.recv(), None);
    // Output may flow once the start is answered.
    assert!(conn.channel_send_room(ch as usize) > 0);
}

/// A start the edge refuses is a CHANNEL_FAILURE, and the session is not started: a signal
/// for it is refused at once, with no event.
#[test]
fn a_refused_start_is_a_channel_failure() {
    let (mut conn, mut host, mut c) = logged_in();
    let ch = open_session(&mut c, &mut conn, &mut host);
    request(&mut c, ch, b"shell", true, b"");
    feed(&mut c, &mut conn, &mut host);
    assert!(matches!(
        conn.event(),
        Some(Event::SessionStart { start, .. }) if start.command.is_none()
    ));
    conn.resume(Answer::No, &mut host, 0);
    take(&mut c, &mut conn);
    c.recv_kind(msg::CHANNEL_FAILURE);
    request(&mut c, ch, b"signal", true, &exec_args(b"INT"));
    feed(&mut c, &mut conn, &mut host);
    assert!(conn.event().is_none());
    take(&mut c, &mut conn);
    c.recv_kind(msg::CHANNEL_FAILURE);
}

/// A window-change and a signal on a running pty session are notifications: each is an
/// event of its own, and its reply follows the edge's resume.
#[test]
fn window_change_and_signal_are_events() {
    let (mut conn, mut host, mut c) = logged_in();
    let ch = open_session(&mut c, &mut conn, &mut host);
    let mut pty = exec_args(b"xterm");
    for n in [80u32, 24, 0, 0] {
        pty.extend_from_slice(&n.to_be_bytes());
    }
    pty.extend_from_slice(&exec_args(b""));
    request(&mut c, ch, b"pty-req", true, &pty);
    request(&mut c, ch, b"shell", true, b"");
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::CHANNEL_SUCCESS);
    c.recv_kind(msg::CHANNEL_SUCCESS);
    let mut size = Vec::new();
    for n in [132u32, 50, 0, 0] {
        size.extend_from_slice(&n.to_be_bytes());
    }
    request(&mut c, ch, b"window-change", false, &size);
    request(&mut c, ch, b"signal", true, &exec_args(b"INT"));
    feed(&mut c, &mut conn, &mut host);
    match conn.event() {
        Some(Event::WindowChange { ch: e, size }) => {
            assert_eq!((e, size.cols, size.rows), (ch as usize, 132, 50))
        }
        _ => panic!("no window-change event"),
    }
    conn.resume(Answer::Yes, &mut host, 0);
    assert!(matches!(
        conn.event(),
        Some(Event::Signal { ch: e, name: "INT" }) if e == ch as usize
    ));
    take(&mut c, &mut conn);
    assert_eq!(c.recv(), None, "the signal's reply waits for the edge");
    conn.resume(Answer::Yes, &mut host, 0);
    take(&mut c, &mut conn);
    c.recv_kind(msg::CHANNEL_SUCCESS);
    assert!(conn.event().is_none());
}

/// A closed channel is an event; its number is not given to a new channel before the edge
/// has let go of it, and then it is.
#[test]
fn a_closed_channel_is_an_event_and_its_slot_waits_for_the_edge() {
    let (mut conn, mut host, mut c) = logged_in();
    let ch = open_session(&mut c, &mut conn, &mut host);
    request(&mut c, ch, b"exec", true, &exec_args(b"true"));
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::CHANNEL_SUCCESS);
    conn.channel_finish(ch as usize, Some(ExitInfo::Status(0)), &mut host);
    c.send(|w| {
        w.u8(msg::CHANNEL_CLOSE)?;
        w.u32(ch)
    });
    feed(&mut c, &mut conn, &mut host);
    assert!(matches!(
        conn.event(),
        Some(Event::ChannelGone { ch: e }) if e == ch as usize
    ));
    assert!(
        !conn.wants_input(),
        "nothing is read while the edge holds the end"
    );
    // The client's side of the end is complete meanwhile.
    take(&mut c, &mut conn);
    c.recv_kind(msg::CHANNEL_EOF);
    c.recv_kind(msg::CHANNEL_REQUEST);
    c.recv_kind(msg::CHANNEL_CLOSE);
    conn.resume(Answer::Yes, &mut host, 0);
    assert!(conn.event().is_none());
    assert_eq!(open_session(&mut c, &mut conn, &mut host), ch);
}

/// A global request waits for the edge too; the reply carries what the edge answered.
#[test]
fn a_global_request_is_answered_by_the_edge() {
    let (mut conn, mut host, mut c) = logged_in();
    c.send(|w| {
        w.u8(msg::GLOBAL_REQUEST)?;
        w.string(b"tcpip-forward")?;
        w.bool(true)?;
        w.string(b"localhost")?;
        w.u32(0)
    });
    feed(&mut c, &mut conn, &mut host);
    match conn.event() {
        Some(Event::GlobalRequest { name, data }) => {
            assert_eq!(name, "tcpip-forward");
            let mut r = Reader::new(data);
            assert_eq!((r.text().unwrap(), r.u32().unwrap()), ("localhost", 0));
        }
        _ => panic!("no global request event"),
    }
    take(&mut c, &mut conn);
    assert_eq!(c.recv(), None);
    conn.resume(Answer::Global(GlobalReply::Port(5555)), &mut host, 0);
    take(&mut c, &mut conn);
    let ok = c.recv_kind(msg::REQUEST_SUCCESS);
    assert_eq!(&ok[1..], &5555u32.to_be_bytes());
}

/// An attempt the core ends alone is reported to the edge (which logs it), the request held
/// until then; too many failures end the connection only once the edge has the report.
#[test]
fn attempts_are_reported_to_the_edge() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    let unknown = |c: &mut Client| {
        c.send(|w| {
            w.u8(msg::USERAUTH_REQUEST)?;
            w.string(b"alice")?;
            w.string(b"ssh-connection")?;
            w.string(b"publickey")?;
            w.bool(false)?;
            w.string(b"ssh-rsa")?;
            w.string(b"not a key")
        })
    };
    for _ in 0..4 {
        unknown(&mut c);
    }
    for failures in 1..=3 {
        feed(&mut c, &mut conn, &mut host);
        match conn.event() {
            Some(Event::AuthReport(r)) => {
                assert_eq!((r.user.as_str(), r.attempt), ("alice", Attempt::RefusedKey));
                assert_eq!((r.outcome, r.failures), (Outcome::Failure, failures));
            }
            _ => panic!("no report"),
        }
        assert!(!conn.wants_input());
        conn.resume(Answer::Yes, &mut host, 0);
    }
    feed(&mut c, &mut conn, &mut host);
    assert!(matches!(
        conn.event(),
        Some(Event::AuthReport(r)) if r.outcome == Outcome::TooMany && r.failures == 3
    ));
    assert!(
        conn.closing().is_none(),
        "open until the edge has the report"
    );
    conn.resume(Answer::Yes, &mut host, 0);
    assert_eq!(
        conn.closing().map(|d| d.reason),
        Some(msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE)
    );
    take(&mut c, &mut conn);
    c.recv_kind(msg::SERVICE_ACCEPT);
    for _ in 0..3 {
        c.recv_kind(msg::USERAUTH_FAILURE);
    }
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

/// A SHA-1 `ssh-rsa` request over a good RSA key, and a key of another kind than the
/// request names, are refused by the core without a question, and say why.
#[test]
fn sha1_rsa_and_mismatched_algorithms_are_refused_with_a_reason() {
    let line = include_str!("../userkey/testdata/rsa2048.pub");
    let blob = crate::base64::decode(line.split(' ').nth(1).unwrap()).unwrap();
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    for (alg, why) in [
        (
            &b"ssh-rsa"[..],
            "algorithm ssh-rsa not accepted for ssh-rsa key",
        ),
        (
            b"ssh-ed25519",
            "algorithm ssh-ed25519 not accepted for ssh-rsa key",
        ),
    ] {
        c.send(|w| {
            w.u8(msg::USERAUTH_REQUEST)?;
            w.string(b"alice")?;
            w.string(b"ssh-connection")?;
            w.string(b"publickey")?;
            w.bool(false)?;
            w.string(alg)?;
            w.string(&blob)
        });
        feed(&mut c, &mut conn, &mut host);
        match conn.event() {
            Some(Event::AuthReport(r)) if cfg!(feature = "rsa") => {
                assert_eq!(r.attempt, Attempt::RefusedKey);
                assert_eq!(r.detail, why);
                assert!(r.key.starts_with("ssh-rsa key SHA256:"), "{}", r.key);
            }
            Some(Event::AuthReport(r)) => assert_eq!(r.attempt, Attempt::RefusedKey),
            _ => panic!("no report"),
        }
        assert!(conn.question().is_none());
        conn.resume(Answer::Yes, &mut host, 0);
    }
}
