//! passwd and group lookups.
//!
//! On musl the files are read here: musl has no NSS either (only nscd, which routers do not
//! run), and its getpw*/getgr*/getgrouplist code, with the stdio it needs, is about 10 KB of a
//! static binary. glibc builds ask the C library, so NSS sources (LDAP, sssd, systemd) work.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// Login shell; `/bin/sh` when the passwd field is empty.
    pub shell: String,
}

#[cfg(not(target_env = "musl"))]
impl From<crate::sys::pwd::Passwd> for User {
    fn from(p: crate::sys::pwd::Passwd) -> User {
        User {
            // passwd(5): an empty shell field means /bin/sh.
            shell: if p.shell.is_empty() {
                "/bin/sh".to_owned()
            } else {
                p.shell
            },
            name: p.name,
            uid: p.uid,
            gid: p.gid,
            home: p.home,
        }
    }
}

/// getpwnam
pub fn by_name(name: &str) -> Option<User> {
    lookup(name).ok().flatten()
}

/// getpwnam, telling a user who is not there (`Ok(None)`) from a database that could not be
/// read (`Err`: too many open files, an unreadable /etc/passwd, NSS down). A login refused
/// for the second reason must not be logged as one for a nonexistent user.
pub fn lookup(name: &str) -> std::io::Result<Option<User>> {
    if name.is_empty() || name.as_bytes().contains(&0) {
        // Cannot be in passwd (and must not be truncated into a name that is).
        return Ok(None);
    }
    #[cfg(target_env = "musl")]
    return Ok(scan(&read_accounts("/etc/passwd")?, |l| {
        passwd_entry(l).filter(|u| u.name == name)
    }));
    #[cfg(not(target_env = "musl"))]
    crate::sys::pwd::by_name(name).map(|p| p.map(User::from))
}

/// getpwuid
pub fn by_uid(uid: u32) -> Option<User> {
    #[cfg(target_env = "musl")]
    return each_line("/etc/passwd", |l| passwd_entry(l).filter(|u| u.uid == uid));
    #[cfg(not(target_env = "musl"))]
    crate::sys::pwd::by_uid(uid).map(User::from)
}

/// getgrnam: the gid of a group (e.g. `tty`, which owns terminals).
pub fn group_id(name: &str) -> Option<u32> {
    if name.is_empty() || name.as_bytes().contains(&0) {
        return None;
    }
    #[cfg(target_env = "musl")]
    return each_line("/etc/group", |l| {
        group_entry(l).and_then(|(n, gid, _)| (n == name).then_some(gid))
    });
    #[cfg(not(target_env = "musl"))]
    crate::sys::pwd::group_id(name)
}

/// The name of group `gid` from /etc/group (for `ls -l`-style listings; a miss shows the
/// number, so files are enough everywhere).
pub fn group_name(gid: u32) -> Option<String> {
    each_line("/etc/group", |l| {
        group_entry(l).and_then(|(n, g, _)| (g == gid).then(|| n.to_string()))
    })
}

/// The groups a session of `user` (primary group `gid`) runs with, for setgroups(2): the
/// primary group first, then every group that lists the user as a member (getgrouplist).
/// `None` if the group database cannot be read or the user is in more than
/// `config::MAX_GROUPS` groups: a session never starts with fewer groups than it should.
pub fn groups(user: &str, gid: u32) -> Option<Vec<u32>> {
    #[cfg(target_env = "musl")]
    return match read_accounts("/etc/group") {
        Ok(text) => groups_in(&text, user, gid),
        // No group file: no supplementary groups (as musl's getgrouplist has it).
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(vec![gid]),
        Err(_) => None,
    };
    #[cfg(not(target_env = "musl"))]
    crate::sys::pwd::groups(user, gid)
}

/// Is `user` (primary group `gid`) a member of group `group`?
pub fn in_group(user: &str, gid: u32, group: u32) -> bool {
    gid == group || groups(user, gid).is_some_and(|g| g.contains(&group))
}

