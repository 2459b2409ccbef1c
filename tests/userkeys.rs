//! User keys of every kind through real logins with OpenSSH 10.3's client and ssh-keygen
//! (built under build/ by `scripts/openssh-client`, with OpenSSH's `sk-dummy` FIDO provider):
//! RSA 2048 and 4096 with each SHA-2 hash forced, SHA-1 `ssh-rsa` and a 1024-bit key
//! refused, ECDSA on the three curves, FIDO keys with and without `no-touch-required`,
//! certificates through `cert-authority` and `--trusted-user-ca-keys` with each refusal,
//! `--revoked-keys`, malformed key blobs and signatures from a raw client (tests/rawssh.py),
//! PuTTY's `plink` with an RSA key, an authorized_keys mixing every kind, and
//! `SSH_PUBKEYINFO`.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssh(program: &str) -> PathBuf {
    let dir = std::env::var_os("QUOLL_NEW_OPENSSH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/openssh-10.3p1"));
    let path = dir.join(program);
    require(
        path.exists(),
        &format!(
            "no {} (scripts/openssh-client builds OpenSSH 10.3 and sk-dummy.so)",
            path.display()
        ),
    );
    path
}

fn sk_dummy() -> String {
    openssh("libexec/sk-dummy.so").display().to_string()
}

/// quoll without per-source penalties: the refusals below come from one address.
fn quoll(extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: ["--penalties", "off"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    })
}

/// `ssh-keygen -q -N "" -C comment -f dir/name ARGS` (OpenSSH 10.3's); returns the key path.
fn keygen(srv: &Server, name: &str, comment: &str, args: &[&str]) -> PathBuf {
    let path = srv.dir.join(name);
    let out = run(
        Command::new(openssh("bin/ssh-keygen"))
            .args(["-q", "-N", "", "-C", comment, "-f"])
            .arg(&path)
            .args(args),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "ssh-keygen {args:?}: {}", out.describe());
    path
}

fn public(key: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", key.display())).unwrap()
}

fn fingerprint(key: &Path) -> String {
    let out = run(
        Command::new(openssh("bin/ssh-keygen"))
            .arg("-lf")
            .arg(format!("{}.pub", key.display())),
        CMD_TIMEOUT,
    );
    fingerprint_in(&out.stdout).expect("a fingerprint")
}

fn authorize(srv: &Server, lines: &[String]) {
    std::fs::write(srv.dir.join("authorized_keys"), lines.join("")).unwrap();
}

/// `ssh` (10.3) with `key` and `opts`, running `remote`.
fn login(srv: &Server, key: &Path, opts: &[&str], remote: &str) -> Out {
    let ssh = openssh("bin/ssh");
    let out = run(
        &mut srv.ssh_program_command(&ssh, &[key], opts, remote),
        CMD_TIMEOUT,
    );
    assert!(!out.timed_out, "ssh timed out:\n{}", srv.context(&out));
    out
}

fn login_ok(srv: &Server, key: &Path, opts: &[&str], remote: &str) -> String {
    let out = login(srv, key, opts, remote);
    assert_eq!(out.code, Some(0), "{opts:?}\n{}", srv.context(&out));
    out.stdout
}

fn refused(srv: &Server, key: &Path, opts: &[&str]) {
    let out = login(srv, key, opts, "echo in");
    assert_ne!(
        out.code,
        Some(0),
        "{opts:?}: logged in\n{}",
        srv.context(&out)
    );
    assert!(!out.stdout.contains("in"), "{}", srv.context(&out));
}

fn log_has(srv: &Server, text: &str) {
    assert!(
        wait_until(std::time::Duration::from_secs(5), || srv
            .log()
            .contains(text)),
        "log lacks {text:?}:\n{}",
        srv.log()
    );
}

#[test]
fn rsa_2048_and_4096_with_each_sha2_hash() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    for bits in ["2048", "4096"] {
        let key = keygen(
            &srv,
            &format!("rsa{bits}"),
            "rsa",
            &["-t", "rsa", "-b", bits],
        );
        authorize(&srv, &[public(&key)]);
        for alg in ["rsa-sha2-256", "rsa-sha2-512"] {
            let o = format!("PubkeyAcceptedAlgorithms={alg}");
            assert_eq!(login_ok(&srv, &key, &["-o", &o], "echo rsa-in"), "rsa-in\n");
        }
        log_has(
            &srv,
            &format!(
                "Pubkey auth succeeded for '{}' with ssh-rsa key {} from",
                srv.user,
                fingerprint(&key)
            ),
        );
    }
}

