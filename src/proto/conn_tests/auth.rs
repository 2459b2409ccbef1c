//! Authentication: attempts, methods, questions held until the edge answers.

use super::*;

#[test]
fn auth_attempts_are_limited() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    let other = public_blob(&Ed25519Key::from_seed(&[8; 32]).public_key());
    for _ in 0..4 {
        c.send_pubkey_query(&other);
    }
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::SERVICE_ACCEPT);
    for _ in 0..3 {
        c.recv_kind(msg::USERAUTH_FAILURE);
    }
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
    // Every attempt reached the edge's log, the last one as the end of the connection.
    use crate::proto::auth::{Attempt, Outcome};
    let failed = (Attempt::UnknownKey, Outcome::Failure);
    let end = (Attempt::None, Outcome::TooMany);
    assert_eq!(host.reports, [failed, failed, failed, end]);
}

/// The client's side of a password attempt.
/// A `none` request: the method list, or with `-B` a blank account's way in.
fn send_none(c: &mut Client, user: &[u8]) {
    c.send(|w| {
        w.u8(msg::USERAUTH_REQUEST)?;
        w.string(user)?;
        w.string(b"ssh-connection")?;
        w.string(b"none")
    });
}

fn send_password(c: &mut Client, password: &[u8]) {
    c.send(|w| {
        w.u8(msg::USERAUTH_REQUEST)?;
        w.string(b"alice")?;
        w.string(b"ssh-connection")?;
        w.string(b"password")?;
        w.bool(false)?;
        w.string(password)
    });
}

fn failure_methods(p: &[u8]) -> (String, bool) {
    assert_eq!(p[0], msg::USERAUTH_FAILURE);
    let mut r = Reader::new(&p[1..]);
    let m = r.text().unwrap().to_string();
    (m, r.bool().unwrap())
}

#[test]
fn password_is_wiped_from_the_input_also_when_its_request_is_malformed() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    let secret = b"correct horse battery staple";
    let found = |conn: &Conn| {
        conn.input_bytes()
            .windows(secret.len())
            .any(|w| w == secret)
    };
    // A well-formed attempt: handled, then wiped.
    send_password(&mut c, secret);
    c.pump(&mut conn, &mut host);
    assert!(!found(&conn));
    // Past the failure's delay, so the next request is taken.
    conn.tick(&mut host, 1_000);
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_FAILURE);
    // A password whose length field lies: a protocol error closes the connection, and the
    // packet is wiped all the same.
    c.send(|w| {
        w.u8(msg::USERAUTH_REQUEST)?;
        w.string(b"alice")?;
        w.string(b"ssh-connection")?;
        w.string(b"password")?;
        w.bool(false)?;
        w.u32(1000)?;
        w.raw(secret)
    });
    c.pump(&mut conn, &mut host);
    assert!(conn.closing().is_some());
    assert!(!found(&conn));
}

#[test]
fn password_login_and_methods_list() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    send_none(&mut c, b"alice");
    send_password(&mut c, b"open sesame");
    c.pump(&mut conn, &mut host);
    let (methods, partial) = failure_methods(&c.recv().unwrap());
    assert_eq!(methods, "publickey,password,keyboard-interactive");
    assert!(!partial);
    c.recv_kind(msg::USERAUTH_SUCCESS);
    assert!(conn.authenticated());
    assert_eq!(conn.auth().user.as_str(), "alice");
}

