//! quoll under Dropbear's names (`dropbear`, `dropbearkey`, `dropbearconvert`, symlinks to the
//! quoll binary) against Dropbear's own tools from Debian's dropbear-bin: key files each side
//! writes are read by the other, conversions round-trip, and `dbclient` logs in to quoll run
//! as `dropbear` with a host key the real `dropbearkey` made.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `dir/NAME` as a symlink to the quoll under test.
fn link(dir: &TempDir, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::os::unix::fs::symlink(quoll_bin(), &path).expect("symlink");
    path
}

/// Runs a program (ours by path, or one of Dropbear's by name, which must be installed).
fn tool(program: &Path, args: &[&str]) -> Out {
    let found =
        program.is_absolute() || !sh(&format!("command -v {}", program.display())).is_empty();
    require(
        found,
        &format!("{} is not installed (dropbear-bin)", program.display()),
    );
    run(Command::new(program).args(args), CMD_TIMEOUT)
}

fn real(name: &str) -> PathBuf {
    PathBuf::from(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `Fingerprint: SHA256:...` line of dropbearkey's output.
fn fingerprint_line(out: &Out) -> &str {
    out.stdout
        .lines()
        .find(|l| l.starts_with("Fingerprint: SHA256:"))
        .unwrap_or_else(|| panic!("no fingerprint:\n{}", out.describe()))
}

#[test]
fn keys_made_by_either_dropbearkey_are_read_by_the_other() {
    if skip_unless_quoll("quoll's dropbearkey") {
        return;
    }
    let dir = TempDir::new("dbkey");
    let ours = link(&dir, "dropbearkey");

    // quoll makes it, Dropbear reads it.
    let key = dir.join("quoll_made");
    let made = tool(&ours, &["-t", "ed25519", "-f", s(&key)]);
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let shown = tool(&real("dropbearkey"), &["-y", "-f", s(&key)]);
    assert_eq!(shown.code, Some(0), "{}", shown.describe());
    assert_eq!(fingerprint_line(&shown), fingerprint_line(&made));
    // The whole output is Dropbear's, line for line.
    let ours_shown = tool(&ours, &["-y", "-f", s(&key)]);
    assert_eq!(ours_shown.stdout, shown.stdout);

    // Dropbear makes it, quoll reads it.
    let key = dir.join("dropbear_made");
    let made = tool(&real("dropbearkey"), &["-t", "ed25519", "-f", s(&key)]);
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let shown = tool(&ours, &["-y", "-f", s(&key)]);
    assert_eq!(shown.code, Some(0), "{}", shown.describe());
    assert_eq!(shown.stdout, made.stdout);

    // Types quoll does not make: refused as a Dropbear without them refuses them.
    for kind in ["rsa", "ecdsa", "dss"] {
        let out = tool(&ours, &["-t", kind, "-f", s(&dir.join(kind))]);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        assert!(
            out.stderr
                .starts_with(&format!("Unknown key type '{kind}'\nUsage: ")),
            "{}",
            out.describe()
        );
        assert!(!dir.join(kind).exists());
    }
    // A missing file: Dropbear's message and status.
    let missing = dir.join("missing");
    let theirs = tool(&real("dropbearkey"), &["-y", "-f", s(&missing)]);
    let out = tool(&ours, &["-y", "-f", s(&missing)]);
    assert_eq!(out.code, theirs.code);
    assert!(out.stderr.starts_with(&theirs.stderr), "{}", out.describe());
}

#[test]
fn dropbearconvert_round_trips_against_dropbears() {
    if skip_unless_quoll("quoll's dropbearconvert") {
        return;
    }
    let dir = TempDir::new("dbconvert");
    let ours = link(&dir, "dropbearconvert");
    let theirs = real("dropbearconvert");
    let ok = |out: Out| {
        assert_eq!(out.code, Some(0), "{}", out.describe());
        out
    };

    // Dropbear's key -> OpenSSH by quoll -> Dropbear by Dropbear: the same file.
    let db = dir.join("db");
    ok(tool(&real("dropbearkey"), &["-t", "ed25519", "-f", s(&db)]));
    let ossh = dir.join("ossh");
    let out = ok(tool(&ours, &["dropbear", "openssh", s(&db), s(&ossh)]));
    assert_eq!(
        out.stderr,
        format!("Key is a ssh-ed25519 key\nWrote key to '{}'\n", s(&ossh))
    );
    let back = dir.join("back");
    ok(tool(&theirs, &["openssh", "dropbear", s(&ossh), s(&back)]));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&db).unwrap());
    // ... and ssh-keygen reads quoll's OpenSSH file as the same key.
    let public = ok(tool(&real("ssh-keygen"), &["-y", "-f", s(&ossh)]));
    let db_public = ok(tool(&real("dropbearkey"), &["-y", "-f", s(&db)]));
    assert!(
        db_public.stdout.contains(public.stdout.trim()),
        "{}\n{}",
        public.stdout,
        db_public.stdout
    );

    // ssh-keygen's key -> Dropbear by quoll and by Dropbear: byte for byte the same, and
    // Dropbear's OpenSSH output converts back by quoll to it too.
    let os = dir.join("os");
    ssh_keygen(&os);
    let (q, d) = (dir.join("q.db"), dir.join("d.db"));
    ok(tool(&ours, &["openssh", "dropbear", s(&os), s(&q)]));
    ok(tool(&theirs, &["openssh", "dropbear", s(&os), s(&d)]));
    assert_eq!(std::fs::read(&q).unwrap(), std::fs::read(&d).unwrap());
    let (d_os, again) = (dir.join("d.os"), dir.join("again.db"));
    ok(tool(&theirs, &["dropbear", "openssh", s(&d), s(&d_os)]));
    ok(tool(&ours, &["openssh", "dropbear", s(&d_os), s(&again)]));
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&d).unwrap());

    // A wrong input type is refused, as Dropbear refuses it.
    let out = tool(&ours, &["openssh", "dropbear", s(&db), s(&dir.join("x"))]);
    let real_out = tool(&theirs, &["openssh", "dropbear", s(&db), s(&dir.join("y"))]);
    assert_eq!(out.code, real_out.code);
    assert_eq!(out.code, Some(1));
}

