//! Remote forwarding (`ssh -R`): `tcpip-forward` listeners, and each connection to one a
//! forwarded-tcpip channel to the client.

use super::End;
use crate::config::FD_RESERVE_LOGIN;
use crate::daemon::edge::{short_of_descriptors, Edge};
use crate::daemon::{descriptors, forward};
use crate::inet::Ip;
use crate::proto::channel::Outgoing;
use crate::proto::conn::{Conn, GlobalReply};
use log::info;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, OwnedFd};

/// `tcpip-forward`: a listener on loopback (any address with `-a`), port 0 allocated.
pub fn listen(edge: &mut Edge, address: &str, port: u32) -> GlobalReply {
    let Some(user) = edge.user.as_ref() else {
        return GlobalReply::Failure;
    };
    if edge.opts.no_remote_forward
        || edge.key_options.no_port_forwarding
        || !edge.key_options.permits_listen(address, port)
    {
        info!(
            "Remote forward of {address}:{port} for '{}' refused",
            user.name
        );
        return GlobalReply::Failure;
    }
    // As OpenSSH: only root may forward privileged ports.
    if (1..1024).contains(&port) && user.uid != 0 {
        return GlobalReply::Failure;
    }
    if edge.forwards.len() >= crate::config::MAX_REMOTE_FORWARDS {
        return GlobalReply::Failure;
    }
    if !descriptors::spare(1) {
        short_of_descriptors("Remote forward", edge.peer);
        return GlobalReply::Failure;
    }
    match forward::bind_remote(address, port, edge.opts.forward_any_address) {
        Ok(f) => {
            let bound = f.port;
            edge.forwards.push(f);
            if port == 0 {
                GlobalReply::Port(bound)
            } else {
                GlobalReply::Success
            }
        }
        Err(e) => {
            info!(
                "Remote forward of {address}:{port} for '{}': {e}",
                user.name
            );
            GlobalReply::Failure
        }
    }
}

/// `cancel-tcpip-forward`.
pub fn cancel(edge: &mut Edge, address: &str, port: u32) -> GlobalReply {
    let before = edge.forwards.len();
    edge.forwards
        .retain(|f| !(f.address == address && f.port == port));
    if edge.forwards.len() < before {
        GlobalReply::Success
    } else {
        GlobalReply::Failure
    }
}

/// A connection on forwarded port `i` becomes a forwarded-tcpip channel. Err when accepting
/// must rest (out of descriptors).
pub fn accept(conn: &mut Conn, edge: &mut Edge, i: usize) -> Result<(), String> {
    let Some(f) = edge.forwards.get(i) else {
        return Ok(());
    };
    let Some((sock, from)) = for_user(f.listener.accept())? else {
        return Ok(());
    };
    let (address, port) = (f.address.clone(), f.port);
    let what = Outgoing::ForwardedTcpip {
        address: &address,
        port,
        originator: &Ip(from.ip()).to_string(),
        originator_port: from.port() as u32,
    };
    open_stream(conn, edge, &what, sock);
    Ok(())
}

/// What accept(2) on a logged-in user's forwarded port or agent socket gave: the socket, none
/// (would block), or Err when accepting must rest (out of descriptors). A socket that would
/// eat into the login reserve is dropped: that one connection fails.
pub fn for_user<S: Into<OwnedFd>, A>(
    r: io::Result<(S, A)>,
) -> Result<Option<(OwnedFd, A)>, String> {
    match r {
        Ok((sock, a)) => {
            let fd: OwnedFd = sock.into();
            // The socket is split into two descriptors (`open_stream`).
            if descriptors::in_reserve(fd.as_raw_fd(), FD_RESERVE_LOGIN + 1) {
                return Err("too few descriptors left".into());
            }
            Ok(Some((fd, a)))
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Opens a channel to the client for an accepted socket; drops it when the table is full.
pub fn open_stream(conn: &mut Conn, edge: &mut Edge, what: &Outgoing, sock: OwnedFd) {
    let Ok((read, write)) = forward::split(sock) else {
        return;
    };
    if let Some(ch) = conn.channel_open(what, edge) {
        if let Some(slot) = edge.ends.get_mut(ch) {
            *slot = Some(End::socket(read, write));
        }
    }
}