/// `-B`: a blank account gets in on `none`, as with Dropbear, but only where a password alone
/// would do.
#[test]
fn none_lets_a_blank_account_in_only_where_passwords_alone_are_allowed() {
    let none = |user: &[u8], policy: crate::proto::auth::Policy| {
        let (mut conn, mut host, mut c) = setup_full(65536, 1 << 30, policy);
        c.handshake(&mut conn, &mut host, true);
        service(&mut c, &mut conn, &mut host);
        send_none(&mut c, user);
        c.pump(&mut conn, &mut host);
        let kind = c.recv().unwrap()[0];
        (kind, conn.authenticated())
    };
    let plain = crate::proto::auth::Policy {
        blank: true,
        ..Default::default()
    };
    assert_eq!(none(b"blank", plain), (msg::USERAUTH_SUCCESS, true));
    // Without -B the core does not even ask.
    let no_b = crate::proto::auth::Policy::default();
    assert_eq!(none(b"blank", no_b), (msg::USERAUTH_FAILURE, false));
    assert_eq!(none(b"alice", plain), (msg::USERAUTH_FAILURE, false));
    let no_passwords = crate::proto::auth::Policy {
        password: false,
        ..plain
    };
    assert_eq!(none(b"blank", no_passwords), (msg::USERAUTH_FAILURE, false));
    let key_first = crate::proto::auth::Policy {
        key_and_password: true,
        ..plain
    };
    assert_eq!(none(b"blank", key_first), (msg::USERAUTH_FAILURE, false));
}

#[test]
fn wrong_password_answer_waits_and_holds_later_requests() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    send_password(&mut c, b"guess");
    send_password(&mut c, b"open sesame");
    c.pump(&mut conn, &mut host);
    // Nothing yet: the FAILURE waits, and the second attempt is not even read.
    assert!(c.recv().is_none());
    assert!(!conn.authenticated());
    let due = conn.next_tick(0);
    assert!((250..=350).contains(&due), "{due}");
    conn.tick(&mut host, due - 1);
    conn.received(0, &mut host, due - 1);
    c.pump(&mut conn, &mut host);
    assert!(c.recv().is_none());
    conn.tick(&mut host, due);
    conn.received(0, &mut host, due);
    c.pump(&mut conn, &mut host);
    let (methods, _) = failure_methods(&c.recv().unwrap());
    assert!(methods.contains("password"));
    c.recv_kind(msg::USERAUTH_SUCCESS);
    assert!(conn.authenticated());
}

#[test]
fn keyboard_interactive_asks_once_for_the_password() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    c.send(|w| {
        w.u8(msg::USERAUTH_REQUEST)?;
        w.string(b"alice")?;
        w.string(b"ssh-connection")?;
        w.string(b"keyboard-interactive")?;
        w.string(b"")?;
        w.string(b"")
    });
    c.pump(&mut conn, &mut host);
    let p = c.recv_kind(crate::proto::auth::INFO_REQUEST);
    let mut r = Reader::new(&p[1..]);
    for _ in 0..3 {
        r.string().unwrap();
    }
    assert_eq!(r.u32().unwrap(), 1);
    assert_eq!(r.text().unwrap(), "Password: ");
    assert!(!r.bool().unwrap(), "echo off");
    c.send(|w| {
        w.u8(crate::proto::auth::INFO_RESPONSE)?;
        w.u32(1)?;
        w.string(b"open sesame")
    });
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_SUCCESS);
    assert!(conn.authenticated());
}

#[test]
fn key_and_password_both_required() {
    let policy = crate::proto::auth::Policy {
        password: true,
        key_and_password: true,
        blank: false,
    };
    let (mut conn, mut host, mut c) = setup_full(65536, 1 << 30, policy);
    c.handshake(&mut conn, &mut host, true);
    // A right password before the key is refused.
    service(&mut c, &mut conn, &mut host);
    send_password(&mut c, b"open sesame");
    c.pump(&mut conn, &mut host);
    let (methods, partial) = failure_methods(&c.recv().unwrap());
    assert_eq!((methods.as_str(), partial), ("publickey", false));
    // The key: partial success, then only passwords can continue.
    c.send_signed_pubkey();
    c.pump(&mut conn, &mut host);
    let (methods, partial) = failure_methods(&c.recv().unwrap());
    assert_eq!(methods, "password,keyboard-interactive");
    assert!(partial);
    assert!(!conn.authenticated());
    send_password(&mut c, b"open sesame");
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_SUCCESS);
    assert!(conn.authenticated());
}