#[test]
fn sha1_rsa_signatures_and_1024_bit_keys_are_refused() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let key = keygen(&srv, "rsa", "rsa", &["-t", "rsa", "-b", "2048"]);
    let small = keygen(&srv, "rsa1024", "small", &["-t", "rsa", "-b", "1024"]);
    authorize(&srv, &[public(&key), public(&small)]);
    // server-sig-algs lists no ssh-rsa: the client has no algorithm left to sign with
    // (quoll's own refusal of an ssh-rsa request is a unit test, proto::conn_tests).
    refused(&srv, &key, &["-o", "PubkeyAcceptedAlgorithms=ssh-rsa"]);
    assert!(
        !srv.log().contains("Pubkey auth succeeded"),
        "{}",
        srv.log()
    );
    refused(&srv, &small, &[]);
    log_has(&srv, "RSA key of 1024 bits (at least 2048 needed)");
    // The same line's 2048-bit key still logs in with SHA-2.
    assert_eq!(login_ok(&srv, &key, &[], "echo ok"), "ok\n");
}

#[test]
fn ecdsa_on_each_curve() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    for bits in ["256", "384", "521"] {
        let key = keygen(
            &srv,
            &format!("ec{bits}"),
            "ec",
            &["-t", "ecdsa", "-b", bits],
        );
        authorize(&srv, &[public(&key)]);
        assert_eq!(login_ok(&srv, &key, &[], "echo ec-in"), "ec-in\n");
        log_has(
            &srv,
            &format!("with ecdsa-sha2-nistp{bits} key {} from", fingerprint(&key)),
        );
    }
}

#[test]
fn fido_keys_need_touch_unless_no_touch_required() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let provider = sk_dummy();
    let sk_opt = format!("SecurityKeyProvider={provider}");
    for (t, name) in [
        ("ed25519-sk", "sk-ssh-ed25519@openssh.com"),
        ("ecdsa-sk", "sk-ecdsa-sha2-nistp256@openssh.com"),
    ] {
        // sk-dummy signs with the key's flags: user presence unless made no-touch-required.
        let touch = keygen(&srv, t, "touch", &["-t", t, "-w", &provider]);
        authorize(&srv, &[public(&touch)]);
        assert_eq!(login_ok(&srv, &touch, &["-o", &sk_opt], "echo sk"), "sk\n");
        log_has(
            &srv,
            &format!("with {name} key {} from", fingerprint(&touch)),
        );
        // verify-required: sk-dummy's signature says the user was not verified.
        authorize(&srv, &[format!("verify-required {}", public(&touch))]);
        refused(&srv, &touch, &["-o", &sk_opt]);
        log_has(&srv, "user verification requirement not met");

        let untouched = keygen(
            &srv,
            &format!("{t}-nt"),
            "notouch",
            &["-t", t, "-w", &provider, "-O", "no-touch-required"],
        );
        authorize(&srv, &[public(&untouched)]);
        refused(&srv, &untouched, &["-o", &sk_opt]);
        log_has(
            &srv,
            "user presence (authenticator touch) requirement not met",
        );
        authorize(&srv, &[format!("no-touch-required {}", public(&untouched))]);
        assert_eq!(
            login_ok(&srv, &untouched, &["-o", &sk_opt], "echo nt"),
            "nt\n"
        );
    }
}

/// A CA (`ssh-keygen -s`) and a user key it certifies as `name`.
struct Ca {
    key: PathBuf,
}

impl Ca {
    fn new(srv: &Server, name: &str) -> Ca {
        Ca {
            key: keygen(srv, name, name, &["-t", "ed25519"]),
        }
    }

    /// Certifies `user_key` (its `-cert.pub` is written beside it, where ssh finds it).
    fn sign(&self, user_key: &Path, id: &str, serial: &str, extra: &[&str]) {
        let out = run(
            Command::new(openssh("bin/ssh-keygen"))
                .arg("-q")
                .arg("-s")
                .arg(&self.key)
                .args(["-I", id, "-z", serial])
                .args(extra)
                .arg(format!("{}.pub", user_key.display())),
            CMD_TIMEOUT,
        );
        assert_eq!(out.code, Some(0), "ssh-keygen -s: {}", out.describe());
    }