/// A line of passwd(5): `name:password:uid:gid:gecos:home:shell`. Lines that do not parse
/// (wrong field count, non-numeric ids, NIS `+`/`-` entries, non-UTF-8) are no user.
#[cfg_attr(not(target_env = "musl"), allow(dead_code))]
fn passwd_entry(line: &str) -> Option<User> {
    let mut f = line.splitn(7, ':');
    let name = f.next()?;
    let _password = f.next()?;
    let uid = id(f.next()?)?;
    let gid = id(f.next()?)?;
    let _gecos = f.next()?;
    let home = f.next()?;
    let shell = f.next()?;
    if name.is_empty() || name.starts_with(['+', '-']) {
        return None;
    }
    Some(User {
        name: name.to_string(),
        uid,
        gid,
        home: home.to_string(),
        // passwd(5): an empty shell field means /bin/sh.
        shell: if shell.is_empty() { "/bin/sh" } else { shell }.to_string(),
    })
}

/// A line of group(5): `name:password:gid:member,member`, as (name, gid, members).
fn group_entry(line: &str) -> Option<(&str, u32, &str)> {
    let mut f = line.splitn(4, ':');
    let name = f.next()?;
    let _password = f.next()?;
    let gid = id(f.next()?)?;
    let members = f.next()?;
    (!name.is_empty() && !name.starts_with(['+', '-'])).then_some((name, gid, members))
}

/// A uid or gid field: decimal digits only (`parse` would also take a sign).
fn id(field: &str) -> Option<u32> {
    field
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| field.parse().ok())?
}

/// getgrouplist over a group file's text.
#[cfg_attr(not(target_env = "musl"), allow(dead_code))]
fn groups_in(text: &[u8], user: &str, gid: u32) -> Option<Vec<u32>> {
    let mut list = vec![gid];
    // Stops early (Some) only when there are too many.
    let stopped = scan(text, |l| {
        let (_, g, members) = group_entry(l)?;
        if members.split(',').any(|m| m == user) && !list.contains(&g) {
            if list.len() == crate::config::MAX_GROUPS {
                return Some(());
            }
            list.push(g);
        }
        None
    });
    stopped.is_none().then_some(list)
}

/// An account file (/etc/passwd, /etc/group, /etc/shadow), whole and wiped when dropped. An
/// error when it cannot be read or is larger than `config::MAX_ACCOUNTS_FILE` (that one is
/// logged): a lookup then answers nothing, never a guess from part of the file.
pub(crate) fn read_accounts(path: &str) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    let max = crate::config::MAX_ACCOUNTS_FILE;
    let c = crate::readfile::read_path(std::path::Path::new(path), max)?;
    if c.truncated {
        log::warn!("{path}: larger than {max} bytes, not read");
        return Err(crate::ioerr::other(format!(
            "{path}: larger than {max} bytes"
        )));
    }
    Ok(c.data)
}

/// The first `Some` that `f` returns for a line of the file at `path`.
fn each_line<T>(path: &str, f: impl FnMut(&str) -> Option<T>) -> Option<T> {
    scan(&read_accounts(path).ok()?, f)
}

