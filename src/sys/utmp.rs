//! Login records of pty sessions: utmp (who is logged in now: `who`, `w`), wtmp (logins and
//! logouts: `last`) and lastlog (each user's latest login: `lastlog`), as login(1), OpenSSH
//! and Debian's Dropbear write them.
//!
//! Written by the daemon, only when it runs as root, only where the system has the files
//! (they are never created), and only on glibc builds: musl's utmpx functions do nothing, and
//! the tools that read utmp on a musl system (busybox `who`, `users`) read it through them,
//! so nothing there would show what quoll wrote.
//!
//! quoll writes the records itself rather than through glibc's `pututxline` and `updwtmpx`:
//! those wait up to 10 s (with SIGALRM) for a lock on the file, and any local user may hold a
//! read lock on the world-readable utmp, which would stall every connection of the one
//! process. Here the lock is tried a few times without blocking and the record is written
//! anyway. The layout is glibc's `struct utmp` for the target (the `libc` crate's `utmpx`).

use std::net::IpAddr;

/// A recorded pty session: what its logout record needs.
pub struct Record {
    #[cfg(target_env = "gnu")]
    line: [u8; LINE],
    #[cfg(target_env = "gnu")]
    id: [u8; 4],
    #[cfg(target_env = "gnu")]
    pid: i32,
}

impl Record {
    /// Records the start of a session on `tty` (`/dev/pts/N`) for the user `name` (`uid`)
    /// from `peer`, whose process is `pid` (it leads the session). `None` when quoll records
    /// nothing (not root, a musl build).
    pub fn start(tty: &str, name: &str, uid: u32, peer: IpAddr, pid: i32) -> Option<Record> {
        #[cfg(target_env = "gnu")]
        let login = (super::fsys::euid() == 0).then(|| gnu::start(tty, name, uid, peer, pid));
        #[cfg(not(target_env = "gnu"))]
        let login = {
            let _ = (tty, name, uid, peer, pid);
            None
        };
        login
    }
}

impl Drop for Record {
    /// The session is over: its utmp entry becomes DEAD_PROCESS, and wtmp gets the logout.
    fn drop(&mut self) {
        #[cfg(target_env = "gnu")]
        gnu::end(self);
    }
}

#[cfg(target_env = "gnu")]
const LINE: usize = 32;

#[cfg(target_env = "gnu")]
mod gnu {
    use super::{Record, LINE};
    use crate::sys::fsys::{self, OFlag};
    use std::fs::File;
    use std::io;
    use std::net::IpAddr;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    const UTMP: &str = "/var/run/utmp";
    const WTMP: &str = "/var/log/wtmp";
    const LASTLOG: &str = "/var/log/lastlog";
    const RECORD: usize = std::mem::size_of::<libc::utmpx>();
    /// utmp holds one entry per terminal line and boot process; a file this long is not one.
    const MAX_UTMP_RECORDS: usize = 4096;

    pub fn start(tty: &str, user: &str, uid: u32, peer: IpAddr, pid: i32) -> Record {
        let name = tty.strip_prefix("/dev/").unwrap_or(tty).as_bytes();
        let mut line = [0u8; LINE];
        let n = name.len().min(LINE);
        line[..n].copy_from_slice(&name[..n]);
        // The last four bytes of the line, as login(1) and OpenSSH make the id ("ts/3").
        let mut id = [0u8; 4];
        let tail = &name[name.len().saturating_sub(4)..];
        id[..tail.len()].copy_from_slice(tail);
        let login = Record { line, id, pid };

        // A v4 client on a dual-stack listener is ::ffff:a.b.c.d: record a.b.c.d.
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        let host = if peer.is_unspecified() {
            String::new() // -i on pipes: no address
        } else {
            crate::inet::Ip(peer).to_string()
        };
        let mut ut = entry(libc::USER_PROCESS, &login);
        copy(&mut ut.ut_user, user.as_bytes());
        copy(&mut ut.ut_host, host.as_bytes());
        if !peer.is_unspecified() {
            ut.ut_addr_v6 = addr_words(peer);
        }
        report(UTMP, put_utmp(&ut, false));
        report(WTMP, append_wtmp(&ut));
        report(LASTLOG, put_lastlog(uid, &ut));
        login
    }

    pub fn end(login: &Record) {
        let ut = entry(libc::DEAD_PROCESS, login);
        report(UTMP, put_utmp(&ut, true));
        report(WTMP, append_wtmp(&ut));
    }

