//! Agent forwarding: a session's socket in a root-owned directory, and each connection to
//! it an auth-agent@openssh.com channel to the client.

use super::{forwarded_tcpip, End};
use crate::daemon::edge::{short_of_descriptors, Edge};
use crate::daemon::{descriptors, forward};
use crate::proto::channel::Outgoing;
use crate::proto::conn::Conn;
use log::warn;

/// `auth-agent-req@openssh.com` on a session channel, before its process starts.
pub fn request(edge: &mut Edge, ch: usize) -> bool {
    let Some(user) = edge.user.clone() else {
        return false;
    };
    if edge.key_options.no_agent_forwarding {
        return false;
    }
    let Some(slot) = edge.ends.get_mut(ch) else {
        return false;
    };
    if !descriptors::spare(2) {
        short_of_descriptors("Agent forwarding", edge.peer);
        return false;
    }
    match forward::AgentSock::create(user.uid, user.gid) {
        Ok(a) => {
            *slot = Some(End::AgentWaiting(a));
            true
        }
        Err(e) => {
            warn!("Agent socket for '{}': {e}", user.name);
            false
        }
    }
}

/// A connection on a session's agent socket becomes an auth-agent channel. Err when
/// accepting must rest (out of descriptors).
pub fn accept(conn: &mut Conn, edge: &mut Edge, ch: usize) -> Result<(), String> {
    let Some(a) = edge.ends.get(ch).and_then(|e| e.as_ref()?.agent()) else {
        return Ok(());
    };
    let Some((sock, _)) = forwarded_tcpip::for_user(a.listener.accept())? else {
        return Ok(());
    };
    forwarded_tcpip::open_stream(conn, edge, &Outgoing::Agent, sock);
    Ok(())
}