    fn line(&self) -> String {
        public(&self.key)
    }
}

#[test]
fn certificates_through_cert_authority() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let ca = Ca::new(&srv, "ca");
    let user = srv.user.clone();
    let key = keygen(&srv, "user", "user", &["-t", "ed25519"]);
    authorize(&srv, &[format!("cert-authority {}", ca.line())]);

    // Every extension (ssh-keygen's default): a login with a pty.
    ca.sign(&key, "alice@fleet", "7", &["-n", &user]);
    let out = login_ok(&srv, &key, &["-tt"], "tty >/dev/null && echo TTY");
    assert!(out.contains("TTY"), "{out}");
    log_has(
        &srv,
        &format!(
            "with ssh-ed25519-cert-v01@openssh.com key {} ID \"alice@fleet\" (serial 7) CA ssh-ed25519 {} from",
            fingerprint(&key),
            fingerprint(&ca.key)
        ),
    );

    // No extensions: no pty.
    ca.sign(&key, "clear", "8", &["-n", &user, "-O", "clear"]);
    let out = login_ok(
        &srv,
        &key,
        &["-tt"],
        "tty >/dev/null && echo TTY || echo NOTTY",
    );
    assert!(out.contains("NOTTY"), "{out}");
    // ... and no port forwarding (`ssh -W` opens a direct-tcpip channel at once; the port is
    // closed, so with every extension the open fails for that reason instead).
    let target = format!("127.0.0.1:{}", free_port());
    let refusals = || {
        srv.log()
            .lines()
            .filter(|l| l.contains(&format!("Local forward to {target} from")))
            .filter(|l| l.ends_with(" refused"))
            .count()
    };
    let forward = || {
        let out = login(&srv, &key, &["-W", &target], "");
        assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    };
    forward();
    assert!(
        wait_until(std::time::Duration::from_secs(5), || refusals() == 1),
        "{}",
        srv.log()
    );
    ca.sign(&key, "all", "8", &["-n", &user]);
    forward();
    // Logged in (a refused login would leave the count alone too), and not refused again.
    assert!(
        wait_until(std::time::Duration::from_secs(5), || srv.log().lines().any(
            |l| l.contains("Pubkey auth succeeded") && l.contains("ID \"all\"")
        )),
        "{}",
        srv.log()
    );
    assert_eq!(refusals(), 1, "{}", srv.log());
    // A critical option quoll does not know refuses the certificate.
    ca.sign(
        &key,
        "critical",
        "8",
        &["-n", &user, "-O", "critical:unknown@example.com=x"],
    );
    refused(&srv, &key, &[]);
    log_has(&srv, "unknown critical option");

    // principals= on the line: the certificate must name one of them.
    ca.sign(&key, "ops", "9", &["-n", "ops"]);
    refused(&srv, &key, &[]);
    log_has(&srv, "certificate names no allowed principal");
    authorize(
        &srv,
        &[format!(
            "cert-authority,principals=\"db,ops\" {}",
            ca.line()
        )],
    );
    assert_eq!(login_ok(&srv, &key, &[], "echo ops"), "ops\n");

    // Validity.
    ca.sign(&key, "old", "10", &["-n", &user, "-V", "-2d:-1d"]);
    refused(&srv, &key, &[]);
    authorize(&srv, &[format!("cert-authority {}", ca.line())]);
    refused(&srv, &key, &[]);
    log_has(&srv, "certificate expired");
    ca.sign(&key, "future", "11", &["-n", &user, "-V", "+1d:+2d"]);
    refused(&srv, &key, &[]);
    log_has(&srv, "certificate not yet valid");

    // force-command, source-address.
    ca.sign(
        &key,
        "forced",
        "12",
        &["-n", &user, "-O", "force-command=echo forced"],
    );
    assert_eq!(login_ok(&srv, &key, &[], "echo asked"), "forced\n");
    ca.sign(
        &key,
        "elsewhere",
        "13",
        &["-n", &user, "-O", "source-address=10.0.0.0/8"],
    );
    refused(&srv, &key, &[]);
    log_has(&srv, "source-address does not admit the client");
    ca.sign(
        &key,
        "here",
        "14",
        &["-n", &user, "-O", "source-address=10.0.0.0/8,127.0.0.1/32"],
    );
    assert_eq!(login_ok(&srv, &key, &[], "echo here"), "here\n");

    // A CA nobody trusts.
    let other = Ca::new(&srv, "other-ca");
    other.sign(&key, "stranger", "15", &["-n", &user]);
    refused(&srv, &key, &[]);
}

