//! Channel data and endings, for the edge: what a process may send, what the client sent,
//! and a channel's end in order (EOF, exit status, CLOSE).

use super::{fail, Conn, Host, RESERVE};
use crate::proto::channel::{ExitInfo, Outgoing};
use crate::proto::msg::{self, reason};

impl Conn {
    /// How many bytes of process output may be handed to `channel_send` now.
    pub fn channel_send_room(&self, ch: usize) -> usize {
        if self.st.closing.is_some() || self.st.sending_blocked() {
            return 0;
        }
        let Some(c) = self.st.channels.slot(ch).filter(|c| c.open) else {
            return 0;
        };
        c.send_window()
            .min(self.output.room().saturating_sub(RESERVE + 16))
    }

    /// Sends process output (`ext`: stderr as extended data). `data` must fit
    /// `channel_send_room`. Bytes that do not fit are never dropped quietly: the connection
    /// is closed instead (a caller's bug), and false returned.
    pub fn channel_send(&mut self, ch: usize, ext: bool, data: &[u8]) -> bool {
        // The same framing and accounting as output read in place, from a slice.
        let sent = data.len() <= self.channel_send_room(ch)
            && self.channel_read_into(ch, ext, data.len(), |area| {
                let n = data.len().min(area.len());
                area[..n].copy_from_slice(&data[..n]);
                Ok::<_, ()>(n)
            }) == Ok(data.len());
        if !sent {
            self.disconnect(fail(reason::BY_APPLICATION, "internal error: output lost"));
        }
        sent
    }

    /// Reads process output (`ext`: stderr as extended data) straight into a channel data
    /// packet: `read` gets the packet's data area, at most `max` bytes and never more than
    /// `channel_send_room`, and says how many bytes it put there. `Ok(0)` and `Err` queue
    /// nothing and are handed back (the end of the output, or nothing to read now).
    pub fn channel_read_into<E>(
        &mut self,
        ch: usize,
        ext: bool,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let room = self.channel_send_room(ch).min(max);
        let Some(c) = self.st.channels.get(ch).filter(|_| room > 0) else {
            return Ok(0);
        };
        let id = c.peer_id();
        let mut got = Ok(0);
        let r = self.output.packet(0, |w| {
            data_header(w, ext, id)?;
            let n = w.string_with(room, |area| match read(area) {
                Ok(n) => {
                    got = Ok(n);
                    n
                }
                Err(e) => {
                    got = Err(e);
                    0
                }
            })?;
            // Nothing read: no packet (an empty CHANNEL_DATA would be harmless but useless).
            if n == 0 {
                return Err(crate::proto::wire::WireError::Short);
            }
            Ok(())
        });
        match (r, got) {
            (Ok(()), Ok(n)) => {
                c.sent_data(n);
                self.st.sent_data = true;
                Ok(n)
            }
            // The room was asked just now, so the packet fits: a failure here is a bug in that
            // promise, and closes the connection rather than lose what was read.
            (Err(_), Ok(n)) if n > 0 => {
                self.disconnect(fail(reason::BY_APPLICATION, "internal error: output lost"));
                Ok(0)
            }
            (_, got) => got,
        }
    }

    /// Client bytes waiting for the process's stdin.
    pub fn channel_input(&self, ch: usize) -> &[u8] {
        match self.st.channels.slot(ch).filter(|c| c.open) {
            Some(c) => c.pending_input(),
            None => &[],
        }
    }

    pub fn channel_consumed(&mut self, ch: usize, n: usize, host: &mut dyn Host) {
        if let Some(c) = self.st.channels.get(ch) {
            c.consume_input(n);
        }
        self.flush(host);
    }

    /// The client sent EOF (or closed) and all its bytes were consumed: close the stdin.
    pub fn channel_input_finished(&self, ch: usize) -> bool {
        self.st
            .channels
            .slot(ch)
            .is_some_and(|c| c.open && c.input_finished())
    }

    /// The process is done and all its output was sent: EOF, exit status, CLOSE follow.
    pub fn channel_finish(&mut self, ch: usize, exit: Option<ExitInfo>, host: &mut dyn Host) {
        if let Some(c) = self.st.channels.get(ch) {
            c.finish(exit);
        }
        self.flush(host);
    }

    /// How the connect the edge started for `Event::DirectTcpip` went: the channel is
    /// confirmed, or refused with CONNECT_FAILED.
    pub fn channel_open_result(&mut self, ch: usize, ok: bool, host: &mut dyn Host) {
        if self.st.channels.open_result(ch, ok, host).is_err() {
            self.disconnect(fail(reason::PROTOCOL_ERROR, "too many refused channels"));
        }
        self.flush(host);
    }

    /// Opens a channel to the client for a forwarded connection or an agent connection.
    pub fn channel_open(&mut self, what: &Outgoing, host: &mut dyn Host) -> Option<usize> {
        if self.st.closing.is_some() || !self.st.auth.done {
            return None;
        }
        let ch = self.st.channels.open_outgoing(what, host);
        self.flush(host);
        ch
    }

    /// The stream's read side ended: EOF to the client; input may still come.
    pub fn channel_send_eof(&mut self, ch: usize, host: &mut dyn Host) {
        if let Some(c) = self.st.channels.get(ch) {
            c.send_eof();
        }
        self.flush(host);
    }
}

/// The start of a CHANNEL_DATA (or, `ext`, a stderr CHANNEL_EXTENDED_DATA) to channel `id`;
/// the data string follows.
fn data_header(
    w: &mut crate::proto::wire::Writer,
    ext: bool,
    id: u32,
) -> Result<(), crate::proto::wire::WireError> {
    if ext {
        w.u8(msg::CHANNEL_EXTENDED_DATA)?;
        w.u32(id)?;
        w.u32(1)
    } else {
        w.u8(msg::CHANNEL_DATA)?;
        w.u32(id)
    }
}
