//! Pseudo-terminals: open, size, terminal modes.
//! STUB: signatures fixed, bodies to be written.

use std::os::fd::OwnedFd;

pub struct Pty {
    /// Non-blocking, close-on-exec; the loop reads and writes it.
    pub master: OwnedFd,
    /// Given to the child as its controlling terminal.
    pub slave: OwnedFd,
    /// e.g. `/dev/pts/3`
    pub name: String,
}

/// Opens a pty pair, sets its window size, and chowns the slave to `uid` (mode 0620, group
/// `tty` where that group exists) so the user owns their terminal.
pub fn open(size: WinSize, uid: u32) -> std::io::Result<Pty> {
    let _ = (size, uid);
    todo!()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WinSize {
    pub cols: u32,
    pub rows: u32,
    pub width_px: u32,
    pub height_px: u32,
}

/// TIOCSWINSZ on the master (the kernel sends SIGWINCH to the foreground group).
pub fn resize(master: &OwnedFd, size: WinSize) -> std::io::Result<()> {
    let _ = (master, size);
    todo!()
}

/// Applies RFC 4254 §8 encoded terminal modes (opcode byte + u32 argument, ending at
/// TTY_OP_END = 0) to the terminal; unknown opcodes are ignored, opcodes 160+ end parsing.
pub fn apply_modes(fd: &OwnedFd, modes: &[u8]) -> std::io::Result<()> {
    let _ = (fd, modes);
    todo!()
}