#[test]
fn certificates_through_trusted_user_ca_keys_and_revocation() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let dir = TempDir::new("cas");
    let (cas, revoked) = (dir.join("user_ca.pub"), dir.join("revoked"));
    let srv = quoll(&[
        "--trusted-user-ca-keys",
        cas.to_str().unwrap(),
        "--revoked-keys",
        revoked.to_str().unwrap(),
    ]);
    let user = srv.user.clone();
    let ca = Ca::new(&srv, "ca");
    let rsa_ca = Ca {
        key: keygen(&srv, "rsa-ca", "rsa-ca", &["-t", "rsa", "-b", "3072"]),
    };
    std::fs::write(&cas, format!("# fleet CAs\n{}{}", ca.line(), rsa_ca.line())).unwrap();
    std::fs::write(&revoked, "").unwrap();
    // Whatever the umask: a group-writable file would be refused (tested below).
    set_mode(&cas, 0o644);
    set_mode(&revoked, 0o644);
    // Nothing in authorized_keys lists this key or CA.
    authorize(&srv, &[]);
    let key = keygen(&srv, "user", "user", &["-t", "ecdsa"]);
    ca.sign(&key, "fleet-1", "1", &["-n", &format!("ops,{user}")]);
    assert_eq!(login_ok(&srv, &key, &[], "echo ca-in"), "ca-in\n");
    log_has(&srv, "with ecdsa-sha2-nistp256-cert-v01@openssh.com key");
    // A CA file others may write trusts nobody (and says why).
    set_mode(&cas, 0o666);
    refused(&srv, &key, &[]);
    log_has(
        &srv,
        "trusted CA keys unreadable: bad ownership or modes for file",
    );
    set_mode(&cas, 0o644);
    assert_eq!(login_ok(&srv, &key, &[], "echo ca-again"), "ca-again\n");
    // An RSA CA's SHA-2 signature.
    rsa_ca.sign(&key, "fleet-rsa", "2", &["-n", &user, "-t", "rsa-sha2-512"]);
    assert_eq!(login_ok(&srv, &key, &[], "echo rsa-ca"), "rsa-ca\n");
    log_has(&srv, "(serial 2) CA ssh-rsa");
    // The file's CAs need the user among the principals; none listed is not enough.
    ca.sign(&key, "others", "3", &["-n", "ops"]);
    let unknown = unknown_key_lines(&srv, "-cert-v01@openssh.com");
    refused(&srv, &key, &[]);
    log_has(&srv, "certificate names no allowed principal");
    // Logged once, with its reason: not also as an attempt with an unknown key (the plain
    // key the client offers next is one).
    let now = unknown_key_lines(&srv, "-cert-v01@openssh.com");
    assert_eq!(now, unknown, "{}", srv.log());
    // ... unless a `cert-authority,principals=` line for the same CA admits it (OpenSSH too).
    authorize(
        &srv,
        &[format!("cert-authority,principals=\"ops\" {}", ca.line())],
    );
    assert_eq!(login_ok(&srv, &key, &[], "echo by-line"), "by-line\n");
    authorize(&srv, &[]);
    ca.sign(&key, "nobody", "4", &[]);
    refused(&srv, &key, &[]);

    // Revoked: the certified key, then the CA; and a plain key.
    ca.sign(&key, "fleet-5", "5", &["-n", &user]);
    assert_eq!(login_ok(&srv, &key, &[], "echo ok"), "ok\n");
    std::fs::write(&revoked, public(&key)).unwrap();
    refused(&srv, &key, &[]);
    log_has(&srv, "revoked (certificate's key is listed in");
    // A revoked-keys file others may write refuses every key (it cannot be trusted).
    std::fs::write(&revoked, "").unwrap();
    set_mode(&revoked, 0o622);
    refused(&srv, &key, &[]);
    log_has(
        &srv,
        "revoked keys unreadable: bad ownership or modes for file",
    );
    set_mode(&revoked, 0o644);
    std::fs::write(&revoked, format!("# the old CA\n{}", ca.line())).unwrap();
    refused(&srv, &key, &[]);
    log_has(&srv, "revoked (certificate's CA is listed in");
    authorize(&srv, &[public(&srv.client_key)]);
    assert_eq!(srv.ssh_ok("echo plain"), "plain\n");
    std::fs::write(&revoked, public(&srv.client_key)).unwrap();
    let unknown = unknown_key_lines(&srv, "");
    let out = srv.ssh("echo plain");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    log_has(&srv, "revoked (key is listed in");
    assert_eq!(unknown_key_lines(&srv, ""), unknown, "{}", srv.log());
}

