//! Password and keyboard-interactive logins with the OpenSSH client (through
//! `sshpass`), and the policy flags around them (-s -g -w -G -t -B), locked accounts and shells
//! missing from /etc/shells. Tests that need an account with a known password create a
//! throwaway user (as root, as CI runs) and remove it afterwards; not as root they fail with
//! NOT RUN.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const PW: &str = "c0rrect-horse";

/// `sshpass -p PASSWORD ssh ... USER@127.0.0.1 remote` with password authentication only
/// (unless `opts` say otherwise: the first value of an ssh option wins).
fn pw_ssh(srv: &Server, user: &str, password: &str, opts: &[&str], remote: &str) -> Out {
    let mut c = Command::new("sshpass");
    c.arg("-p")
        .arg(password)
        .arg("ssh")
        .arg("-F")
        .arg("/dev/null");
    c.args(opts);
    c.arg("-p").arg(srv.port.to_string());
    for o in [
        format!("UserKnownHostsFile={}", srv.known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".to_string(),
        "StrictHostKeyChecking=accept-new".to_string(),
        "PreferredAuthentications=password".to_string(),
        "PubkeyAuthentication=no".to_string(),
        "NumberOfPasswordPrompts=1".to_string(),
        "ConnectTimeout=10".to_string(),
        "IdentityAgent=none".to_string(),
        "ControlPath=none".to_string(),
        "LogLevel=ERROR".to_string(),
    ] {
        c.arg("-o").arg(o);
    }
    c.arg(format!("{user}@127.0.0.1"));
    if !remote.is_empty() {
        c.arg("--").arg(remote);
    }
    let out = run(&mut c, CMD_TIMEOUT);
    assert!(!out.timed_out, "ssh timed out:\n{}", srv.context(&out));
    out
}

fn quoll(extra: &[&str]) -> Server {
    Server::start_with(Options {
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

#[test]
fn password_login_works_and_a_wrong_one_is_refused_late() {
    let Some(u) = TestUser::create("pw", PW, "/bin/sh") else {
        return;
    };
    let srv = quoll(&[]);
    let out = pw_ssh(&srv, &u.name, PW, &[], "id -un");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout.trim(), u.name);
    assert!(srv.log().contains(&format!(
        "Password auth succeeded for '{}' from 127.0.0.1:",
        u.name
    )));

    let t = Instant::now();
    let out = pw_ssh(&srv, &u.name, "wrong", &[], "id -un");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(
        t.elapsed().as_millis() >= 250,
        "the failure must come 250-350 ms late"
    );
    assert!(srv.log().contains(&format!(
        "Bad password attempt for '{}' from 127.0.0.1:",
        u.name
    )));
    let out = pw_ssh(&srv, "no-such-user-qt", "x", &[], "true");
    assert_ne!(out.code, Some(0));
    assert!(srv
        .log()
        .contains("Login attempt for nonexistent user from 127.0.0.1:"));
}

/// Sets `user`'s password to PW with `chpasswd -c METHOD` and checks that /etc/shadow now holds
/// a hash starting with `prefix`.
fn set_password_hash(user: &TestUser, method: &str, prefix: &str) {
    sh(&format!("echo '{}:{PW}' | chpasswd -c {method}", user.name));
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    let entry = format!("{}:", user.name);
    let field = shadow
        .lines()
        .find_map(|l| l.strip_prefix(&entry))
        .unwrap_or("");
    assert!(field.starts_with(prefix), "{method}: {field}");
}

/// PW logs `user` in, a wrong password does not.
fn right_and_wrong_password(srv: &Server, user: &TestUser, method: &str) {
    let out = pw_ssh(srv, &user.name, PW, &[], "id -un");
    assert_eq!(out.code, Some(0), "{method}: {}", srv.context(&out));
    assert_eq!(out.stdout.trim(), user.name);
    let out = pw_ssh(srv, &user.name, "c0rrect-horsE", &[], "id -un");
    assert_ne!(out.code, Some(0), "{method}: {}", srv.context(&out));
}

/// md5 `$1$`, sha256 `$5$` (with `rounds=`) and sha512 `$6$` hashes in /etc/shadow, made by the
/// system's chpasswd: quoll hashes these itself (src/accounts/pwhash.rs), on glibc too.
#[test]
fn md5_and_sha_crypt_hashes_log_in() {
    let Some(u) = TestUser::create("mc", PW, "/bin/sh") else {
        return;
    };
    let srv = quoll(&[]);
    for (method, prefix) in [
        ("SHA512", "$6$"),
        ("MD5", "$1$"),
        ("SHA256 -s 7000", "$5$rounds=7000$"),
    ] {
        set_password_hash(&u, method, prefix);
        right_and_wrong_password(&srv, &u, method);
    }
    let log = srv.log();
    let ok = format!("Password auth succeeded for '{}' from", u.name);
    let bad = format!("Bad password attempt for '{}' from", u.name);
    assert_eq!(log.matches(&ok).count(), 3, "{log}");
    assert_eq!(log.matches(&bad).count(), 3, "{log}");
}

/// Other methods go to libcrypt on glibc builds: yescrypt, Debian's default (the other tests
/// get whatever /etc/login.defs picks).
#[cfg(target_env = "gnu")]
#[test]
fn yescrypt_logs_in_through_libcrypt() {
    let Some(u) = TestUser::create("yc", PW, "/bin/sh") else {
        return;
    };
    set_password_hash(&u, "YESCRYPT", "$y$");
    let srv = quoll(&[]);
    right_and_wrong_password(&srv, &u, "YESCRYPT");
}

#[test]
fn keyboard_interactive_asks_for_the_password() {
    let Some(u) = TestUser::create("kb", PW, "/bin/sh") else {
        return;
    };
    let srv = quoll(&[]);
    let out = pw_ssh(
        &srv,
        &u.name,
        PW,
        &["-o", "PreferredAuthentications=keyboard-interactive"],
        "echo kbd-ok",
    );
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "kbd-ok\n");
}

#[test]
fn locked_accounts_and_unlisted_shells_are_refused() {
    let Some(locked) = TestUser::create("lk", PW, "/bin/sh") else {
        return;
    };
    sh(&format!("usermod -L {}", locked.name));
    let Some(shell) = TestUser::create("sh", PW, "/usr/sbin/nologin-qt") else {
        return;
    };
    let srv = quoll(&[]);
    let out = pw_ssh(&srv, &locked.name, PW, &[], "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(srv
        .log()
        .contains(&format!("User account '{}' is locked", locked.name)));
    if std::path::Path::new("/etc/shells").exists() {
        let out = pw_ssh(&srv, &shell.name, PW, &[], "true");
        assert_ne!(out.code, Some(0), "{}", srv.context(&out));
        assert!(srv.log().contains(&format!(
            "User '{}' has invalid shell, rejected",
            shell.name
        )));
    }
}

#[test]
fn s_disables_passwords_g_only_for_root() {
    let Some(u) = TestUser::create("sg", PW, "/bin/sh") else {
        return;
    };
    let srv = quoll(&["-s"]);
    let out = pw_ssh(&srv, &u.name, PW, &[], "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(out.stderr.contains("(publickey)"), "{}", srv.context(&out));
    // Keys still work.
    assert_eq!(srv.ssh_ok("echo key-ok"), "key-ok\n");

    let srv = quoll(&["-g"]);
    let out = pw_ssh(&srv, &u.name, PW, &[], "echo user-ok");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let out = pw_ssh(&srv, "root", "not-roots-password", &[], "true");
    assert_ne!(out.code, Some(0));
    assert!(
        srv.log()
            .contains("Password login for 'root' from 127.0.0.1"),
        "{}",
        srv.log()
    );
}

#[test]
fn w_refuses_root_and_g_group_restricts() {
    if skip_unless_quoll("-w") {
        return;
    }
    require_root("a root login");
    let srv = quoll(&["-w"]);
    let out = srv.ssh("true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(srv.log().contains("root login rejected"), "{}", srv.log());

    let srv = quoll(&["-G", "nogroup"]);
    let out = srv.ssh("true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(srv.log().contains("not a member of group 'nogroup'"));
    let srv = quoll(&["-G", "root"]);
    assert_eq!(srv.ssh_ok("echo in-group"), "in-group\n");
}

#[test]
fn t_needs_key_and_password() {
    let Some(u) = TestUser::create("tf", PW, "/bin/sh") else {
        return;
    };
    // -D: the harness's key is authorized for every user, the throwaway one too.
    let srv = quoll(&["-t"]);
    let key = srv.client_key.display().to_string();
    let both = [
        "-i",
        &key,
        "-o",
        "PreferredAuthentications=publickey,password",
        "-o",
        "PubkeyAuthentication=yes",
        "-o",
        "IdentitiesOnly=yes",
    ];
    let out = pw_ssh(&srv, &u.name, PW, &both, "echo both-ok");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "both-ok\n");
    // The password alone, or the key alone, is not enough.
    let out = pw_ssh(&srv, &u.name, PW, &[], "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    let out = pw_ssh(&srv, &u.name, "wrong", &both, "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
}

#[test]
fn blank_passwords_only_with_b() {
    let Some(u) = TestUser::create("bl", PW, "/bin/sh") else {
        return;
    };
    sh(&format!("passwd -d {}", u.name));
    let srv = quoll(&[]);
    let out = pw_ssh(&srv, &u.name, "", &[], "true");
    assert_ne!(out.code, Some(0), "{}", srv.context(&out));
    assert!(srv.log().contains("has blank password, rejected"));
    let srv = quoll(&["-B"]);
    let out = pw_ssh(&srv, &u.name, "", &[], "echo blank-ok");
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    // As with Dropbear, no prompt at all: the client's first request, `none`, lets it in.
    let mut c = Command::new("ssh");
    c.args(["-F", "/dev/null", "-p", &srv.port.to_string()]);
    srv.client_options(&mut c);
    c.args(["-o", "PubkeyAuthentication=no"]);
    c.arg(format!("{}@127.0.0.1", u.name)).arg("echo no-prompt");
    let out = run(&mut c, CMD_TIMEOUT);
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    assert_eq!(out.stdout, "no-prompt\n");
    assert!(srv.log().contains("Auth succeeded with blank password"));
}

/// quoll's real syslog lines, under `--syslog-ident dropbear`, as a syslog daemon would write
/// them, fed to fail2ban's stock `dropbear` filter. Needs root to take /dev/log (when no
/// syslog daemon has it) and fail2ban-regex.
#[test]
fn fail2ban_dropbear_filter_matches_the_syslog_lines() {
    use std::os::unix::net::UnixDatagram;
    let Some(u) = TestUser::create("fb", PW, "/bin/sh") else {
        return;
    };
    require(
        Command::new("fail2ban-regex").arg("-V").output().is_ok(),
        "fail2ban-regex is not installed (scripts/test installs fail2ban)",
    );
    require(
        !std::path::Path::new("/dev/log").exists(),
        "a syslog daemon owns /dev/log, where this test listens",
    );
    let sock = UnixDatagram::bind("/dev/log").expect("bind /dev/log");
    struct Unlink;
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = std::fs::remove_file("/dev/log");
        }
    }
    let _unlink = Unlink;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (collected, stop) = (collected.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                    collected.lock().unwrap().push(line);
                }
            }
        })
    };
    let lines = || collected.lock().unwrap().clone();

    // The harness's server for its key files; a second quoll logs to syslog.
    let srv = quoll(&[]);
    let port = free_port();
    // Killed also when an assertion below fails, so no daemon outlives the test.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Command::new(quoll_bin())
        .args(["-F", "-p", &format!("127.0.0.1:{port}"), "-T", "2"])
        .args(["--syslog-ident", "dropbear", "-r"])
        .arg(&srv.hostkey)
        .arg("-D")
        .arg(srv.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Killed)
        .unwrap();
    let started = wait_until(Duration::from_secs(10), || {
        lines().iter().any(|l| l.contains("Not backgrounding"))
    });
    let mut syslog_srv = srv;
    syslog_srv.port = port;
    if started {
        // A bad password, a nonexistent user, too many tries, a good login.
        let _ = pw_ssh(&syslog_srv, &u.name, "wrong", &[], "true");
        let _ = pw_ssh(&syslog_srv, "no-such-user-qt", "x", &[], "true");
        let strangers: Vec<_> = (0..3)
            .map(|i| {
                let k = syslog_srv.dir.join(&format!("stranger{i}"));
                ssh_keygen(&k);
                k
            })
            .collect();
        let keys: Vec<&std::path::Path> = strangers.iter().map(|k| k.as_path()).collect();
        let _ = run(
            &mut syslog_srv.ssh_command_keys(&keys, &[], "true"),
            CMD_TIMEOUT,
        );
        let ok = pw_ssh(&syslog_srv, &u.name, PW, &[], "true");
        assert_eq!(ok.code, Some(0), "{}", ok.describe());
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(child);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    assert!(started, "no syslog line from quoll: {:?}", lines());

    // quoll sends "<PRI>ident[pid]: msg"; a syslog daemon writes "Mmm dd hh:mm:ss host
    // ident[pid]: msg" with its own clock.
    let text: String = lines()
        .iter()
        .filter_map(|l| {
            let l = &l[l.find('>')? + 1..];
            Some(format!("Nov 26 18:52:01 testhost {l}\n"))
        })
        .collect();
    let file = syslog_srv.dir.join("auth.log");
    std::fs::write(&file, &text).unwrap();
    let out = run(
        Command::new("fail2ban-regex").arg(&file).arg("dropbear"),
        CMD_TIMEOUT,
    );
    let summary = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Lines:"))
        .unwrap_or("")
        .to_string();
    // A bad password, a nonexistent user, Max auth tries once; the success and the
    // connection lines are not failures.
    let bad = text.matches("Bad password attempt").count();
    let nouser = text.matches("Login attempt for nonexistent user").count();
    let max = text.matches("Max auth tries reached").count();
    assert!(bad == 1 && nouser >= 1 && max == 1, "{text}");
    assert!(text.contains("Password auth succeeded"), "{text}");
    let expected = bad + nouser + max;
    assert!(
        summary.contains(&format!(" {expected} matched")),
        "{summary}\n{text}\n{}",
        out.stdout
    );
}
