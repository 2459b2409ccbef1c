//! The sink (`scp -t`) and source (`scp -f`) loops: records over stdin and stdout, files on
//! disk.

use super::command::Opts;
use super::expand::expand;
use super::glob::{escape_globs, is_dot_or_dotdot};
use super::records::{parse_record, parse_times, record_line, times_line, Record};
use crate::sys::fd::STDERR;
use crate::sys::fsys::{self, show, Dir, OFlag, Stat};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Longest record line accepted (a name is at most 255 bytes on Linux; slack for the rest).
const MAX_LINE: usize = 1024;
/// Data is copied through a buffer of this size.
const CHUNK: usize = 64 * 1024;
/// Directory depth accepted when receiving (each level is a stack frame).
const MAX_DEPTH: usize = 64;
/// setuid, setgid and the permission bits (OpenSSH's FILEMODEMASK).
const MODE_MASK: u32 = 0o6777;

/// Why the transfer stops: a fatal protocol error or a lost connection.
#[derive(Debug)]
struct Fatal;

struct Scp<'a, R, W> {
    input: &'a mut R,
    output: &'a mut W,
    opts: Opts,
    /// Errors reported to the client (the exit code is 1 if any).
    errors: u32,
    buf: Vec<u8>,
}

/// Serves `scp -t`/`scp -f` with `args`: the words after `scp` as `split_words` makes them
/// (patterns: unquoted `~` and, for `-f`, glob characters expand). Returns the exit code.
pub fn serve(args: &[&[u8]], input: &mut impl Read, output: &mut impl Write) -> i32 {
    let opts = match Opts::parse(args) {
        Ok(o) if o.sink != o.source => o,
        Ok(_) => {
            let _ = output.write_all(b"\x02scp: need exactly one of -t and -f\n");
            return 1;
        }
        Err(e) => {
            let _ = output.write_all(format!("\x02scp: {e}\n").as_bytes());
            return 1;
        }
    };
    // Not $HOME: a built-in server still has quoll's environment.
    let home = crate::accounts::users::by_uid(fsys::uid()).map(|u| PathBuf::from(u.home));
    let operands: Vec<PathBuf> = args[opts.operands..]
        .iter()
        .flat_map(|a| {
            if opts.source {
                expand(a, home.as_deref())
            } else {
                // The sink's target is not globbed (OpenSSH's scp refuses an ambiguous one).
                expand(&escape_globs(a), home.as_deref())
            }
        })
        .collect();
    let mut s = Scp {
        input,
        output,
        opts,
        errors: 0,
        buf: Vec::new(),
    };
    let r = if s.opts.sink {
        if operands.len() == 1 {
            s.sink(&operands[0], s.opts.target_is_dir, 0)
        } else {
            s.fatal("ambiguous target")
        }
    } else {
        s.sources(&operands)
    };
    let _ = s.output.flush();
    match r {
        Ok(()) if s.errors == 0 => 0,
        _ => 1,
    }
}

fn os_err(e: &io::Error) -> String {
    crate::ioerr::message(e)
}

