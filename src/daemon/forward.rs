//! Sockets for forwarding: non-blocking connects for `direct-tcpip` (names resolved by a
//! helper with a deadline, so a slow DNS server never stalls the loop), listeners for
//! `tcpip-forward`, and the per-session agent socket.

use super::helper::{Job, Progress};
use crate::sys::fd as fds;
use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

/// A `direct-tcpip` target on its way to a connected socket.
pub enum Connect {
    /// A helper is resolving the name; it writes the address as text.
    Resolving(Job, u16),
    /// connect(2) is under way on this socket.
    Connecting(TcpStream),
}

fn literal(host: &str) -> Option<IpAddr> {
    if host == "localhost" {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    crate::inet::parse_ip(host.trim_start_matches('[').trim_end_matches(']'))
}

/// musl's getaddrinfo is 17 KB of a static binary: musl builds use quoll's own stub
/// resolver (/etc/hosts, then DNS as /etc/resolv.conf says).
#[cfg(target_env = "musl")]
fn lookup(host: &str) -> Option<IpAddr> {
    super::resolve::lookup(host)
}

/// glibc builds resolve through NSS, so nsswitch.conf, mDNS and the like keep working.
#[cfg(not(target_env = "musl"))]
fn lookup(host: &str) -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    let mut addrs = (host, 0).to_socket_addrs().ok()?;
    addrs.next().map(|a| a.ip())
}

/// Starts reaching `host:port`. A name is resolved by a helper (`resolve_main`) that first
/// drops to `ids` (uid, gid) when quoll runs as root, so the resolver code never runs
/// privileged; it is killed if it has not answered by `deadline` (loop time, ms).
pub fn connect_start(
    host: &str,
    port: u32,
    ids: Option<(u32, u32)>,
    deadline: u64,
) -> io::Result<Connect> {
    let port = u16::try_from(port).map_err(|_| crate::ioerr::other("port out of range"))?;
    if let Some(ip) = literal(host) {
        return crate::sys::socket::connect(SocketAddr::new(ip, port)).map(Connect::Connecting);
    }
    if host.is_empty() || host.len() > 255 || host.as_bytes().contains(&0) {
        return Err(crate::ioerr::other("bad host name"));
    }
    let (uid, gid) = match ids {
        Some((u, g)) => (u.to_string(), g.to_string()),
        None => ("-".into(), "-".into()),
    };
    let args = [host.as_bytes(), uid.as_bytes(), gid.as_bytes()];
    let job = Job::start(super::multicall::RESOLVE, &args, b"", 0, 64, deadline)?;
    Ok(Connect::Resolving(job, port))
}