    /// A record of `kind` for the session's line, id and pid, stamped now; no user or host
    /// (a logout record has none, as with glibc's logout(3) and OpenSSH).
    fn entry(kind: libc::c_short, login: &Record) -> libc::utmpx {
        // SAFETY: utmpx is plain old data (integers and byte arrays); all zeroes is valid.
        let mut ut: libc::utmpx = unsafe { std::mem::zeroed() };
        ut.ut_type = kind;
        ut.ut_pid = login.pid;
        copy(&mut ut.ut_line, &login.line);
        copy(&mut ut.ut_id, &login.id);
        ut.ut_session = login.pid as _; // the session leader
        let (sec, usec) = now();
        ut.ut_tv.tv_sec = sec as _;
        ut.ut_tv.tv_usec = usec as _;
        ut
    }

    /// The time of day: seconds and microseconds since the epoch.
    fn now() -> (i64, i64) {
        // SAFETY: timespec is plain old data; clock_gettime fills it (CLOCK_REALTIME cannot
        // fail on Linux).
        let t = unsafe {
            let mut t: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(libc::CLOCK_REALTIME, &mut t);
            t
        };
        (t.tv_sec as i64, t.tv_nsec as i64 / 1000)
    }

    /// `src` into a fixed field, cut to fit; the rest stays zero (no NUL when it is full, as
    /// the format has it).
    fn copy(field: &mut [libc::c_char], src: &[u8]) {
        for (d, s) in field.iter_mut().zip(src) {
            *d = *s as libc::c_char;
        }
    }

