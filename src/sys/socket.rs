//! TCP sockets: listening, connecting, socket options.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A non-blocking TCP connection to `addr`, under way (connect(2) returned EINPROGRESS) or
/// made; TCP_NODELAY set. The loop waits for it to become writable.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the fd is owned by the TcpStream right after.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket we own.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let (sa, len) = sockaddr(addr);
    // SAFETY: sa is a valid sockaddr of length len.
    let r = unsafe { libc::connect(fd, &sa as *const _ as *const libc::sockaddr, len) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Sends FIN on a socket (shutdown SHUT_WR); failure (not a socket) is harmless.
pub fn shutdown_write(sock: &impl AsRawFd) {
    // SAFETY: shutdown on a descriptor the caller holds.
    unsafe { libc::shutdown(sock.as_raw_fd(), libc::SHUT_WR) };
}

/// A non-blocking, close-on-exec listener. IPv6 sockets are IPv6-only so that `[::]:22` and
/// `0.0.0.0:22` can both be bound, as Dropbear does.
/// With `interface` (`-l`), the socket is bound to that device (SO_BINDTODEVICE).
pub fn listen(addr: SocketAddr, interface: Option<&str>) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the fd is owned by the TcpListener right after.
    let fd = check(unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: fd is a fresh socket we own; TcpListener closes it on drop (also on error paths).
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let opt = |level, name| {
        // SAFETY: setsockopt with a pointer to a live c_int and its size.
        check(unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &one as *const _ as *const libc::c_void,
                core::mem::size_of::<libc::c_int>() as u32,
            )
        })
    };
    opt(libc::SOL_SOCKET, libc::SO_REUSEADDR)?;
    if let Some(dev) = interface {
        // SAFETY: setsockopt with a pointer to the name's bytes and their length.
        check(unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr() as *const libc::c_void,
                dev.len() as u32,
            )
        })
        .map_err(|e| crate::ioerr::new(e.kind(), format!("interface '{dev}': {e}")))?;
    }
    if addr.is_ipv6() {
        opt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    }
    let (sa, len) = sockaddr(addr);
    // SAFETY: sa is a valid sockaddr_storage of length len.
    check(unsafe { libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len) })?;
    // SAFETY: listen on our socket.
    check(unsafe { libc::listen(fd, 128) })?;
    Ok(listener)
}

pub fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { core::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            (
                ss,
                core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { core::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { core::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            (
                ss,
                core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// Asks the kernel to acknowledge received data at once instead of delaying the ACK (Linux
/// clears this after use, so it is set again after each read that produced no reply).
pub fn quick_ack(sock: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a pointer to a live c_int and its size; failure only costs time.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            &one as *const _ as *const libc::c_void,
            core::mem::size_of::<libc::c_int>() as u32,
        )
    };
}
