//! Every command-line flag in one table: `quoll -h` (`USAGE`, built from it at compile time),
//! the README's two flag tables and the OPTIONS section of the man page `docs/quoll.8`
//! (checked against it by tests, which rewrite them with `QUOLL_UPDATE_README=1`) cannot
//! drift apart. Only the help text reaches the binary.

/// One flag: as `quoll -h` shows it, and its README row.
pub struct Flag {
    /// The flag and its argument, as `quoll -h` shows them.
    pub usage: &'static str,
    /// `quoll -h`'s text; lines after the first are indented under it.
    pub help: &'static str,
    /// The README row (flag cell, meaning); `None` when the row before covers this flag too.
    pub readme: Option<(&'static str, &'static str)>,
}

/// Dropbear's flags, with Dropbear's meanings.
pub const DROPBEAR: &[Flag] = &[
    Flag {
        usage: "-p [address:]port",
        help: "Listen on this port and address (up to 10; default port 22)",
        readme: Some(("`-p [addr:]port`", "listen here (repeatable, up to 10; default port 22 on every IPv4 and IPv6 address)")),
    },
    Flag {
        usage: "-r keyfile",
        help: "Ed25519 host key (default /etc/quoll/ssh_host_ed25519_key; run as\ndropbear /etc/dropbear/dropbear_ed25519_host_key); repeatable, keys\nof other types are ignored with a warning",
        readme: Some(("`-r keyfile`", "Ed25519 host key in OpenSSH's or Dropbear's format (default `/etc/quoll/ssh_host_ed25519_key`, run as `dropbear` `/etc/dropbear/dropbear_ed25519_host_key`; created if missing). Repeatable as in Dropbear: the first file holding an Ed25519 key is used, the others (`dropbear_rsa_host_key` ...) are ignored with a warning; when every one is an RSA, ECDSA or DSS key, `dropbear_ed25519_host_key` in the first one's directory is used, created at the first connection as with `-R`")),
    },
    Flag {
        usage: "-R",
        help: "Create the host key at the first connection if missing",
        readme: Some(("`-R`", "create the host key at the first connection instead of at start")),
    },
    Flag {
        usage: "-F",
        help: "Don't fork into background",
        readme: Some(("`-F`", "stay in the foreground (prints `Not backgrounding` once listening)")),
    },
    Flag {
        usage: "-E",
        help: "Log to stderr rather than syslog",
        readme: Some(("`-E`", "log to stderr instead of syslog (facility authpriv)")),
    },
    Flag {
        usage: "-P pidfile",
        help: "Write the daemon's pid here (removed on exit)",
        readme: Some(("`-P pidfile`", "write the daemon's pid there (mode 0644 whatever the umask, written whole and renamed into place, so a symlink there is replaced, never written through); removed on exit")),
    },
    Flag {
        usage: "-i",
        help: "Service program mode (inetd): one connection on stdin/stdout",
        readme: Some(("`-i`", "inetd mode: serve one connection on stdin/stdout, then exit (they may be two pipes, as with `ssh -o ProxyCommand='quoll -i ...'`); exit status 0 when the client closed or disconnected or a time limit ended it, 1 on an error (protocol, key exchange, too many authentication failures, keepalive, a socket error), as Dropbear's")),
    },
    Flag {
        usage: "-l interface",
        help: "Listen only on this interface (SO_BINDTODEVICE)",
        readme: Some(("`-l interface`", "bind the listeners to this network interface (`SO_BINDTODEVICE`)")),
    },
    Flag {
        usage: "-D dir",
        help: "Read authorized_keys from dir instead of ~/.ssh",
        readme: Some(("`-D dir`", "read `dir/authorized_keys` instead of `~user/.ssh/authorized_keys`")),
    },
    Flag {
        usage: "-b bannerfile",
        help: "Display the contents of bannerfile before user login",
        readme: Some(("`-b file`", "send this banner (at most 2000 bytes) before authentication")),
    },
    Flag {
        usage: "-s",
        help: "Disable password logins",
        readme: Some(("`-s`", "no password logins (public keys only)")),
    },
    Flag {
        usage: "-g",
        help: "Disable password logins for root",
        readme: Some(("`-g`", "no password logins for root")),
    },
    Flag {
        usage: "-B",
        help: "Allow blank password logins",
        readme: Some(("`-B`", "accounts with a blank password may log in: without a prompt (the `none` method, as with Dropbear), or with any password typed")),
    },
    Flag {
        usage: "-t",
        help: "Enable two-factor authentication (both password and public key required)",
        readme: Some(("`-t`", "a key and then a password, both required (the key answers \"partial success\")")),
    },
    Flag {
        usage: "-w",
        help: "Disallow root logins",
        readme: Some(("`-w`", "no root logins")),
    },
    Flag {
        usage: "-G group",
        help: "Disallow logins for users outside this group",
        readme: Some(("`-G group`", "only members of this group (primary or supplementary) may log in")),
    },
    Flag {
        usage: "-T n",
        help: "Maximum authentication tries (default 10)",
        readme: Some(("`-T n`", "authentication attempts per connection (default 10)")),
    },
    Flag {
        usage: "-c command",
        help: "Force executed command",
        readme: Some(("`-c command`", "run this command for every session (the client's is in `SSH_ORIGINAL_COMMAND`); wins over authorized_keys `command=`")),
    },
    Flag {
        usage: "-e",
        help: "Pass on server process environment to child process",
        readme: Some(("`-e`", "sessions inherit quoll's own environment (after the variables quoll sets and the client's `env` requests)")),
    },
    Flag {
        usage: "-W window",
        help: "Receive window per channel in bytes (default 262144, max 1048576);\na channel whose upload outruns it doubles it up to the max\nwhile the memory budget has room",
        readme: Some(("`-W bytes`", "receive window per channel at open (default 262144); doubled, up to 1 MiB, while an upload outruns it and the memory budget has room beyond a full house of connections")),
    },
    Flag {
        usage: "-K timeout",
        help: "Keepalive: ask the client after this many seconds of silence,\ndisconnect after 3 unanswered (0 is never, the default)",
        readme: Some(("`-K seconds`", "after this much silence from the client send `keepalive@openssh.com` (want reply); 3 unanswered and the connection is dropped. 0 (default): never")),
    },
    Flag {
        usage: "-I timeout",
        help: "Disconnect after this many seconds without traffic (0: never)",
        readme: Some(("`-I seconds`", "disconnect after this long without traffic (keepalives do not count). 0 (default): never")),
    },
    Flag {
        usage: "-M seconds",
        help: "Disconnect a connection after this many seconds (0: never)",
        readme: Some(("`-M seconds`", "disconnect a connection this long after it started. 0 (default): never")),
    },
    Flag {
        usage: "-j",
        help: "Disable local port forwarding",
        readme: Some(("`-j`, `-k`", "refuse local (`ssh -L`) / remote (`ssh -R`) port forwarding")),
    },
    Flag {
        usage: "-k",
        help: "Disable remote port forwarding",
        readme: None,
    },
    Flag {
        usage: "-a",
        help: "Allow connections to forwarded ports from any host",
        readme: Some(("`-a`", "remote-forwarded ports listen on the address asked for (default: loopback only)")),
    },
    Flag {
        usage: "-m",
        help: "Don't display the motd on login (quoll never does)",
        readme: Some(("`-m`, `-z`", "accepted: quoll shows no motd and sets no QoS marks")),
    },
    Flag {
        usage: "-z",
        help: "Disable QoS (quoll sets none)",
        readme: None,
    },
    Flag {
        usage: "-Q kex|sig|key|cipher|mac",
        help: "Print the supported algorithms of that kind, one per line",
        readme: Some(("`-Q kex\\|sig\\|key\\|cipher\\|mac`", "print the supported algorithms of that kind, one per line, as `ssh -Q` does (`sig` the signature algorithms user keys may use, `key` the user key and certificate types, both as built; `mac` lists the MACs of the AES-CTR ciphers, nothing in a build without the `aes` feature)")),
    },
    Flag {
        usage: "-V",
        help: "Version",
        readme: Some(("`-V`, `-h`", "version, help")),
    },
    Flag {
        usage: "-h",
        help: "This help",
        readme: None,
    },
];