/// How many "attempt with unknown key" lines with `text` in them the log has so far.
fn unknown_key_lines(srv: &Server, text: &str) -> usize {
    srv.log()
        .lines()
        .filter(|l| l.contains("attempt with unknown key") && l.contains(text))
        .count()
}

#[test]
fn plink_logs_in_with_an_rsa_key() {
    if skip_unless_quoll("user keys") {
        return;
    }
    require(
        Command::new("plink").arg("-V").output().is_ok()
            && Command::new("puttygen").arg("-V").output().is_ok(),
        "plink and puttygen (Debian's putty-tools)",
    );
    let srv = quoll(&[]);
    let key = keygen(
        &srv,
        "rsa",
        "putty",
        &["-t", "rsa", "-b", "2048", "-m", "PEM"],
    );
    authorize(&srv, &[public(&key)]);
    let ppk = srv.dir.join("rsa.ppk");
    let out = run(
        Command::new("puttygen")
            .arg(&key)
            .args(["-O", "private", "-o"])
            .arg(&ppk),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "puttygen: {}", out.describe());
    let host = run(
        Command::new(openssh("bin/ssh-keygen"))
            .arg("-lf")
            .arg(&srv.hostkey),
        CMD_TIMEOUT,
    );
    let host_fp = fingerprint_in(&host.stdout).expect("host key fingerprint");
    let out = run(
        Command::new("plink")
            .args(["-batch", "-ssh", "-hostkey", &host_fp, "-i"])
            .arg(&ppk)
            .args(["-P", &srv.port.to_string()])
            .arg(format!("{}@127.0.0.1", srv.user))
            .arg("echo putty-in"),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "putty-in\n", "{}", srv.context(&out));
    log_has(
        &srv,
        &format!("with ssh-rsa key {} from", fingerprint(&key)),
    );
}

#[test]
fn one_authorized_keys_with_every_kind_and_options() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let provider = sk_dummy();
    let sk_opt = format!("SecurityKeyProvider={provider}");
    let ed = srv.client_key.clone();
    let rsa = keygen(&srv, "rsa", "rsa", &["-t", "rsa", "-b", "3072"]);
    let small = keygen(&srv, "small", "small", &["-t", "rsa", "-b", "1024"]);
    let ec = keygen(&srv, "ec", "ec", &["-t", "ecdsa", "-b", "384"]);
    let sk = keygen(
        &srv,
        "sk",
        "sk",
        &[
            "-t",
            "ed25519-sk",
            "-w",
            &provider,
            "-O",
            "no-touch-required",
        ],
    );
    let ca = Ca::new(&srv, "ca");
    let certified = keygen(&srv, "certified", "certified", &["-t", "ecdsa"]);
    ca.sign(&certified, "mixed", "3", &["-n", "deploy"]);
    authorize(
        &srv,
        &[
            "# every kind\n".to_string(),
            public(&small),
            format!("no-pty {}", public(&ed)),
            format!("command=\"echo rsa-forced\" {}", public(&rsa)),
            "ssh-dss AAAAB3NzaC1kc3MAAACBAP8= old dsa\n".to_string(),
            format!("from=\"127.0.0.1\",environment=\"X=1\" {}", public(&ec)),
            format!("no-touch-required,restrict {}", public(&sk)),
            format!(
                "cert-authority,principals=\"deploy\",command=\"echo ca-forced\" {}",
                ca.line()
            ),
        ],
    );
    // With -tt the output ends in CR LF; "NOTTY" also contains "TTY": compare whole lines.
    let tty = |key: &Path, opts: &[&str]| {
        let out = login_ok(&srv, key, opts, "tty >/dev/null && echo TTY || echo NOTTY");
        out.trim_end().to_string()
    };
    assert_eq!(tty(&ed, &["-tt"]), "NOTTY");
    assert_eq!(login_ok(&srv, &rsa, &[], "echo asked"), "rsa-forced\n");
    assert_eq!(tty(&ec, &["-tt"]), "TTY");
    assert_eq!(tty(&sk, &["-tt", "-o", &sk_opt]), "NOTTY");
    assert_eq!(login_ok(&srv, &certified, &[], "echo asked"), "ca-forced\n");
    refused(&srv, &small, &[]);
    log_has(&srv, "RSA key of 1024 bits");
}

