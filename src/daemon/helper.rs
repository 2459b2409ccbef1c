//! A helper child doing one slow job for the loop (an authentication check, a name lookup):
//! quoll started again under an internal name (`spawn::spawn_helper`), given its request on
//! stdin, read back through a non-blocking pipe the loop polls, and killed when it overstays
//! its deadline or its connection goes away. One mechanism for every slow decision.

use crate::sys::fd::{pipe, set_nonblocking_cloexec};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

/// Where a job stands after a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The helper has not finished writing.
    Pending,
    /// It closed its end: the reply is complete (`Job::reply`).
    Done,
    /// It wrote more than the reply may hold, or the pipe failed.
    Failed(&'static str),
}

pub struct Job {
    pid: i32,
    reply: std::fs::File,
    buf: Vec<u8>,
    max: usize,
    /// Loop time (ms) after which the helper is killed.
    pub deadline: u64,
    /// Set by the loop when it reaped `pid`: the number may then belong to someone else.
    reaped: bool,
    done: bool,
}

impl Job {
    /// Starts helper `name` with `args` and hands it `request` (at most the 64 KiB a pipe
    /// holds, so the write cannot block). The reply may be up to `max` bytes.
    pub fn start(
        name: &str,
        args: &[&[u8]],
        request: &[u8],
        nice: i32,
        max: usize,
        deadline: u64,
    ) -> io::Result<Job> {
        const PIPE_MIN: usize = 4096;
        if request.len() > PIPE_MIN {
            return Err(crate::ioerr::other("helper request too long"));
        }
        let (in_r, in_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        // Written before the child runs: a fresh pipe takes this much at once.
        std::fs::File::from(in_w).write_all(request)?;
        let pid =
            super::spawn::spawn_helper(name, args, in_r.as_raw_fd(), out_w.as_raw_fd(), nice)?;
        drop((in_r, out_w));
        let job = Job {
            pid,
            reply: std::fs::File::from(out_r),
            buf: Vec::new(),
            max,
            deadline,
            reaped: false,
            done: false,
        };
        set_nonblocking_cloexec(&job.reply)?;
        Ok(job)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn fd(&self) -> RawFd {
        self.reply.as_raw_fd()
    }

    pub fn set_reaped(&mut self) {
        self.reaped = true;
    }

    /// Reads what the helper wrote so far.
    pub fn read(&mut self) -> Progress {
        let mut chunk = [0u8; 4096];
        loop {
            match self.reply.read(&mut chunk) {
                Ok(0) => {
                    self.done = true;
                    return Progress::Done;
                }
                Ok(n) => {
                    if self.buf.len() + n > self.max {
                        return Progress::Failed("reply too long");
                    }
                    if self.buf.try_reserve(n).is_err() {
                        return Progress::Failed("out of memory");
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Progress::Failed("reply pipe failed"),
            }
        }
    }

    /// The complete reply, once `read` said `Done`.
    pub fn reply(&self) -> Option<&[u8]> {
        self.done.then_some(&self.buf[..])
    }
}

impl Drop for Job {
    /// A helper whose answer is no longer wanted (or late) is killed; the loop reaps it.
    fn drop(&mut self) {
        if !self.reaped && !self.done {
            // pid is our child and not yet reaped, so the number cannot have been reused.
            crate::sys::process::kill(self.pid, libc::SIGKILL);
        }
    }
}
