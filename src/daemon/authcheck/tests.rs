use super::*;

fn policy() -> Policy {
    Policy {
        daemon_uid: 0,
        no_root: true,
        no_password: false,
        no_root_password: true,
        blank_password: false,
        group: Some("wheel".into()),
        auth_dir: Some("/etc/keys dir".into()),
        trusted_ca: Some("/etc/quoll/user_ca.pub".into()),
        revoked: None,
        root_keys: Some("/etc/dropbear/authorized_keys".into()),
    }
}

#[test]
fn request_round_trip() {
    let req = Request {
        kind: Kind::Password,
        user: "alice",
        secret: b"open sesame",
        peer: "2001:db8::7".parse().unwrap(),
        policy: policy(),
    };
    let bytes = req.encode();
    assert_eq!(Request::decode(&bytes), Some(req));
    let plain = Request {
        kind: Kind::Key,
        user: "bob",
        secret: &[1, 2, 3],
        peer: "10.0.0.1".parse().unwrap(),
        policy: Policy::default(),
    };
    assert_eq!(Request::decode(&plain.encode()), Some(plain));
}

#[test]
fn reply_round_trip() {
    let reply = Reply {
        verdict: Verdict::Yes,
        detail: String::new(),
        user: Some(User {
            name: "alice".into(),
            uid: 1000,
            gid: 100,
            home: "/home/alice".into(),
            shell: "/bin/ash".into(),
        }),
        key_line: "no-pty ssh-ed25519 AAAA x".into(),
        ca_file: true,
        warnings: vec!["a: line 2 skipped".into()],
    };
    assert_eq!(Reply::decode(&reply.encode()), Some(reply));
    let refused = Reply::new(Verdict::NoSuchUser, None);
    assert_eq!(Reply::decode(&refused.encode()), Some(refused));
}

#[test]
fn malformed_messages_are_refused() {
    let req = Request {
        kind: Kind::Blank,
        user: "u",
        secret: b"",
        peer: "10.0.0.1".parse().unwrap(),
        policy: policy(),
    };
    let bytes = req.encode();
    // Every truncation, and any trailing byte, is refused rather than misread.
    for n in 0..bytes.len() {
        assert_eq!(Request::decode(&bytes[..n]), None, "{n}");
    }
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(Request::decode(&long), None);
    let mut bad_kind = bytes.to_vec();
    bad_kind[3] = 9;
    assert_eq!(Request::decode(&bad_kind), None);
    let reply = Reply::new(Verdict::Locked, None).encode();
    for n in 0..reply.len() {
        assert_eq!(Reply::decode(&reply[..n]), None, "{n}");
    }
    let mut bad = reply.clone();
    bad[3] = 99;
    assert_eq!(Reply::decode(&bad), None);
}

#[test]
fn unknown_users_and_other_users() {
    let me = users::by_uid(crate::sys::ids::euid()).expect("the test user is in passwd");
    let p = Policy {
        daemon_uid: me.uid,
        ..Policy::default()
    };
    let req = |kind, user| Request {
        kind,
        user,
        secret: b"x",
        peer: "10.0.0.1".parse().unwrap(),
        policy: p.clone(),
    };
    let r = check(&req(Kind::Password, "no-such-user-quoll-test"));
    assert_eq!((r.verdict, r.user), (Verdict::NoSuchUser, None));
    if me.uid != 0 {
        // Not root: only quoll's own user may log in.
        let r = check(&req(Kind::Password, "root"));
        assert_eq!(r.verdict, Verdict::OtherUser);
    }
    // Without -B a blank check says nothing, whoever is asked about.
    let r = check(&req(Kind::Blank, &me.name));
    assert_eq!(r.verdict, Verdict::NotBlank);
}
