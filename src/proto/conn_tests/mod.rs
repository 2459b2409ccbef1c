//! The connection core driven byte by byte by a test client built from the same primitives:
//! handshake, authentication, a session, and what each kind of bad input leads to; the
//! tests are grouped by the part of the core they drive.

use super::budget::{self, Budget};
use super::channel::{ExitInfo, Outgoing};
use super::cipher::{CIPHERS, MACS};
use super::conn::{Conn, Disconnect};
use super::crypto::{public_blob, Ed25519Key};
use super::msg;
use super::test_client::{setup, setup_full, setup_rekey, setup_timers, Client, TestHost, V_C};
use super::wire::Reader;

mod auth;
mod channels;
mod events;
mod replay;
mod transport;

impl Client {
    /// The socket takes `n` bytes of the server's output; CHANNEL_DATA payloads that are
    /// then complete go to `data`.
    fn take_data(&mut self, conn: &mut Conn, n: usize, data: &mut Vec<u8>) {
        let piece = conn.output()[..n].to_vec();
        conn.output_sent(n);
        self.inp.space()[..n].copy_from_slice(&piece);
        self.inp.filled(n);
        while let Some(p) = self.recv() {
            if p[0] == msg::CHANNEL_DATA {
                data.extend_from_slice(&p[9..]);
            }
        }
    }

    /// Queues CHANNEL_DATA with `data` for the server's channel `ch`.
    fn send_data(&mut self, ch: u32, data: &[u8]) {
        self.send(|w| {
            w.u8(msg::CHANNEL_DATA)?;
            w.u32(ch)?;
            w.string(data)
        });
    }

    fn open_exec(&mut self, conn: &mut Conn, host: &mut TestHost, cmd: &[u8]) -> u32 {
        self.send(|w| {
            w.u8(msg::CHANNEL_OPEN)?;
            w.string(b"session")?;
            w.u32(7)?;
            w.u32(1 << 20)?;
            w.u32(32768)
        });
        self.pump(conn, host);
        let c = self.recv_kind(msg::CHANNEL_OPEN_CONFIRMATION);
        let ours = u32::from_be_bytes(c[5..9].try_into().unwrap());
        self.send(|w| {
            w.u8(msg::CHANNEL_REQUEST)?;
            w.u32(ours)?;
            w.string(b"exec")?;
            w.bool(true)?;
            w.string(cmd)
        });
        self.pump(conn, host);
        self.recv_kind(msg::CHANNEL_SUCCESS);
        ours
    }
}

/// A logged-in connection with an `exec` channel for `cmd` open (default window).
fn exec_session(cmd: &[u8]) -> (Box<Conn>, TestHost, Client, usize) {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, cmd) as usize;
    (conn, host, c, ch)
}

fn disconnect_reason(c: &mut Client) -> u32 {
    let d = c.recv_kind(msg::DISCONNECT);
    u32::from_be_bytes(d[1..5].try_into().unwrap())
}

/// The ssh-userauth service asked for and granted, with the banner after it.
fn service(c: &mut Client, conn: &mut Conn, host: &mut TestHost) {
    c.send(|w| {
        w.u8(msg::SERVICE_REQUEST)?;
        w.string(b"ssh-userauth")
    });
    c.pump(conn, host);
    c.recv_kind(msg::SERVICE_ACCEPT);
    // The -b banner follows the service accept.
    let b = c.recv_kind(msg::USERAUTH_BANNER);
    assert_eq!(&b[5..13], b"welcome\n");
}
