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
    /// Starts helper `name` with `args` and hands it `request` (at most the 64 KiB a fresh
    /// pipe holds; written non-blocking, so a pipe the system made smaller fails the start
    /// rather than stall the loop). The reply may be up to `max` bytes.
    pub fn start(
        name: &str,
        args: &[&[u8]],
        request: &[u8],
        nice: i32,
        max: usize,
        deadline: u64,
    ) -> io::Result<Job> {
        const PIPE_SIZE: usize = 64 * 1024;
        if request.len() > PIPE_SIZE {
            return Err(crate::ioerr::other("helper request too long"));
        }
        let (in_r, in_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        // Written before the child runs: a fresh pipe takes this much at once (with
        // pipe-user-pages-soft exhausted it holds one page, and the write fails instead).
        let mut in_w = std::fs::File::from(in_w);
        set_nonblocking_cloexec(&in_w)?;
        in_w.write_all(request).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                crate::ioerr::other("helper request larger than the pipe")
            } else {
                e
            }
        })?;
        drop(in_w);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{poll, process};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// A job reading from a pipe this test writes, for `pid` (0: no process to kill).
    fn job_on_pipe(pid: i32, max: usize) -> (Job, std::fs::File) {
        let (r, w) = pipe().unwrap();
        set_nonblocking_cloexec(&r).unwrap();
        let job = Job {
            pid,
            reply: std::fs::File::from(r),
            buf: Vec::new(),
            max,
            deadline: 0,
            reaped: false,
            done: false,
        };
        (job, std::fs::File::from(w))
    }

    #[test]
    fn a_reply_is_read_in_pieces_and_complete_at_the_end() {
        let (mut job, mut w) = job_on_pipe(0, 16);
        assert_eq!(job.read(), Progress::Pending);
        w.write_all(b"12.3").unwrap();
        assert_eq!(job.read(), Progress::Pending);
        assert_eq!(job.reply(), None, "not complete while the helper writes");
        w.write_all(b".4.5\n").unwrap();
        drop(w);
        assert_eq!(job.read(), Progress::Done);
        assert_eq!(job.reply(), Some(&b"12.3.4.5\n"[..]));
    }

    #[test]
    fn a_reply_longer_than_its_bound_fails() {
        let (mut job, mut w) = job_on_pipe(0, 4);
        w.write_all(b"12345").unwrap();
        assert_eq!(job.read(), Progress::Failed("reply too long"));
        assert_eq!(job.reply(), None);
    }

    #[test]
    fn a_request_longer_than_a_pipe_takes_at_once_is_refused() {
        let long = vec![b'x'; 64 * 1024 + 1];
        let err = Job::start(crate::daemon::multicall::RESOLVE, &[], &long, 0, 64, 0);
        assert_eq!(err.err().unwrap().to_string(), "helper request too long");
    }

    #[test]
    fn a_job_dropped_unfinished_kills_its_helper() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let (job, _w) = job_on_pipe(child.id() as i32, 16);
        drop(job);
        // Without the kill this takes the 30 s of the sleep and ends normally.
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn a_reaped_or_finished_job_kills_nothing() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let (mut job, w) = job_on_pipe(pid, 16);
        job.set_reaped();
        drop(job);
        let (mut job, w2) = job_on_pipe(pid, 16);
        drop(w2);
        assert_eq!(job.read(), Progress::Done);
        drop(job);
        drop(w);
        std::thread::sleep(Duration::from_millis(100));
        assert!(child.try_wait().unwrap().is_none(), "still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_helper_answers_through_its_pipe() {
        // The resolver helper, run in the forked child (the test binary is not quoll).
        let args: [&[u8]; 3] = [b"localhost", b"-", b"-"];
        let mut job = Job::start(crate::daemon::multicall::RESOLVE, &args, b"", 0, 64, 0).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let progress = loop {
            let mut pfd = libc::pollfd {
                fd: job.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let _ = poll::poll(std::slice::from_mut(&mut pfd), 100);
            match job.read() {
                Progress::Pending if Instant::now() < deadline => continue,
                p => break p,
            }
        };
        assert_eq!(progress, Progress::Done);
        let reply = std::str::from_utf8(job.reply().unwrap()).unwrap();
        let ip: std::net::IpAddr = reply.trim().parse().unwrap();
        assert!(ip.is_loopback(), "{reply:?}");
        let status = process::wait_within(job.pid(), Duration::from_secs(10));
        assert!(libc::WIFEXITED(status));
        job.set_reaped();
    }
}
