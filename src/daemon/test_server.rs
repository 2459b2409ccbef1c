//! A real `Server` for the daemon's unit tests: one listener on 127.0.0.1 (a free port), a
//! host key in a scratch directory, and the signal pipe's read end standing in for the
//! signal descriptor. Nothing is polled until a test asks.

use super::event_loop::Server;
use crate::options::Options;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

pub(super) struct TestServer {
    pub(super) server: Server,
    pub(super) addr: SocketAddr,
    dir: PathBuf,
    /// The descriptor the server takes as its signal pipe (kept open while it lives).
    pub(super) sig: OwnedFd,
    _sig_w: OwnedFd,
}

impl TestServer {
    /// A server with the default options as `f` changes them; `tag` names its directory.
    pub(super) fn new(tag: &str, f: impl FnOnce(&mut Options)) -> TestServer {
        let dir = std::env::temp_dir().join(format!("quoll-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let mut o = Options {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            hostkey: dir.join("host_key"),
            ..Options::default()
        };
        f(&mut o);
        let (sig, sig_w) = crate::sys::fd::pipe().unwrap();
        let server = Server::new(o, None, sig.as_raw_fd()).unwrap();
        let addr = server.listeners[0].local_addr().unwrap();
        TestServer {
            server,
            addr,
            dir,
            sig,
            _sig_w: sig_w,
        }
    }

    /// A client connection to the listener, accepted by the kernel (in the backlog) when
    /// this returns.
    pub(super) fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).unwrap()
    }

    /// The connections the server holds in its slots.
    pub(super) fn served(&self) -> usize {
        self.server.slots.iter().filter(|s| s.is_some()).count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