/// The resolver helper (`quoll-resolve HOST UID GID`, UID and GID `-` to stay as is): drops
/// privileges, looks the name up and prints the first address, or nothing.
pub fn resolve_main(args: &[Vec<u8>]) -> i32 {
    let [host, uid, gid] = args else {
        return 2;
    };
    let number = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u32>().ok();
    if let (Some(uid), Some(gid)) = (number(uid), number(gid)) {
        if crate::sys::ids::euid() == 0 && crate::sys::ids::become_user(uid, gid, &[]).is_err() {
            return 1;
        }
    }
    let Some(ip) = std::str::from_utf8(host).ok().and_then(lookup) else {
        return 1;
    };
    // One write of a short line.
    let line = format!("{}\n", crate::inet::Ip(ip));
    match { crate::sys::fd::STDOUT }.write_all(line.as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The resolver's answer, once its pipe is readable: `None` while it has not finished, then
/// the connect under way, or an error when the name did not resolve.
pub fn resolved(job: &mut Job, port: u16) -> io::Result<Option<TcpStream>> {
    match job.read() {
        Progress::Pending => return Ok(None),
        Progress::Failed(why) => return Err(crate::ioerr::other(why)),
        Progress::Done => {}
    }
    let text = std::str::from_utf8(job.reply().unwrap_or_default()).unwrap_or("");
    let ip =
        crate::inet::parse_ip(text.trim()).ok_or_else(|| crate::ioerr::other("name not found"))?;
    crate::sys::socket::connect(SocketAddr::new(ip, port)).map(Some)
}

/// Once the socket is writable: did the connect succeed?
pub fn connect_result(stream: &TcpStream) -> io::Result<()> {
    match stream.take_error()? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A socket as the two files the loop reads and writes (the write half is a dup, so that
/// shutting it down sends FIN while reading goes on).
pub fn split(fd: OwnedFd) -> io::Result<(File, File)> {
    fds::set_nonblocking_cloexec(&fd)?;
    let dup = fds::dup_cloexec(&fd)?;
    Ok((File::from(fd), File::from(dup)))
}

/// Sends FIN: the client will send no more.
pub fn shutdown_write(f: &File) {
    crate::sys::socket::shutdown_write(f);
}

/// A remote-forwarded port (`ssh -R`).
pub struct Forward {
    pub listener: TcpListener,
    /// The address and port as the client asked for them (echoed in forwarded-tcpip).
    pub address: String,
    pub port: u32,
}

/// Binds a `tcpip-forward` listener. Without `any_address` (Dropbear's `-a`) it listens on
/// loopback only, whatever address was asked for.
pub fn bind_remote(address: &str, port: u32, any_address: bool) -> io::Result<Forward> {
    let p = u16::try_from(port).map_err(|_| crate::ioerr::other("port out of range"))?;
    let ip = match (address, any_address) {
        (_, false) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ("" | "0.0.0.0" | "*", true) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ("::", true) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (a, true) => literal(a).ok_or_else(|| crate::ioerr::other("not an address"))?,
    };
    let listener = crate::sys::socket::listen(SocketAddr::new(ip, p), None)?;
    let bound = listener.local_addr()?.port() as u32;
    Ok(Forward {
        listener,
        address: address.to_string(),
        port: if port == 0 { bound } else { port },
    })
}

/// A session's agent socket, `/tmp/quoll-agent-XXXXXX/agent.PID`.
///
/// The directory belongs to quoll's own user (root when it serves others), mode 0711: the
/// session's user reaches the socket, which is theirs with mode 0600, but can neither list
/// nor change the directory, and /tmp's sticky bit keeps them from renaming or replacing it.
/// (A directory of the user's, as it once was, could be swapped for a symlink to any
/// directory, and root's removal of `agent.PID` at the end would follow it.) Removal goes
/// through a descriptor of the directory opened without following a symlink.
pub struct AgentSock {
    pub listener: UnixListener,
    pub path: PathBuf,
    dir: PathBuf,
}

impl AgentSock {
    pub fn create(uid: u32, gid: u32) -> io::Result<AgentSock> {
        let mut template = *b"/tmp/quoll-agent-XXXXXX\0";
        let dir = crate::sys::fsys::mkdtemp(&mut template)?;
        let sock = AgentSock::bind(&dir).map(|(listener, path)| AgentSock {
            listener,
            path,
            dir: dir.clone(),
        });
        match sock {
            Ok(sock) => sock.hand_over(uid, gid).map(|()| sock),
            Err(e) => {
                let _ = crate::sys::fsys::rmdir(&dir);
                Err(e)
            }
        }
    }

    fn bind(dir: &std::path::Path) -> io::Result<(UnixListener, PathBuf)> {
        let path = dir.join(format!("agent.{}", std::process::id()));
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok((listener, path))
    }

    /// Gives the socket to the user and opens the directory for passing through. Until then
    /// the directory is 0700 (mkdtemp's mode): nobody else can reach the socket while its
    /// mode is still the umask's.
    fn hand_over(&self, uid: u32, gid: u32) -> io::Result<()> {
        use crate::sys::fsys;
        if fsys::euid() == 0 {
            fsys::chown(&self.path, uid, gid)?;
        }
        fsys::chmod(&self.path, 0o600)?;
        fsys::chmod(&self.dir, 0o711)
    }
}

impl Drop for AgentSock {
    fn drop(&mut self) {
        use crate::sys::fsys::{self, OFlag};
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        let Ok(dir) = fsys::open(&self.dir, flags, 0) else {
            return;
        };
        // Only the directory made for this socket: a real one (not a link), still ours.
        if !fsys::fstat(&dir).is_ok_and(|s| s.is_dir() && s.uid == fsys::euid()) {
            return;
        }
        if let Some(name) = fsys::file_name(&self.path) {
            let _ = fsys::unlink_at(&dir, std::path::Path::new(name));
        }
        // By path: /tmp is sticky and the directory quoll's, so no one else can have
        // renamed it.
        let _ = fsys::rmdir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{poll, process};
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    /// Polls `fd` for `events` for at most 10 s.
    fn ready(fd: std::os::fd::RawFd, events: i16) {
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let n = poll::poll(std::slice::from_mut(&mut pfd), 10_000).unwrap();
        assert_eq!(n, 1, "not ready within 10 s");
    }

    /// Reaps `pid` (at most 10 s).
    fn reap(pid: i32) {
        process::wait_within(pid, Duration::from_secs(10));
    }

    fn connected(c: Connect) -> TcpStream {
        let Connect::Connecting(s) = c else {
            panic!("an address needs no lookup");
        };
        use std::os::fd::AsRawFd;
        ready(s.as_raw_fd(), libc::POLLOUT);
        s
    }

    #[test]
    fn literals_need_no_lookup() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(literal("localhost"), Some(ip("127.0.0.1")));
        assert_eq!(literal("192.0.2.7"), Some(ip("192.0.2.7")));
        assert_eq!(literal("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(literal("::1"), Some(ip("::1")));
        assert_eq!(literal("example.com"), None);
        assert_eq!(literal(""), None);
    }

    #[test]
    fn an_address_is_connected_to_at_once() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port() as u32;
        let s = connected(connect_start("127.0.0.1", port, None, 0).unwrap());
        assert!(connect_result(&s).is_ok());
        let (_, from) = l.accept().unwrap();
        assert_eq!(from, s.local_addr().unwrap());
    }

    #[test]
    fn a_refused_connect_is_reported_when_the_socket_is_writable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port() as u32;
        // Nobody listens there any more.
        let s = connected(connect_start("localhost", port, None, 0).unwrap());
        let err = connect_result(&s).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn bad_targets_are_refused_before_anything_starts() {
        let msg = |r: io::Result<Connect>| r.err().expect("refused").to_string();
        assert_eq!(
            msg(connect_start("127.0.0.1", 65536, None, 0)),
            "port out of range"
        );
        for host in ["", "a\0b", &"a".repeat(256)] {
            assert_eq!(msg(connect_start(host, 22, None, 0)), "bad host name");
        }
    }

    #[test]
    fn a_name_goes_to_the_resolver_and_its_answer_is_connected_to() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        // A name starts the resolver helper.
        let Connect::Resolving(job, p) = connect_start("quoll.invalid", 80, None, 0).unwrap()
        else {
            panic!("a name is looked up");
        };
        assert_eq!(p, 80);
        let pid = job.pid();
        drop(job); // unanswered: killed
        reap(pid);
        // The resolver's answer (here for `localhost`, which connect_start takes as an
        // address) is connected to.
        let args: [&[u8]; 3] = [b"localhost", b"-", b"-"];
        let mut job = Job::start(super::super::multicall::RESOLVE, &args, b"", 0, 64, 0).unwrap();
        let s = loop {
            ready(job.fd(), libc::POLLIN);
            if let Some(s) = resolved(&mut job, port).unwrap() {
                break s;
            }
        };
        reap(job.pid());
        job.set_reaped();
        use std::os::fd::AsRawFd;
        ready(s.as_raw_fd(), libc::POLLOUT);
        assert!(connect_result(&s).is_ok());
        let (_, from) = l.accept().unwrap();
        assert_eq!(from, s.local_addr().unwrap());
    }

    #[test]
    fn a_resolver_without_an_answer_is_an_error() {
        // Wrong arguments: the helper exits without printing an address.
        let mut job = Job::start(super::super::multicall::RESOLVE, &[], b"", 0, 64, 0).unwrap();
        let err = loop {
            ready(job.fd(), libc::POLLIN);
            match resolved(&mut job, 22) {
                Ok(None) => continue,
                Ok(Some(_)) => panic!("connected without an address"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.to_string(), "name not found");
        reap(job.pid());
        job.set_reaped();
    }

    #[test]
    fn remote_forwards_listen_on_loopback_unless_any_address() {
        let f = bind_remote("0.0.0.0", 0, false).unwrap();
        let bound = f.listener.local_addr().unwrap();
        assert_eq!(bound.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        // Port 0: the port the system chose is the one reported back.
        assert_eq!(
            (f.address.as_str(), f.port),
            ("0.0.0.0", bound.port() as u32)
        );
        let f = bind_remote("", 0, true).unwrap();
        assert!(f.listener.local_addr().unwrap().ip().is_unspecified());
        let f = bind_remote("127.0.0.1", 0, true).unwrap();
        assert_eq!(f.listener.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
        assert!(bind_remote("example.com", 0, true).is_err());
        assert!(bind_remote("", 65536, false).is_err());
    }

    #[test]
    fn split_halves_write_a_fin_and_keep_reading() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (ours, _) = l.accept().unwrap();
        let (mut r, w) = split(OwnedFd::from(ours)).unwrap();
        shutdown_write(&w);
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(peer.read(&mut buf).unwrap(), 0, "FIN seen");
        peer.write_all(b"more").unwrap();
        use std::os::fd::AsRawFd;
        ready(r.as_raw_fd(), libc::POLLIN);
        assert_eq!(r.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"more");
    }

    #[test]
    fn the_agent_socket_is_the_user_s_in_a_directory_only_passed_through() {
        use std::os::unix::fs::MetadataExt;
        // Root gives the socket to the session's user (here nobody); others keep their own.
        let me = crate::sys::ids::euid();
        let user = if me == 0 { 65534 } else { me };
        let sock = AgentSock::create(user, user).unwrap();
        let owner = std::fs::metadata(&sock.path).unwrap().uid();
        assert_eq!(owner, user);
        let dir = sock.path.parent().unwrap().to_path_buf();
        assert!(dir.to_str().unwrap().starts_with("/tmp/quoll-agent-"));
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&dir) & 0o777, 0o711);
        assert_eq!(std::fs::metadata(&dir).unwrap().uid(), me);
        assert_eq!(mode(&sock.path) & 0o777, 0o600);
        let path = sock.path.clone();
        drop(sock);
        assert!(!path.exists() && !dir.exists(), "removed with the session");
    }
}