/// The first `Some` that `f` returns for a line of `text` (lines that are not UTF-8 are
/// skipped).
fn scan<T>(text: &[u8], mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
    text.split(|&b| b == b'\n')
        .find_map(|line| std::str::from_utf8(line).ok().and_then(&mut f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_by_name_and_uid() {
        let r = by_name("root").expect("root exists");
        assert_eq!(r.uid, 0);
        assert_eq!(r.gid, 0);
        assert!(!r.shell.is_empty());
        assert_eq!(by_uid(0), Some(r));
    }

    #[test]
    fn unknown_and_bad_names() {
        assert_eq!(by_name("no-such-user-quoll-test"), None);
        assert_eq!(by_name("ro\0ot"), None);
        assert_eq!(by_name(""), None);
    }

    #[test]
    fn group_lookups() {
        assert!(in_group("root", 0, 0));
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-quoll-test"), None);
    }

    #[test]
    fn passwd_lines() {
        let u = passwd_entry("alice:x:1000:100:Alice,,,:/home/alice:/bin/ash").unwrap();
        assert_eq!((u.name.as_str(), u.uid, u.gid), ("alice", 1000, 100));
        assert_eq!(
            (u.home.as_str(), u.shell.as_str()),
            ("/home/alice", "/bin/ash")
        );
        assert_eq!(passwd_entry("bob:x:5:5::/:").unwrap().shell, "/bin/sh");
        // The last field takes the rest of the line, as in the C libraries.
        assert_eq!(
            passwd_entry("c:x:1:1::/:/bin/a:b").unwrap().shell,
            "/bin/a:b"
        );
        for bad in [
            "",
            "# comment",
            "short:x:1:1::/",
            "neg:x:-1:1::/:/bin/sh",
            "big:x:4294967296:1::/:/bin/sh",
            "sign:x:+1:1::/:/bin/sh",
            "gid:x:1::::/bin/sh",
            ":x:1:1::/:/bin/sh",
            "+nis:x:1:1::/:/bin/sh",
            "-nis:x:1:1::/:/bin/sh",
        ] {
            assert_eq!(passwd_entry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn group_lines() {
        assert_eq!(
            group_entry("wheel:x:10:root,alice"),
            Some(("wheel", 10, "root,alice"))
        );
        assert_eq!(group_entry("empty:x:11:"), Some(("empty", 11, "")));
        assert_eq!(group_entry("nomembers:x:12"), None);
        assert_eq!(group_entry("bad:x:z:a"), None);
        assert_eq!(group_entry("+:x:1:a"), None);
    }

    #[test]
    fn group_lists() {
        // A line that is not UTF-8 is skipped, the rest still read.
        let bytes: &[u8] = b"wheel:x:10:root,alice\nusers:x:100:\nnot utf8 \xff\n\
            audio:x:29:bob,alice\ndup:x:10:alice\nprimary:x:100:alice\nsub:x:30:alicex,xalice\n";
        assert_eq!(groups_in(bytes, "alice", 100), Some(vec![100, 10, 29]));
        assert_eq!(groups_in(bytes, "bob", 7), Some(vec![7, 29]));
        assert_eq!(groups_in(bytes, "carol", 7), Some(vec![7]));
        let max = crate::config::MAX_GROUPS as u32;
        let many: String = (1..max).map(|g| format!("g{g}:x:{g}:u\n")).collect();
        assert_eq!(
            groups_in(many.as_bytes(), "u", 0).map(|g| g.len()),
            Some(max as usize)
        );
        let over = format!("{many}last:x:{max}:u\n");
        assert_eq!(groups_in(over.as_bytes(), "u", 0), None, "over MAX_GROUPS");
    }

    #[test]
    fn account_files_are_read_whole_or_not_at_all() {
        let e = read_accounts("/nonexistent/group").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        let p = std::env::temp_dir().join(format!("quoll-users-{}", std::process::id()));
        let mut big = b"a:x:1:u\n".repeat(crate::config::MAX_ACCOUNTS_FILE / 8);
        std::fs::write(&p, &big).unwrap();
        let path = p.to_str().unwrap();
        assert_eq!(read_accounts(path).unwrap().len(), big.len());
        big.push(b'\n');
        std::fs::write(&p, &big).unwrap();
        assert!(read_accounts(path).is_err(), "one byte over the bound");
        std::fs::remove_file(&p).unwrap();
    }

    /// On glibc the lookups go through the C library; the file parsers must agree with it
    /// on every local entry (on musl they are what the lookups use).
    #[test]
    fn file_parsers_agree_with_the_c_library() {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        for line in passwd.lines() {
            let Some(u) = passwd_entry(line) else {
                continue;
            };
            assert_eq!(by_name(&u.name), Some(u.clone()), "{line}");
            let mine = groups_in(&std::fs::read("/etc/group").unwrap(), &u.name, u.gid);
            let mut theirs = groups(&u.name, u.gid);
            if let (Some(a), Some(b)) = (mine.as_ref(), theirs.as_mut()) {
                assert_eq!(a[0], b[0], "{line}");
                b.sort_unstable();
                let mut a = a.clone();
                a.sort_unstable();
                assert_eq!(a, *b, "{line}");
            } else {
                assert_eq!(mine, theirs, "{line}");
            }
        }
        let group = std::fs::read_to_string("/etc/group").unwrap();
        for line in group.lines() {
            let Some((name, gid, _)) = group_entry(line) else {
                continue;
            };
            assert_eq!(group_id(name), Some(gid), "{line}");
            assert!(group_name(gid).is_some(), "{line}");
        }
    }

    #[test]
    fn current_user_round_trips() {
        let uid = crate::sys::ids::uid();
        if let Some(u) = by_uid(uid) {
            assert_eq!(by_name(&u.name).map(|v| v.uid), Some(uid));
        }
    }
}