impl<R: Read, W: Write> Scp<'_, R, W> {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        self.output.write_all(bytes).map_err(|_| Fatal)?;
        self.output.flush().map_err(|_| Fatal)
    }

    fn ack(&mut self) -> Result<(), Fatal> {
        self.send(b"\0")
    }

    /// Reports a non-fatal error to the client (`\x01scp: msg\n`).
    fn error(&mut self, msg: &str) -> Result<(), Fatal> {
        self.errors += 1;
        let line = format!("\x01scp: {}\n", msg.replace('\n', " "));
        self.send(line.as_bytes())
    }

    /// Reports a fatal error to the client and stops.
    fn fatal<T>(&mut self, msg: &str) -> Result<T, Fatal> {
        self.errors += 1;
        let line = format!("\x02scp: {}\n", msg.replace('\n', " "));
        let _ = self.send(line.as_bytes());
        Err(Fatal)
    }

    fn byte(&mut self) -> Result<Option<u8>, Fatal> {
        let mut b = [0u8; 1];
        loop {
            match self.input.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(_) => return Ok(Some(b[0])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Fatal),
            }
        }
    }

    /// Reads a line into `self.buf` (without the newline); the first byte is `first`.
    fn line(&mut self, first: u8) -> Result<(), Fatal> {
        self.buf.clear();
        self.buf.push(first);
        if first == b'\n' {
            self.buf.clear();
            return Ok(());
        }
        loop {
            match self.byte()? {
                Some(b'\n') => return Ok(()),
                Some(b) if self.buf.len() < MAX_LINE => self.buf.push(b),
                Some(_) => return self.fatal("record too long"),
                None => return Err(Fatal),
            }
        }
    }

    /// The client's answer to something we sent: `Ok(true)` for `\0`, `Ok(false)` for an
    /// error (its message goes to our stderr, i.e. the client's), `Err` when fatal or lost.
    fn response(&mut self) -> Result<bool, Fatal> {
        match self.byte()? {
            Some(0) => Ok(true),
            Some(b) => {
                self.line(b)?;
                let msg = self.buf[1.min(self.buf.len())..].to_vec();
                let _ = { STDERR }.write_all(&[&msg[..], b"\n"].concat());
                self.errors += 1;
                if b == 2 {
                    Err(Fatal)
                } else {
                    Ok(false)
                }
            }
            None => Err(Fatal),
        }
    }

    // -----------------------------------------------------------------------------------
    // Sink: scp -t

    fn sink(&mut self, target: &Path, must_be_dir: bool, depth: usize) -> Result<(), Fatal> {
        let is_dir = fsys::stat(target).is_ok_and(|m| m.is_dir());
        if must_be_dir && !is_dir {
            return self.fatal(&format!("{}: Not a directory", show(target)));
        }
        self.ack()?;
        let mut times: Option<(i64, i64)> = None;
        let mut first = true;
        loop {
            let Some(b) = self.byte()? else {
                return Ok(());
            };
            self.line(b)?;
            let line = std::mem::take(&mut self.buf);
            let r = self.sink_record(&line, target, is_dir, first, &mut times, depth);
            self.buf = line;
            first = false;
            match r? {
                Step::Next => {}
                Step::End => return Ok(()),
            }
        }
    }

    fn sink_record(
        &mut self,
        line: &[u8],
        target: &Path,
        target_is_dir: bool,
        first: bool,
        times: &mut Option<(i64, i64)>,
        depth: usize,
    ) -> Result<Step, Fatal> {
        match line.first() {
            None => self.fatal("unexpected <newline>"),
            Some(1) | Some(2) => {
                let _ = { STDERR }.write_all(&[&line[1..], b"\n"].concat());
                self.errors += 1;
                if line[0] == 2 {
                    return Err(Fatal);
                }
                Ok(Step::Next)
            }
            Some(b'E') => {
                self.ack()?;
                Ok(Step::End)
            }
            Some(b'T') => match parse_times(&line[1..]) {
                Some(t) => {
                    *times = Some(t);
                    self.ack()?;
                    Ok(Step::Next)
                }
                None => self.fatal("protocol error: bad times"),
            },
            Some(_) => {
                let rec = match parse_record(line) {
                    Ok(r) => r,
                    // A first line that is no record is an error message from a remote
                    // shell (e.g. "scp: not found"): pass it on.
                    Err(_) if first && !matches!(line[0], b'C' | b'D') => {
                        let msg = String::from_utf8_lossy(line).into_owned();
                        return self.fatal(&msg);
                    }
                    Err(e) => {
                        return self.fatal(&format!("protocol error: {e}"));
                    }
                };
                let path = if target_is_dir {
                    target.join(std::ffi::OsStr::from_bytes(rec.name))
                } else {
                    target.to_path_buf()
                };
                let t = times.take();
                if rec.dir {
                    self.sink_dir(&path, rec.mode, t, depth)?;
                } else {
                    self.sink_file(&path, rec.mode, rec.size, t)?;
                }
                Ok(Step::Next)
            }
        }
    }

    fn sink_dir(
        &mut self,
        path: &Path,
        mode: u32,
        times: Option<(i64, i64)>,
        depth: usize,
    ) -> Result<(), Fatal> {
        if !self.opts.recursive {
            return self.fatal("received directory without -r");
        }
        if depth >= MAX_DEPTH {
            return self.fatal("directories nested too deeply");
        }
        let mut set_mode = self.opts.preserve;
        match fsys::stat(path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return self.error(&format!("{}: Not a directory", show(path))),
            Err(_) => {
                // Writable for us while we fill it; the real mode afterwards.
                if let Err(e) = fsys::mkdir(path, (mode | 0o700) & 0o7777) {
                    return self.error(&format!("{}: {}", show(path), os_err(&e)));
                }
                set_mode = true;
            }
        }
        self.sink(path, true, depth + 1)?;
        if let (Some((mtime, atime)), true) = (times, self.opts.preserve) {
            let _ = fsys::set_times(path, atime, mtime, true);
        }
        if set_mode {
            let m = if self.opts.preserve {
                mode
            } else {
                mode & !umask_bits(path)
            };
            let _ = fsys::chmod(path, m & MODE_MASK);
        }
        Ok(())
    }

    fn sink_file(
        &mut self,
        path: &Path,
        mode: u32,
        size: u64,
        times: Option<(i64, i64)>,
    ) -> Result<(), Fatal> {
        let existed = fsys::stat(path).ok();
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT;
        let file = fsys::open(path, flags, (mode & MODE_MASK) | 0o200);
        let file = match file {
            Ok(f) => f,
            // The client sends no data after an error answer.
            Err(e) => return self.error(&format!("{}: {}", show(path), os_err(&e))),
        };
        self.ack()?;
        let mut write_err: Option<io::Error> = None;
        let mut left = size;
        let mut buf = vec![0u8; CHUNK.min(size as usize).max(1)];
        let mut offset = 0u64;
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = match self.input.read(&mut buf[..want]) {
                Ok(0) => return Err(Fatal),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Fatal),
            };
            // After a write error keep reading: the data must be drained from the stream.
            if write_err.is_none() {
                if let Err(e) = fsys::write_all_at(&file, &buf[..n], offset) {
                    write_err = Some(e);
                }
            }
            offset += n as u64;
            left -= n as u64;
        }
        if write_err.is_none() {
            let regular = existed.as_ref().is_none_or(|m| m.is_file());
            if regular {
                if let Err(e) = fsys::ftruncate(&file, size) {
                    write_err = Some(e);
                }
            }
        }
        let omode = mode & MODE_MASK;
        if self.opts.preserve {
            let _ = fsys::fchmod(&file, omode);
        } else if existed.is_none() && omode & 0o200 == 0 {
            // Created with u+w so we could write; take it away again (umask still applies).
            if let Ok(m) = fsys::fstat(&file) {
                let _ = fsys::fchmod(&file, m.mode & 0o7777 & !0o200);
            }
        }
        drop(file);
        let ok = self.response()?;
        if let (Some((mtime, atime)), true) = (times, self.opts.preserve && ok) {
            if let Err(e) = fsys::set_times(path, atime, mtime, true) {
                write_err.get_or_insert(e);
            }
        }
        match write_err {
            Some(e) => self.error(&format!("{}: {}", show(path), os_err(&e))),
            None => self.ack(),
        }
    }

    // -----------------------------------------------------------------------------------
    // Source: scp -f

    fn sources(&mut self, paths: &[PathBuf]) -> Result<(), Fatal> {
        // The client speaks first: a `\0` meaning "ready".
        if !self.response()? {
            return Ok(());
        }
        for p in paths {
            self.source(p, 0)?;
        }
        Ok(())
    }

    fn source(&mut self, path: &Path, depth: usize) -> Result<(), Fatal> {
        // "dir/" names the directory "dir".
        let bytes = path.as_os_str().as_bytes();
        let trimmed = match bytes.iter().rposition(|&b| b != b'/') {
            Some(i) => &bytes[..=i],
            None => &bytes[..bytes.len().min(1)],
        };
        let path = Path::new(std::ffi::OsStr::from_bytes(trimmed));
        let file = match fsys::open(path, OFlag::O_RDONLY, 0) {
            Ok(f) => f,
            Err(e) => return self.error(&format!("{}: {}", show(path), os_err(&e))),
        };
        let meta = match fsys::fstat(&file) {
            Ok(m) => m,
            Err(e) => return self.error(&format!("{}: {}", show(path), os_err(&e))),
        };
        let name = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) if i + 1 < trimmed.len() => &trimmed[i + 1..],
            _ => trimmed,
        };
        if name.contains(&b'\n') {
            return self.error(&format!("{}: name contains a newline", show(path)));
        }
        if meta.is_dir() {
            if self.opts.recursive && depth < MAX_DEPTH {
                drop(file);
                return self.source_dir(path, name, &meta, depth);
            }
            return self.error(&format!("{}: not a regular file", show(path)));
        }
        if !meta.is_file() {
            return self.error(&format!("{}: not a regular file", show(path)));
        }
        if self.opts.preserve && !self.times(&meta)? {
            return Ok(());
        }
        let rec = record_line(&Record {
            dir: false,
            mode: meta.mode & MODE_MASK,
            size: meta.size,
            name,
        });
        self.send(&rec)?;
        if !self.response()? {
            return Ok(());
        }
        let mut file = file;
        let mut left = meta.size;
        let mut buf = vec![0u8; CHUNK.min(left as usize).max(1)];
        let mut read_err: Option<io::Error> = None;
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = if read_err.is_some() {
                // The size was promised: pad with zeros after a read error (as OpenSSH).
                buf[..want].fill(0);
                want
            } else {
                match file.read(&mut buf[..want]) {
                    Ok(0) => {
                        read_err = Some(crate::ioerr::other("file shrank while being sent"));
                        continue;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        read_err = Some(e);
                        continue;
                    }
                }
            };
            self.output.write_all(&buf[..n]).map_err(|_| Fatal)?;
            left -= n as u64;
        }
        match read_err {
            None => self.ack()?,
            Some(e) => self.error(&format!("{}: {}", show(path), os_err(&e)))?,
        }
        self.response()?;
        Ok(())
    }

    /// Sends `T<mtime> 0 <atime> 0`; false if the client refused it.
    fn times(&mut self, meta: &Stat) -> Result<bool, Fatal> {
        self.send(&times_line(meta.mtime.max(0), meta.atime.max(0)))?;
        self.response()
    }

    fn source_dir(
        &mut self,
        path: &Path,
        name: &[u8],
        meta: &Stat,
        depth: usize,
    ) -> Result<(), Fatal> {
        let entries = match Dir::open(path) {
            Ok(d) => d,
            Err(e) => return self.error(&format!("{}: {}", show(path), os_err(&e))),
        };
        if self.opts.preserve && !self.times(meta)? {
            return Ok(());
        }
        let rec = record_line(&Record {
            dir: true,
            mode: meta.mode & MODE_MASK,
            size: 0,
            name,
        });
        self.send(&rec)?;
        if !self.response()? {
            return Ok(());
        }
        for name in entries {
            let Ok(name) = name else { continue };
            if is_dot_or_dotdot(&name) {
                continue;
            }
            self.source(&path.join(std::ffi::OsStr::from_bytes(&name)), depth + 1)?;
        }
        self.send(b"E\n")?;
        self.response()?;
        Ok(())
    }
}

