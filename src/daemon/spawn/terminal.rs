//! A session's terminal: the pty opened for the user and sized as the client asked.

use crate::accounts::users;
use crate::proto::channel::PtySize;
use crate::sys::{ids, pty};
use std::io;
use std::os::fd::OwnedFd;

/// Opens a pty for a session of `uid`, `size` as the pty-req asked. A root quoll gives the
/// slave to the user and to group `tty` where the system has one (`sys::pty::open`).
pub fn open_pty(size: PtySize, uid: u32) -> io::Result<pty::Pty> {
    // Only root changes the slave's owner; nobody else needs the group looked up.
    let tty_gid = if ids::euid() == 0 {
        users::group_id("tty")
    } else {
        None
    };
    let pty = pty::open(uid, tty_gid)?;
    resize_pty(&pty.master, size)?;
    Ok(pty)
}

/// Sets the window size of the terminal whose master is `master` (window-change).
pub fn resize_pty(master: &OwnedFd, size: PtySize) -> io::Result<()> {
    pty::resize(master, size.cols, size.rows, size.width_px, size.height_px)
}
