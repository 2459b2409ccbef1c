//! direct-tcpip channels (`ssh -L`): the target's name resolved by a helper child, the
//! connect made without blocking, then a socket channel.

use super::End;
use crate::daemon::edge::{short_of_descriptors, Edge};
use crate::daemon::{descriptors, forward};
use crate::inet::Sock;
use crate::proto::channel::DirectTcpip;
use crate::proto::conn::Conn;
use log::info;

/// The client asks for a connection to `req.host:req.port`: refused by policy, or started
/// (`Conn::channel_open_result` follows when it is made or has failed).
pub fn open(edge: &mut Edge, ch: usize, req: &DirectTcpip) -> bool {
    if edge.opts.no_local_forward
        || edge.key_options.no_port_forwarding
        || !edge.key_options.permits_open(req.host, req.port)
    {
        info!(
            "Local forward to {}:{} from {} refused",
            req.host,
            req.port,
            Sock(edge.peer)
        );
        return false;
    }
    let Some(slot) = edge.ends.get_mut(ch) else {
        return false;
    };
    // A socket, or a resolver's pipe and then a socket.
    if !descriptors::spare(3) {
        short_of_descriptors("Local forward", edge.peer);
        return false;
    }
    let ids = match (&*edge.user, edge.daemon_uid) {
        (Some(u), 0) => Some((u.uid, u.gid)),
        _ => None,
    };
    let deadline = edge.now + crate::config::RESOLVE_TIMEOUT_MS;
    match forward::connect_start(req.host, req.port, ids, deadline) {
        Ok(c) => {
            *slot = Some(End::Connecting(c));
            true
        }
        Err(e) => {
            info!(
                "Local forward to {}:{} from {}: {e}",
                req.host,
                req.port,
                Sock(edge.peer)
            );
            false
        }
    }
}

/// The target resolved or connected (or failed): confirm or refuse the channel.
pub fn progress(conn: &mut Conn, edge: &mut Edge, ch: usize) {
    let Some(slot) = edge.ends.get_mut(ch) else {
        return;
    };
    let result = match slot.take() {
        Some(End::Connecting(forward::Connect::Resolving(mut job, port))) => {
            match forward::resolved(&mut job, port) {
                Ok(Some(t)) => {
                    *slot = Some(End::Connecting(forward::Connect::Connecting(t)));
                    return;
                }
                Ok(None) => {
                    *slot = Some(End::Connecting(forward::Connect::Resolving(job, port)));
                    return;
                }
                Err(e) => Err(e),
            }
        }
        Some(End::Connecting(forward::Connect::Connecting(t))) => {
            forward::connect_result(&t).and_then(|_| forward::split(t.into()))
        }
        other => {
            *slot = other;
            return;
        }
    };
    match result {
        Ok((read, write)) => {
            *slot = Some(End::socket(read, write));
            conn.channel_open_result(ch, true, edge);
        }
        Err(e) => {
            info!("Local forward from {} failed: {e}", Sock(edge.peer));
            conn.channel_open_result(ch, false, edge);
        }
    }
}

/// The name lookup overran its deadline: the channel is refused (dropping the job kills the
/// helper).
pub fn timed_out(conn: &mut Conn, edge: &mut Edge, ch: usize) {
    info!(
        "Local forward from {}: name lookup timed out",
        Sock(edge.peer)
    );
    edge.ends[ch] = None;
    conn.channel_open_result(ch, false, edge);
}