    /// The address as glibc stores it: network byte order, IPv4 in the first word.
    fn addr_words(ip: IpAddr) -> [i32; 4] {
        let mut bytes = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => bytes = v6.octets(),
        }
        let word =
            |i: usize| i32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        [word(0), word(4), word(8), word(12)]
    }

    fn as_bytes(ut: &libc::utmpx) -> &[u8] {
        // SAFETY: ut is a live utmpx of RECORD bytes, all of them initialised (it was zeroed
        // whole before its fields were set).
        unsafe { std::slice::from_raw_parts((ut as *const libc::utmpx).cast::<u8>(), RECORD) }
    }

    /// A missing file means the system keeps no such record: nothing to say. Anything else is
    /// logged; the session goes on.
    fn report(file: &str, r: io::Result<()>) {
        if let Err(e) = r {
            if e.kind() != io::ErrorKind::NotFound {
                log::warn!("{file}: {e}");
            }
        }
    }

    /// Opens an existing record file, never through a symlink at its name.
    fn open(file: &str, flags: OFlag) -> io::Result<File> {
        fsys::open(
            Path::new(file),
            flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
            0,
        )
    }

    /// Tries for the write lock readers and other writers of these files take (fcntl, whole
    /// file), without waiting: a few tries 1 ms apart. Whoever holds it longer (a local
    /// user can hold a read lock on utmp for ever) does not stop the record; it is written
    /// without the lock. The lock goes with the descriptor.
    fn try_lock(file: &File) {
        for attempt in 0..3 {
            // SAFETY: flock is plain old data; all zeroes is a valid value.
            let mut fl: libc::flock = unsafe { std::mem::zeroed() };
            fl.l_type = libc::F_WRLCK as _;
            fl.l_whence = libc::SEEK_SET as _;
            // SAFETY: F_SETLK reads one flock through the pointer, which is valid.
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) } == 0 {
                return;
            }
            if attempt < 2 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }

    fn field_eq(a: &[libc::c_char], b: &[libc::c_char]) -> bool {
        a.iter().zip(b).all(|(x, y)| x == y)
    }

    /// utmp is a table: the record replaces the entry for the same terminal id (a login
    /// reuses the entry of the line's last session, as glibc's pututxline does; a logout marks
    /// only this session's own entry) or, for a login, is added at the end.
    fn put_utmp(ut: &libc::utmpx, logout: bool) -> io::Result<()> {
        let file = open(UTMP, OFlag::O_RDWR)?;
        try_lock(&file);
        // SAFETY: utmpx is plain old data; all zeroes is a valid value.
        let mut rec: libc::utmpx = unsafe { std::mem::zeroed() };
        let mut at = None;
        let mut offset = 0u64;
        for _ in 0..MAX_UTMP_RECORDS {
            // SAFETY: rec is a live utmpx of RECORD bytes, written only as bytes here; any
            // bytes are a valid utmpx (integers and byte arrays).
            let buf = unsafe {
                std::slice::from_raw_parts_mut((&mut rec as *mut libc::utmpx).cast::<u8>(), RECORD)
            };
            if fsys::read_at(&file, buf, offset)? < RECORD {
                break;
            }
            let same_id = field_eq(&rec.ut_id, &ut.ut_id);
            let found = if logout {
                same_id && rec.ut_type == libc::USER_PROCESS && rec.ut_pid == ut.ut_pid
            } else {
                same_id
                    && [
                        libc::INIT_PROCESS,
                        libc::LOGIN_PROCESS,
                        libc::USER_PROCESS,
                        libc::DEAD_PROCESS,
                    ]
                    .contains(&rec.ut_type)
            };
            if found {
                at = Some(offset);
                break;
            }
            offset += RECORD as u64;
        }
        let at = match at {
            Some(at) => at,
            // Our entry is gone (the file was cleared): nothing to end.
            None if logout => return Ok(()),
            // At the end, over a torn record if the file has one.
            None => {
                let size = fsys::fstat(&file)?.size;
                size - size % RECORD as u64
            }
        };
        fsys::write_all_at(&file, as_bytes(ut), at)
    }

    /// wtmp is a log: the record goes at the end (after cutting a torn record, as glibc does,
    /// so the ones after it stay aligned).
    fn append_wtmp(ut: &libc::utmpx) -> io::Result<()> {
        let file = open(WTMP, OFlag::O_WRONLY)?;
        try_lock(&file);
        let size = fsys::fstat(&file)?.size;
        let end = size - size % RECORD as u64;
        if end != size {
            // SAFETY: ftruncate on a descriptor we own, integer arguments only.
            if unsafe { libc::ftruncate(file.as_raw_fd(), end as i64) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        fsys::write_all_at(&file, as_bytes(ut), end)
    }

    /// lastlog has no C library functions: the record of uid N is at N times its size
    /// (a sparse file). glibc's `struct lastlog`: the time (as wide as utmp's, 32 bits on
    /// x86_64 and 32-bit targets), the line (32 bytes), the host (256 bytes).
    fn put_lastlog(uid: u32, ut: &libc::utmpx) -> io::Result<()> {
        let time_len = std::mem::size_of_val(&ut.ut_tv.tv_sec);
        let mut rec = [0u8; 8 + 32 + 256];
        let len = time_len + 32 + 256;
        let sec = ut.ut_tv.tv_sec as i64;
        if time_len == 4 {
            rec[..4].copy_from_slice(&(sec as i32).to_ne_bytes());
        } else {
            rec[..8].copy_from_slice(&sec.to_ne_bytes());
        }
        for (d, s) in rec[time_len..]
            .iter_mut()
            .zip(ut.ut_line.iter().chain(&ut.ut_host))
        {
            *d = *s as u8;
        }
        let file = open(LASTLOG, OFlag::O_WRONLY)?;
        fsys::write_all_at(&file, &rec[..len], uid as u64 * len as u64)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn record_sizes_are_glibcs() {
            // struct utmp and struct lastlog as glibc's headers make them here.
            #[cfg(target_arch = "x86_64")]
            {
                assert_eq!(RECORD, 384);
                // SAFETY: utmpx is plain old data; all zeroes is a valid value.
                let ut: libc::utmpx = unsafe { std::mem::zeroed() };
                assert_eq!(std::mem::size_of_val(&ut.ut_tv.tv_sec), 4);
            }
        }

        #[test]
        fn entry_fields() {
            let login = Record {
                line: *b"pts/123\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                id: *b"/123",
                pid: 4321,
            };
            let ut = entry(libc::DEAD_PROCESS, &login);
            assert_eq!(ut.ut_type, libc::DEAD_PROCESS);
            assert_eq!(ut.ut_pid, 4321);
            assert_eq!(
                ut.ut_line[..8].iter().map(|&c| c as u8).collect::<Vec<_>>(),
                b"pts/123\0"
            );
            assert!(ut.ut_user.iter().all(|&c| c == 0));
            assert_eq!(
                addr_words("10.1.2.3".parse().unwrap())[0].to_ne_bytes(),
                [10, 1, 2, 3]
            );
            assert_eq!(
                addr_words("::1".parse().unwrap())[3].to_ne_bytes(),
                [0, 0, 0, 1]
            );
            std::mem::forget(login); // its Drop would write a logout record
        }
    }
}