/// quoll's own, long so they never clash with Dropbear's letters.
pub const QUOLL: &[Flag] = &[
    Flag {
        usage: "--max-conns n",
        help: "Maximum simultaneous connections (default 64)",
        readme: Some(("`--max-conns n`", "simultaneous connections (default 64, at most 1024)")),
    },
    Flag {
        usage: "--max-unauth n",
        help: "Maximum connections not yet logged in (default 32)",
        readme: Some(("`--max-unauth n`", "connections that have not logged in yet, in total (default 32; the `full` of `--max-startups`)")),
    },
    Flag {
        usage: "--max-unauth-per-addr n",
        help: "... from one source address (default 10)",
        readme: Some(("`--max-unauth-per-addr n`", "... from one source address (default 10)")),
    },
    Flag {
        usage: "--max-unauth-per-net n",
        help: "... from one IPv4 /24 or IPv6 /64 (default 16)",
        readme: Some(("`--max-unauth-per-net n`", "... from one network, an IPv4 /24 or IPv6 /64 (default 16)")),
    },
    Flag {
        usage: "--max-startups start:rate:full",
        help: "From start unauthenticated connections on, drop new ones from\nthe busiest network at random, rate% rising to 100% at full\n(default 10:30:32; full is --max-unauth)",
        readme: Some(("`--max-startups start:rate:full`", "OpenSSH's MaxStartups: from `start` connections not logged in, a new one from the network holding the most is dropped at random, with a probability rising from `rate`% to 100% at `full` (default `10:30:32`). `full` is `--max-unauth` (whichever flag comes last sets it); one number `n` means `n:100:n`, no random drop")),
    },
    Flag {
        usage: "--kex-timeout s",
        help: "Seconds to finish the key exchange (default 10)",
        readme: Some(("`--kex-timeout seconds`", "time to finish the key exchange, before the login grace time applies (default 10)")),
    },
    Flag {
        usage: "--penalties off|kind:secs,...",
        help: "Refuse sources whose connections fail: authfail:5, noauth:1,\nprotocol:10, grace:10 seconds each, refused once more than\nmin:15 are pending, for at most max:600 (the defaults)",
        readme: Some(("`--penalties off\\|kind:seconds,...`", "per-source penalties (OpenSSH's PerSourcePenalties, see [What happens at a limit](#limits-and-memory)); kinds `authfail`, `noauth`, `protocol`, `grace`, `min`, `max`, defaults `authfail:5,noauth:1,protocol:10,grace:10,min:15,max:600`")),
    },
    Flag {
        usage: "--max-sessions n",
        help: "Session channels per connection (default 16, at most 16)",
        readme: Some(("`--max-sessions n`", "channels (sessions and tunnels) per connection (default and at most 16)")),
    },
    Flag {
        usage: "--login-grace s",
        help: "Seconds a connection may take to log in (default 120)",
        readme: Some(("`--login-grace seconds`", "time to log in (default 120)")),
    },
    Flag {
        usage: "--max-memory bytes",
        help: "Memory for connection and channel buffers, all connections\ntogether (K, M, G suffixes; default a quarter of RAM, at most 64M\nand half of a ulimit -v); beyond it connections and channels are\nrefused",
        readme: Some(("`--max-memory bytes`", "memory for the connection and channel buffers of all connections together, `K`, `M`, `G` allowed (default a quarter of RAM, at most 64M, at most half of a `ulimit -v`; see [Limits and memory](#limits-and-memory))")),
    },
    Flag {
        usage: "--permit-user-env",
        help: "Honour environment=\"NAME=value\" in authorized_keys",
        readme: Some(("`--permit-user-env`", "apply authorized_keys `environment=\"NAME=value\"` options (ignored without it, as OpenSSH's `PermitUserEnvironment no`)")),
    },
    Flag {
        usage: "--trusted-user-ca-keys FILE",
        help: "User CA keys (one public key a line): a certificate one of them\nsigned logs in the users it names",
        readme: Some(("`--trusted-user-ca-keys FILE`", "CAs trusted for every user (OpenSSH's TrustedUserCAKeys): one public key a line; a user certificate signed by one of them logs in a user whose name is among its principals (see [Certificates](#certificates))")),
    },
    Flag {
        usage: "--revoked-keys FILE",
        help: "Public keys refused at login, one a line (keys and CAs)",
        readme: Some(("`--revoked-keys FILE`", "refuse these public keys at login, one a line (OpenSSH's RevokedKeys as plain keys): a key listed, a certificate of a listed key, and every certificate of a listed CA; an unreadable file refuses every key")),
    },
    Flag {
        usage: "--root-keys FILE",
        help: "Root's keys also from FILE (OpenWrt: /etc/dropbear/authorized_keys,\nthe default when run as dropbear)",
        readme: Some(("`--root-keys FILE`", "root's public keys are also read from FILE, after `~root/.ssh/authorized_keys` (or `-D`), with the same owner and mode checks; OpenWrt's LuCI writes `/etc/dropbear/authorized_keys`, which is the default when quoll runs as `dropbear`")),
    },
    Flag {
        usage: "--syslog-ident name",
        help: "Name in syslog lines (default quoll; `dropbear` for fail2ban's\nstock filter)",
        readme: Some(("`--syslog-ident name`", "the program name in syslog lines (default `quoll`; see fail2ban below)")),
    },
    Flag {
        usage: "--sftp-server PATH",
        help: "Run PATH for the sftp subsystem instead of the built-in server\n(a quoll built without one looks in /usr/libexec, /usr/lib/openssh)",
        readme: Some(("`--sftp-server PATH`, `--no-sftp`, `--builtin-scp`", "file transfer, see below")),
    },
    Flag {
        usage: "--no-sftp",
        help: "Refuse the sftp subsystem",
        readme: None,
    },
    Flag {
        usage: "--builtin-scp",
        help: "Serve scp -t/-f built-in even when scp is on PATH (default:\nonly when it is not)",
        readme: None,
    },
];