/// quoll run as `dropbear` on a free loopback port, reading authorized_keys from `dir`.
struct Dropbear {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Dropbear {
    fn start(dir: &TempDir, args: &[&str]) -> Dropbear {
        let program = link(dir, "dropbear");
        let port = free_port();
        let log = dir.join("server.log");
        let child = Command::new(&program)
            .args([
                "-F",
                "-E",
                "-p",
                &format!("127.0.0.1:{port}"),
                "-D",
                s(dir.path()),
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start quoll as dropbear");
        let mut d = Dropbear { child, port, log };
        let listening = wait_until(START_TIMEOUT, || d.log().contains("Not backgrounding"));
        assert!(listening, "not listening:\n{}", d.log());
        assert!(d.child.try_wait().unwrap().is_none(), "{}", d.log());
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `dbclient -y` (accepting the host key, recorded in HOME's known_hosts) runs `command`.
    fn dbclient(&self, dir: &TempDir, key: &Path, command: &str) -> Out {
        require(
            !sh("command -v dbclient").is_empty(),
            "dbclient is not installed (dropbear-bin)",
        );
        let user = current_user();
        run(
            Command::new("dbclient")
                .env("HOME", dir.path())
                .args(["-y", "-i", s(key), "-p", &self.port.to_string()])
                .arg(format!("{user}@127.0.0.1"))
                .arg(command)
                .stdin(Stdio::null()),
            CMD_TIMEOUT,
        )
    }
}

impl Drop for Dropbear {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client key made by Dropbear's dropbearkey, authorized in `dir`.
fn dropbear_client_key(dir: &TempDir) -> PathBuf {
    let key = dir.join("id_dropbear");
    let out = tool(&real("dropbearkey"), &["-t", "ed25519", "-f", s(&key)]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let line = out.stdout.lines().find(|l| l.starts_with("ssh-ed25519 "));
    std::fs::write(dir.join("authorized_keys"), format!("{}\n", line.unwrap())).unwrap();
    set_mode(&dir.join("authorized_keys"), 0o600);
    key
}

/// The host key fingerprint dbclient printed when it accepted the key.
fn seen_fingerprint(out: &Out) -> String {
    let at = out
        .stderr
        .find("fingerprint ")
        .expect("dbclient names the host key");
    let rest = &out.stderr[at + "fingerprint ".len()..];
    rest[..rest.find(')').unwrap()].to_string()
}

#[test]
fn dbclient_logs_in_to_quoll_run_as_dropbear_with_a_dropbearkey_host_key() {
    if skip_unless_quoll("quoll as dropbear") {
        return;
    }
    let dir = TempDir::new("dbserver");
    let client = dropbear_client_key(&dir);
    let hostkey = dir.join("dropbear_ed25519_host_key");
    let made = tool(&real("dropbearkey"), &["-t", "ed25519", "-f", s(&hostkey)]);
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let server = Dropbear::start(&dir, &["-r", s(&hostkey)]);
    let out = server.dbclient(&dir, &client, "echo logged in as $(id -un)");
    assert_eq!(out.code, Some(0), "{}\n{}", out.describe(), server.log());
    assert_eq!(out.stdout, format!("logged in as {}\n", current_user()));
    let expected = fingerprint_line(&made).trim_start_matches("Fingerprint: ");
    assert_eq!(seen_fingerprint(&out), expected);
}

#[test]
fn with_only_an_rsa_key_the_ed25519_key_beside_it_is_made_and_served() {
    if skip_unless_quoll("quoll as dropbear") {
        return;
    }
    let dir = TempDir::new("dbrsa");
    let client = dropbear_client_key(&dir);
    let rsa = dir.join("dropbear_rsa_host_key");
    let made = tool(
        &real("dropbearkey"),
        &["-t", "rsa", "-s", "1024", "-f", s(&rsa)],
    );
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let ed25519 = dir.join("dropbear_ed25519_host_key");
    let server = Dropbear::start(&dir, &["-r", s(&rsa)]);
    let log = server.log();
    assert!(
        log.contains(&format!(
            "No Ed25519 host key among the -r files: using {}",
            s(&ed25519)
        )),
        "{log}"
    );
    // As with -R: made at the first connection.
    assert!(!ed25519.exists(), "{log}");
    let out = server.dbclient(&dir, &client, "true");
    assert_eq!(out.code, Some(0), "{}\n{}", out.describe(), server.log());
    assert!(server
        .log()
        .contains(&format!("Generated host key {}", s(&ed25519))));
    // In Dropbear's format: Dropbear's own tool reads it, and it is the key served.
    let shown = tool(&real("dropbearkey"), &["-y", "-f", s(&ed25519)]);
    assert_eq!(shown.code, Some(0), "{}", shown.describe());
    let expected = fingerprint_line(&shown).trim_start_matches("Fingerprint: ");
    assert_eq!(seen_fingerprint(&out), expected);
    // The RSA key is left as it was.
    let again = tool(&real("dropbearkey"), &["-y", "-f", s(&rsa)]);
    assert_eq!(fingerprint_line(&again), fingerprint_line(&made));
}

/// quoll as `scp` (a board without an scp program, `scp` linked to quoll): OpenSSH's
/// `scp -O` runs it through a shell, as sshd would (here `-S` stands in for ssh and runs the
/// remote command locally with the link first on PATH). Names with glob characters and
/// spaces go both ways unchanged, and only the file named is sent.
#[test]
fn quoll_as_scp_serves_legacy_scp_from_a_shell() {
    if skip_unless_quoll("quoll as scp") {
        return;
    }
    require(
        cfg!(feature = "scp"),
        "quoll is built without the scp feature",
    );
    let dir = TempDir::new("dbscp");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(quoll_bin(), bin.join("scp")).unwrap();
    // Stands in for ssh: skips ssh's options and the host, runs the command in a shell.
    let ssh = dir.join("fake-ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift 2\nPATH={}:$PATH exec sh -c \"$1\"\n",
            s(&bin)
        ),
    )
    .unwrap();
    set_mode(&ssh, 0o755);
    let (local, remote) = (dir.join("local"), dir.join("remote"));
    std::fs::create_dir(&local).unwrap();
    std::fs::create_dir(&remote).unwrap();
    std::fs::write(local.join("a b*c"), b"first\n").unwrap();
    let scp = |args: &[&str]| {
        let out = run(
            Command::new("scp")
                .args(["-O", "-S", s(&ssh)])
                .args(args)
                .stdin(Stdio::null()),
            CMD_TIMEOUT,
        );
        assert_eq!(out.code, Some(0), "{}", out.describe());
    };
    scp(&[s(&local.join("a b*c")), &format!("board:{}/", s(&remote))]);
    assert_eq!(std::fs::read(remote.join("a b*c")).unwrap(), b"first\n");
    // Back, with a second file the pattern would match if it were taken as one.
    std::fs::write(remote.join("a bXc"), b"other\n").unwrap();
    std::fs::remove_file(local.join("a b*c")).unwrap();
    scp(&[
        &format!("board:{}/a\\ b\\*c", s(&remote)),
        &format!("{}/", s(&local)),
    ]);
    assert_eq!(std::fs::read(local.join("a b*c")).unwrap(), b"first\n");
    assert!(!local.join("a bXc").exists());
}

/// OpenWrt keeps root's keys in /etc/dropbear/authorized_keys (LuCI writes it): with
/// `--root-keys FILE` (the default as `dropbear`) root logs in with a key listed only there,
/// another user does not, and the file gets the same owner and mode checks.
#[test]
fn root_keys_also_come_from_the_openwrt_file() {
    if skip_unless_quoll("--root-keys") {
        return;
    }
    require_root("logging in as root and as another account");
    ensure_user("quolltest");
    let keys = TempDir::new("root-keys");
    set_mode(keys.path(), 0o755);
    let luci = keys.join("authorized_keys");
    let srv = Server::start_with(Options {
        extra_args: vec![
            "--penalties".into(),
            "off".into(),
            "--root-keys".into(),
            luci.display().to_string(),
        ],
        ..Default::default()
    });
    let key = srv.dir.join("luci_key");
    ssh_keygen(&key);
    std::fs::copy(format!("{}.pub", key.display()), &luci).unwrap();
    set_mode(&luci, 0o600);
    let as_user = |user: &str| {
        let mut c = srv.ssh_command_keys(&[&key], &[], "echo in");
        // The harness logs in as its own user; this key is tried for `user` instead.
        let args: Vec<String> = c
            .get_args()
            .map(|a| {
                a.to_string_lossy()
                    .replace(&format!("{}@", srv.user), &format!("{user}@"))
            })
            .collect();
        c = Command::new("ssh");
        c.args(args);
        run(&mut c, CMD_TIMEOUT)
    };
    let out = as_user("root");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "in\n");
    let out = as_user("quolltest");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    // A file others may write is refused, and the log says why.
    set_mode(&luci, 0o666);
    let out = as_user("root");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        wait_until(std::time::Duration::from_secs(5), || srv
            .log()
            .contains(&luci.display().to_string())),
        "{}",
        srv.log()
    );
}
