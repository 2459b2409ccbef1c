//! Every flag parsed, in both spellings where it has two, and the errors for bad ones.

use super::*;
use crate::options::PenaltySecs;

fn run(a: &[&str]) -> Result<Options, CliError> {
    let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    match parse(&v)? {
        Cli::Run(o) => Ok(*o),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dropbear_style_flags() {
    let o = run(&[
        "-FE",
        "-p",
        "127.0.0.1:2222",
        "-r/tmp/k",
        "-D",
        "/d",
        "-T3",
        "-p",
        "[::1]:22",
    ])
    .unwrap();
    assert!(o.foreground && o.log_stderr);
    assert_eq!(
        o.listen,
        vec![
            "127.0.0.1:2222".parse().unwrap(),
            "[::1]:22".parse().unwrap()
        ]
    );
    assert_eq!(o.hostkey, std::path::PathBuf::from("/tmp/k"));
    assert_eq!(o.max_auth_tries, 3);
    assert_eq!(o.auth_dir, Some("/d".into()));
}

#[test]
fn trusted_user_ca_keys_and_revoked_keys() {
    let o = run(&["--revoked-keys", "/etc/quoll/revoked"]).unwrap();
    assert_eq!(o.revoked_keys, Some("/etc/quoll/revoked".into()));
    let o = run(&["--trusted-user-ca-keys=/etc/ca.pub"]);
    if cfg!(feature = "certs") {
        assert_eq!(o.unwrap().trusted_user_ca_keys, Some("/etc/ca.pub".into()));
    } else {
        // A build without certificates says so rather than ignore the file.
        assert!(o.is_err());
    }
    let bare = run(&["-F"]).unwrap();
    assert_eq!((bare.revoked_keys, bare.trusted_user_ca_keys), (None, None));
    // Each takes a file name.
    assert!(run(&["--revoked-keys"]).is_err());
    assert!(run(&["--trusted-user-ca-keys"]).is_err());
}

#[test]
fn default_port_listens_everywhere() {
    let o = run(&["-F"]).unwrap();
    assert_eq!(o.listen.len(), 2);
    assert!(o.listen.iter().all(|a| a.port() == 22));
}

#[test]
fn bad_flags_are_errors() {
    assert!(run(&["-x"]).is_err());
    assert!(run(&["-p"]).is_err());
    assert!(run(&["-p", "host:99999"]).is_err());
    assert!(run(&["-T", "abc"]).is_err());
    assert!(run(&["-W", "10"]).is_err());
    assert!(run(&["stray"]).is_err());
    assert!(run(&["-c"]).is_err());
    assert!(run(&["-t", "-s"]).is_err());
    assert!(run(&["--max-sessions", "17"]).is_err());
    assert!(run(&["--max-conns", "0"]).is_err());
    assert!(run(&["--sftp-server"]).is_err());
}

#[test]
fn every_dropbear_flag() {
    let o = run(&[
        "-b",
        "/etc/banner",
        "-e",
        "-w",
        "-G",
        "users",
        "-sgB",
        "-jka",
        "-c",
        "date",
        "-l",
        "eth0",
        "-i",
        "-K",
        "5",
        "-I60",
        "-M",
        "600",
        "-m",
        "-z",
        "-r",
        "/a",
        "-r",
        "/b",
    ])
    .unwrap();
    assert_eq!(o.banner, Some("/etc/banner".into()));
    assert!(o.pass_env && o.no_root && o.no_password && o.no_root_password);
    assert!(o.blank_password && o.no_local_forward && o.no_remote_forward);
    assert!(o.forward_any_address && o.inetd);
    assert_eq!(o.group.as_deref(), Some("users"));
    assert_eq!(o.forced_command.as_deref(), Some("date"));
    assert_eq!(o.interface.as_deref(), Some("eth0"));
    assert_eq!((o.keepalive_secs, o.idle_timeout_secs), (5, 60));
    assert_eq!(o.max_session_secs, 600);
    assert_eq!(o.hostkey, std::path::PathBuf::from("/a"));
    assert_eq!(o.extra_hostkeys, vec![std::path::PathBuf::from("/b")]);
    assert!(run(&["-t"]).unwrap().key_and_password);
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(parse(&v(&["-Q", "kex"])), Ok(Cli::Query("kex".into())));
    assert!(parse(&v(&["-Q", "foo"])).is_err());
    let o = run(&[
        "--max-unauth",
        "5",
        "--max-unauth-per-addr=2",
        "--max-sessions",
        "3",
    ])
    .unwrap();
    assert_eq!(
        (o.max_unauth, o.max_unauth_per_addr, o.max_channels),
        (5, 2, 3)
    );
}

#[test]
fn values_inline_or_next_and_bounds() {
    // A value flag ends its word: "-Fp22" is -F then -p 22; "-pF" is -p with "F".
    let o = run(&["-Fp2222", "-T", "4", "--login-grace=7", "--max-conns", "9"]).unwrap();
    assert!(o.foreground);
    assert_eq!(o.listen.len(), 2);
    assert!(o.listen.iter().all(|a| a.port() == 2222));
    assert_eq!(
        (o.max_auth_tries, o.login_grace_secs, o.max_connections),
        (4, 7, 9)
    );
    assert_eq!(
        run(&["-pF"]).unwrap_err().0,
        "-p: 'F' is not [address:]port"
    );
    let e = |a: &[&str]| run(a).unwrap_err().0;
    assert_eq!(e(&["-T"]), "-T needs a value");
    assert_eq!(e(&["--max-conns"]), "--max-conns needs a value");
    assert_eq!(e(&["-T0"]), "-T: must be between 1 and 4294967295");
    assert_eq!(
        e(&["--login-grace", "0"]),
        "--login-grace: must be at least 1"
    );
    assert_eq!(e(&["-K", "-1"]), "-K: '-1' is not a valid number");
    assert_eq!(
        e(&["--max-conns=0"]),
        "--max-conns: must be between 1 and 1024"
    );
    assert_eq!(
        e(&["-W", "1048577"]),
        "-W: must be between 32768 and 1048576"
    );
    assert_eq!(e(&["--bogus=1"]), "unknown option --bogus");
    assert_eq!(e(&["-Fx"]), "unknown option -x");
    assert_eq!(run(&["-W1048576"]).unwrap().window, 1048576);
    assert_eq!(run(&["-K0", "-I", "0"]).unwrap().keepalive_secs, 0);
}

#[test]
fn every_numeric_flag_takes_a_value() {
    for (flag, min, max) in NUMERIC {
        assert!(min <= max, "{flag}");
        match flag.strip_prefix("--") {
            Some(long) => assert!(LONG_WITH_VALUE.contains(&long), "{flag}"),
            None => assert!(
                flag.len() == 2 && WITH_VALUE.contains(&flag.as_bytes()[1]),
                "{flag}"
            ),
        }
    }
}

#[test]
fn max_memory_takes_bytes_or_a_suffix() {
    assert_eq!(run(&[]).unwrap().max_memory, None);
    for (v, want) in [
        ("65536", 65536),
        ("3584K", 3584 << 10),
        ("16m", 16 << 20),
        ("2G", 2 << 30),
    ] {
        assert_eq!(
            run(&["--max-memory", v]).unwrap().max_memory,
            Some(want),
            "{v}"
        );
    }
    assert_eq!(run(&["--max-memory=1M"]).unwrap().max_memory, Some(1 << 20));
    let e = |a: &[&str]| run(a).unwrap_err().0;
    assert_eq!(
        e(&["--max-memory", "16"]),
        "--max-memory: must be at least 65536 bytes"
    );
    for bad in ["", "M", "1.5M", "-1", "12T", "99999999999999999999G"] {
        assert_eq!(
            e(&["--max-memory", bad]),
            format!("--max-memory: '{bad}' is not a size (bytes, or K, M, G)")
        );
    }
    assert_eq!(e(&["--max-memory"]), "--max-memory needs a value");
}

#[test]
fn admission_flags() {
    let o = run(&[]).unwrap();
    assert_eq!(
        (o.startups_begin, o.startups_rate, o.max_unauth),
        (10, 30, 32)
    );
    assert_eq!((o.max_unauth_per_net, o.kex_timeout_secs), (16, 10));
    assert_eq!(o.penalties, Some(PenaltySecs::default()));
    let o = run(&[
        "--max-startups",
        "5:50:40",
        "--max-unauth-per-net=8",
        "--kex-timeout",
        "3",
        "--penalties",
        "authfail:7,noauth:0,grace-exceeded:30,min:20",
    ])
    .unwrap();
    assert_eq!(
        (o.startups_begin, o.startups_rate, o.max_unauth),
        (5, 50, 40)
    );
    assert_eq!((o.max_unauth_per_net, o.kex_timeout_secs), (8, 3));
    let p = o.penalties.unwrap();
    assert_eq!((p.authfail, p.noauth, p.grace, p.min), (7, 0, 30, 20));
    assert_eq!((p.protocol, p.max), (10, 600));
    assert_eq!(run(&["--penalties", "off"]).unwrap().penalties, None);
    // One number: a hard limit, no random drop; --max-unauth after it sets full.
    let o = run(&["--max-startups", "20"]).unwrap();
    assert_eq!(
        (o.startups_begin, o.startups_rate, o.max_unauth),
        (20, 100, 20)
    );
    let o = run(&["--max-startups", "4:30:8", "--max-unauth", "6"]).unwrap();
    assert_eq!((o.startups_begin, o.max_unauth), (4, 6));
    let e = |a: &[&str]| run(a).unwrap_err().0;
    assert_eq!(
        e(&["--max-startups", "10:30"]),
        "--max-startups: '10:30' is not start:rate:full"
    );
    assert!(e(&["--max-startups", "20:30:10"]).contains("start <= full"));
    assert!(e(&["--max-startups", "1:101:10"]).contains("rate <= 100"));
    assert!(e(&["--max-startups", "0"]).contains("full >= 1"));
    assert_eq!(
        e(&["--penalties", "crash:90"]),
        "--penalties: 'crash:90' is not kind:seconds"
    );
    assert_eq!(
        e(&["--penalties", "min:5,max:4"]),
        "--penalties: min must not exceed max"
    );
    assert_eq!(
        e(&["--kex-timeout", "0"]),
        "--kex-timeout: must be at least 1"
    );
    assert_eq!(
        e(&["--max-unauth-per-net", "0"]),
        "--max-unauth-per-net: must be between 1 and 1024"
    );
}

#[test]
fn file_transfer_flags() {
    let r = run(&["--sftp-server", "/usr/lib/sftp-server", "--builtin-scp"]);
    if cfg!(feature = "scp") {
        let o = r.unwrap();
        assert_eq!(o.sftp_server, Some("/usr/lib/sftp-server".into()));
        assert!(o.builtin_scp && !o.no_sftp);
    } else {
        assert_eq!(
            r.unwrap_err().0,
            "--builtin-scp: this quoll has no built-in scp"
        );
    }
    let o = run(&["--no-sftp", "--sftp-server=/x"]).unwrap();
    assert!(o.no_sftp);
    assert_eq!(o.sftp_server, Some("/x".into()));
}