const HEADER: &str = "Usage: quoll [options]\n       quoll keygen -f FILE [-C comment]   create an Ed25519 host key\n       quoll keygen -y -f FILE             print a key's public line and fingerprint\nOptions:\n";
/// The help text's flag column: a flag longer than this gets a line of its own.
const COLUMN: usize = 16;

/// Writes (or, with `out` empty, only measures) the help text; returns its length.
const fn render(out: &mut [u8]) -> usize {
    let mut at = put(out, 0, HEADER.as_bytes());
    let tables = [DROPBEAR, QUOLL];
    let mut t = 0;
    while t < tables.len() {
        let mut i = 0;
        while i < tables[t].len() {
            let f = &tables[t][i];
            at = put(out, at, f.usage.as_bytes());
            if f.usage.len() < COLUMN {
                at = pad(out, at, COLUMN - f.usage.len());
            } else {
                at = put(out, at, b"\n");
                at = pad(out, at, COLUMN);
            }
            let help = f.help.as_bytes();
            let mut j = 0;
            while j < help.len() {
                at = put_byte(out, at, help[j]);
                if help[j] == b'\n' {
                    at = pad(out, at, COLUMN);
                }
                j += 1;
            }
            at = put(out, at, b"\n");
            i += 1;
        }
        t += 1;
    }
    at
}