#[test]
fn ssh_pubkeyinfo_is_the_comment_of_the_line() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let key = keygen(&srv, "ec", "laptop@home", &["-t", "ecdsa"]);
    authorize(&srv, &[public(&key)]);
    assert_eq!(
        login_ok(&srv, &key, &[], "echo \"[$SSH_PUBKEYINFO]\""),
        "[laptop@home]\n"
    );
    // Dropbear's rule: only a comment of safe characters, up to its first space.
    let line = public(&key).replace("laptop@home", "ops-key.1 second word");
    authorize(&srv, &[line]);
    assert_eq!(
        login_ok(&srv, &key, &[], "echo \"[$SSH_PUBKEYINFO]\""),
        "[ops-key.1]\n"
    );
    let line = public(&key).replace("laptop@home", "x;reboot");
    authorize(&srv, &[line]);
    assert_eq!(
        login_ok(&srv, &key, &[], "echo \"[${SSH_PUBKEYINFO-unset}]\""),
        "[unset]\n"
    );
}

/// Key blobs and signatures no standard allows, from a raw client (tests/rawssh.py): each a
/// failed attempt on a connection that goes on, logged with why; a session opened before
/// and the daemon carry on. The raw client's own well-formed certificate then logs in, so
/// the refusals were for what was wrong, not for how the client builds its requests.
#[test]
fn malformed_keys_and_signatures_are_failed_attempts() {
    if skip_unless_quoll("user keys") {
        return;
    }
    let srv = quoll(&[]);
    let key = keygen(&srv, "p256", "p256", &["-t", "ecdsa", "-b", "256"]);
    let ca = keygen(&srv, "ca", "ca", &["-t", "ed25519"]);
    authorize(
        &srv,
        &[
            public(&srv.client_key),
            public(&key),
            format!("cert-authority {}", public(&ca)),
        ],
    );
    let mut session = srv.cat_session();
    for scenario in ["bad_key_blobs", "bad_key_signatures"] {
        let out = run(
            Command::new("python3")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rawssh.py"))
                .arg(scenario)
                .arg(srv.port.to_string())
                .env("RAWSSH_USER", &srv.user)
                .env("RAWSSH_KEY", &key)
                .env("RAWSSH_CA", &ca),
            CMD_TIMEOUT,
        );
        assert!(
            out.code == Some(0) && out.stdout.contains("RESULT ok"),
            "{scenario}: {}",
            srv.context(&out)
        );
        // Every attempt's own log line, by the key's fingerprint and the reason: a failure
        // alone proves nothing (a key nobody listed fails too).
        let owed: Vec<(&str, &str)> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("expect-log: ")?.split_once(": "))
            .collect();
        assert!(owed.len() >= 4, "{scenario}: {}", out.stdout);
        for (fp, why) in &owed {
            let want = owed.iter().filter(|&&o| o == (*fp, *why)).count();
            let seen = || {
                srv.log()
                    .lines()
                    .filter(|l| l.contains(fp) && l.contains(why))
                    .count()
            };
            assert!(
                wait_until(std::time::Duration::from_secs(5), || seen() >= want),
                "{scenario}: {want} log line(s) with {fp} and {why:?} owed\n{}",
                srv.log()
            );
        }
    }
    check_still_serving(&srv, &mut session, "malformed keys and signatures");
    session
        .finish()
        .unwrap_or_else(|e| panic!("{e}\n--- server log ---\n{}", srv.log()));
}