enum Step {
    Next,
    End,
}

/// The umask bits, read without changing the umask: a fresh directory's mode tells.
fn umask_bits(dir: &Path) -> u32 {
    // The directory was created with mode|0700 under the umask, so its group and other bits
    // show which of those the umask cleared.
    fsys::stat(dir).map_or(0o022, |m| !m.mode & 0o077)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    pub(in crate::scp) fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quoll-scp-{}-{}", tag, std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn sink_receives_a_file_with_times() {
        let d = tmp("sink");
        let target = d.join("out");
        let mut input = Vec::new();
        input.extend_from_slice(b"T1600000000 0 1500000000 0\n");
        input.extend_from_slice(b"C0640 5 ignored\nhello\0");
        let mut out = Vec::new();
        let t = target.as_os_str().as_bytes();
        let code = serve(&[b"-p", b"-t", t], &mut &input[..], &mut out);
        assert_eq!(code, 0, "{:?}", String::from_utf8_lossy(&out));
        assert_eq!(out, b"\0\0\0\0");
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        let m = fs::metadata(&target).unwrap();
        assert_eq!(m.mode() & 0o777, 0o640);
        assert_eq!(m.mtime(), 1_600_000_000);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn sink_refuses_escaping_names_and_directories_without_r() {
        let d = tmp("escape");
        let t = d.as_os_str().as_bytes();
        let mut out = Vec::new();
        let code = serve(&[b"-t", t], &mut &b"C0644 1 ../x\nx\0"[..], &mut out);
        assert_eq!(code, 1);
        assert!(out.starts_with(b"\0\x02scp: protocol error: unexpected filename"));
        out.clear();
        let code = serve(&[b"-t", t], &mut &b"D0755 0 sub\nE\n"[..], &mut out);
        assert_eq!(code, 1);
        assert!(out.starts_with(b"\0\x02scp: received directory without -r"));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn source_sends_a_tree() {
        let d = tmp("source");
        fs::create_dir(d.join("t")).unwrap();
        fs::write(d.join("t/f"), b"abc").unwrap();
        let p = d.join("t");
        let mut out = Vec::new();
        // Ready, then an ack for D, C, the data, and E.
        let code = serve(
            &[b"-r", b"-f", p.as_os_str().as_bytes()],
            &mut &[0u8; 5][..],
            &mut out,
        );
        assert_eq!(code, 0);
        let mode = fs::metadata(&p).unwrap().mode() & 0o7777;
        let fmode = fs::metadata(p.join("f")).unwrap().mode() & 0o7777;
        let want = format!("D{mode:04o} 0 t\nC{fmode:04o} 3 f\nabc\0E\n");
        assert_eq!(String::from_utf8_lossy(&out), want);
        fs::remove_dir_all(&d).unwrap();
    }
}