const fn put_byte(out: &mut [u8], at: usize, b: u8) -> usize {
    if !out.is_empty() {
        out[at] = b;
    }
    at + 1
}

const fn put(out: &mut [u8], mut at: usize, s: &[u8]) -> usize {
    let mut i = 0;
    while i < s.len() {
        at = put_byte(out, at, s[i]);
        i += 1;
    }
    at
}

const fn pad(out: &mut [u8], mut at: usize, n: usize) -> usize {
    let mut i = 0;
    while i < n {
        at = put_byte(out, at, b' ');
        i += 1;
    }
    at
}

const USAGE_LEN: usize = render(&mut []);
const USAGE_BYTES: [u8; USAGE_LEN] = {
    let mut b = [0u8; USAGE_LEN];
    render(&mut b);
    b
};
/// What `quoll -h` prints.
pub const USAGE: &str = match core::str::from_utf8(&USAGE_BYTES) {
    Ok(s) => s,
    Err(_) => panic!("the help text is not UTF-8"),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table for `flags`, as it must read.
    fn table(flags: &[Flag]) -> String {
        let mut t = String::from("| flag | meaning |\n|---|---|\n");
        for (cell, meaning) in flags.iter().filter_map(|f| f.readme) {
            t += &format!("| {cell} | {meaning} |\n");
        }
        t
    }

    #[test]
    fn the_readme_flag_tables_are_the_ones_in_this_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let mut updated = readme.clone();
        for (flags, after) in [
            (DROPBEAR, "Dropbear's flags, with Dropbear's meanings"),
            (QUOLL, "quoll's own, long so they never clash"),
        ] {
            let start = updated.find(after).expect("the table's introduction") + after.len();
            let start = start + updated[start..].find("| flag |").expect("a table");
            let end = start
                + updated[start..]
                    .find("\n\n")
                    .expect("a blank line after it")
                + 1;
            let want = table(flags);
            if updated[start..end] != want {
                updated.replace_range(start..end, &want);
            }
        }
        if updated != readme && std::env::var_os("QUOLL_UPDATE_README").is_some() {
            std::fs::write(path, &updated).unwrap();
            return;
        }
        assert!(
            updated == readme,
            "README.md's flag tables differ from src/flags.rs: \
             QUOLL_UPDATE_README=1 cargo test --lib flags rewrites them"
        );
    }

    /// A README cell as roff: `code` in bold (its hyphens as `\-`, minus signs in a flag),
    /// links as their text, the table's escaped `|` as itself, backslashes escaped, a leading
    /// dot made text.
    fn roff(markdown: &str) -> String {
        let text = markdown.replace("\\|", "|");
        let mut out = String::new();
        let mut rest = text.as_str();
        // Links: [text](#anchor) -> text.
        let mut plain = String::new();
        while let Some(at) = rest.find("](") {
            let open = rest[..at].rfind('[').expect("a link's [");
            let close = at + rest[at..].find(')').expect("a link's )");
            plain += &rest[..open];
            plain += &rest[open + 1..at];
            rest = &rest[close + 1..];
        }
        plain += rest;
        for (i, part) in plain.split('`').enumerate() {
            let part = part.replace('\\', "\\e");
            if i % 2 == 1 {
                out += &format!("\\fB{}\\fR", part.replace('-', "\\-"));
            } else {
                out += &part;
            }
        }
        // A line starting with a dot or a quote would be a request.
        if out.starts_with(['.', '\'']) {
            out.insert_str(0, "\\&");
        }
        out
    }

    /// Text lines of at most 80 bytes where the words allow (mandoc's style); a line break
    /// never falls before a dot, which would make the next line a request.
    fn wrap(text: &str) -> String {
        let mut out = String::new();
        let mut line = String::new();
        for word in text.split(' ') {
            if !line.is_empty()
                && line.len() + 1 + word.len() > 80
                && !word.starts_with(['.', '\''])
            {
                out += &line;
                out.push('\n');
                line.clear();
            } else if !line.is_empty() {
                line.push(' ');
            }
            line += word;
        }
        out + &line
    }

    /// The man page's OPTIONS section, as it must read: the README's rows as tagged paragraphs.
    fn man_options() -> String {
        let mut t = String::from(".SH OPTIONS\n");
        for (flags, title) in [
            (DROPBEAR, "Dropbear's flags, with Dropbear's meanings"),
            (
                QUOLL,
                "quoll's own flags, long so they never clash with Dropbear's letters",
            ),
        ] {
            t += &format!(".SS \"{title}\"\n");
            for (cell, meaning) in flags.iter().filter_map(|f| f.readme) {
                t += &format!(".TP\n{}\n{}\n", roff(cell), wrap(&roff(meaning)));
            }
        }
        t
    }

    #[test]
    fn the_man_page_options_are_the_ones_in_this_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/quoll.8");
        let page = std::fs::read_to_string(path).unwrap();
        let start = page.find(".SH OPTIONS\n").expect("an OPTIONS section");
        let end = start
            + 1
            + page[start + 1..]
                .find("\n.SH ")
                .expect("a section after it")
            + 1;
        let mut updated = page.clone();
        updated.replace_range(start..end, &man_options());
        if updated != page && std::env::var_os("QUOLL_UPDATE_README").is_some() {
            std::fs::write(path, &updated).unwrap();
            return;
        }
        assert!(
            updated == page,
            "docs/quoll.8's OPTIONS differ from src/flags.rs: \
             QUOLL_UPDATE_README=1 cargo test --lib flags rewrites them"
        );
    }

    #[test]
    fn markdown_becomes_roff() {
        assert_eq!(
            roff("`-Q kex\\|sig` as `ssh -Q` (see [Limits](#limits)) a\\b"),
            "\\fB\\-Q kex|sig\\fR as \\fBssh \\-Q\\fR (see Limits) a\\eb"
        );
        assert_eq!(roff("... more"), "\\&... more");
    }

    #[test]
    fn the_help_lists_every_flag_aligned() {
        assert!(USAGE.starts_with("Usage: quoll [options]\n"));
        for f in DROPBEAR.iter().chain(QUOLL) {
            let line = USAGE.lines().find(|l| l.starts_with(f.usage)).unwrap();
            let first = f.help.lines().next().unwrap();
            assert!(line.ends_with(first) || f.usage.len() >= COLUMN, "{line:?}");
            assert!(USAGE.contains(&format!("{:COLUMN$}{first}", "")) || line.ends_with(first));
        }
        assert!(USAGE.contains("-K timeout      Keepalive: ask the client after this many seconds of silence,\n                disconnect after 3 unanswered (0 is never, the default)\n"));
        assert!(USAGE.contains("--max-sessions n\n                Session channels per connection (default 16, at most 16)\n"));
    }
}