#[test]
fn no_password_logins_with_s() {
    let policy = crate::proto::auth::Policy {
        password: false,
        key_and_password: false,
        blank: false,
    };
    let (mut conn, mut host, mut c) = setup_full(65536, 1 << 30, policy);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    send_password(&mut c, b"open sesame");
    c.pump(&mut conn, &mut host);
    let (methods, _) = failure_methods(&c.recv().unwrap());
    assert_eq!(methods, "publickey");
    assert!(!conn.authenticated());
    // Not delayed either: nothing was checked.
    assert!(conn.next_tick(0) > 1000);
}

/// A question waits as long as the edge takes: nothing more is read or answered meanwhile,
/// the packet stays in place, and the answer finishes the request and lets the rest through.
#[test]
fn a_question_holds_the_connection_until_answered() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    host.hold = true;
    send_password(&mut c, b"open sesame");
    c.send(|w| w.u8(msg::IGNORE));
    c.pump(&mut conn, &mut host);
    assert!(c.recv().is_none(), "no answer before the edge's");
    assert!(!conn.wants_input());
    assert!(conn.input_space().is_empty());
    let q = conn.question().expect("a question is held");
    assert_eq!(
        q,
        crate::proto::auth::Question::Password {
            user: "alice",
            password: b"open sesame"
        }
    );
    // Time passes (timers run); the question stays.
    conn.tick(&mut host, 5000);
    assert!(conn.question().is_some());
    assert_eq!(
        conn.resume_auth(true, &mut host, 5000).map(|r| r.outcome),
        Some(crate::proto::auth::Outcome::Success)
    );
    assert!(conn.question().is_none() && conn.authenticated());
    // The password left no copy in the input buffer.
    assert!(!conn.input_bytes().windows(11).any(|w| w == b"open sesame"));
    host.hold = false;
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_SUCCESS);
    // Answering twice, or with nothing asked, does nothing.
    assert_eq!(conn.resume_auth(true, &mut host, 5000), None);
}

/// A no leaves the connection as it was: a failure, counted, nothing authenticated; and a
/// key's yes to a query is a PK_OK, not a login.
#[test]
fn answers_decide_only_what_was_asked() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    host.hold = true;
    c.send_signed_pubkey();
    c.pump(&mut conn, &mut host);
    assert!(matches!(
        conn.question(),
        Some(crate::proto::auth::Question::Key {
            user: "alice",
            signed: true,
            ..
        })
    ));
    assert_eq!(
        conn.resume_auth(false, &mut host, 0).map(|r| r.outcome),
        Some(crate::proto::auth::Outcome::Failure)
    );
    assert!(!conn.authenticated());
    assert_eq!(conn.auth().failures(), 1);
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_FAILURE);
    // The query step: a yes is PK_OK.
    let blob = public_blob(&c.user_key.public_key());
    c.send_pubkey_query(&blob);
    c.pump(&mut conn, &mut host);
    assert!(matches!(
        conn.question(),
        Some(crate::proto::auth::Question::Key { signed: false, .. })
    ));
    assert_eq!(
        conn.resume_auth(true, &mut host, 0).map(|r| r.outcome),
        Some(crate::proto::auth::Outcome::PkOk)
    );
    assert!(!conn.authenticated());
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::USERAUTH_PK_OK);
}

/// paramiko sends SERVICE_REQUEST ssh-userauth before every method it tries: each is
/// accepted until login (the banner only once); after login, or for another service, the
/// connection ends with SERVICE_NOT_AVAILABLE.
#[test]
fn userauth_may_be_requested_again_until_login() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    service(&mut c, &mut conn, &mut host);
    let other = public_blob(&Ed25519Key::from_seed(&[9; 32]).public_key());
    c.send_pubkey_query(&other);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    c.send_signed_pubkey();
    c.pump(&mut conn, &mut host);
    assert_eq!(c.recv().unwrap()[0], msg::USERAUTH_FAILURE);
    assert_eq!(
        c.recv().unwrap()[0],
        msg::SERVICE_ACCEPT,
        "no second banner"
    );
    assert_eq!(c.recv().unwrap()[0], msg::USERAUTH_SUCCESS);
    assert!(conn.authenticated());
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::SERVICE_NOT_AVAILABLE
    );
    // Another service, before login.
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-connection")
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::SERVICE_NOT_AVAILABLE
    );
}
