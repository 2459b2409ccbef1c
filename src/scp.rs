//! The server side of the legacy scp/rcp protocol (`scp -O`): `scp -t` (sink: receive files)
//! and `scp -f` (source: send files), answered by quoll itself on boards without an `scp`
//! binary. It runs in the session child after the privilege drop, as the user.
//!
//! The protocol: the source sends records, each answered by the sink with one byte
//! (`\0` ok, `\x01msg\n` error, `\x02msg\n` fatal error):
//!
//! - `T<mtime> 0 <atime> 0\n` times for the next file or directory (with `-p`),
//! - `C<mode> <size> <name>\n`, then `<size>` bytes and a status byte from the source,
//! - `D<mode> 0 <name>\n` enter a directory (with `-r`), `E\n` leave it.
//!
//! The command line arrives as one string meant for a shell; `parse_command` splits it with
//! the quoting clients send, and never hands it to a shell.

#![forbid(unsafe_code)]

use crate::daemon::fds::STDERR;
use crate::fsys::{self, show, Dir, Stat};
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

/// Characters a word keeps backslash-escaped when they came quoted: the glob characters,
/// `~` (home) and the backslash itself.
const SPECIAL: &[u8] = b"*?[~\\";

/// Splits a shell command line into words, as patterns: blanks separate words; `'...'` is
/// literal; `"..."` is literal but for `\\`-escapes of `\\ " $ \``; `\\x` outside quotes is
/// a literal `x`. Literal (quoted or escaped) `* ? [ ~ \\` are kept backslash-escaped in the
/// word, so that only unquoted ones glob or expand (see `unescape`, `expand`).
/// Returns `None` on an unterminated quote or an unquoted shell operator or expansion
/// (`; & | < > ( ) $ \`` and newline): such a line needs a real shell.
pub fn split_words(cmd: &[u8]) -> Option<Vec<Vec<u8>>> {
    fn literal(w: &mut Vec<u8>, c: u8) {
        if SPECIAL.contains(&c) {
            w.push(b'\\');
        }
        w.push(c);
    }
    let mut words = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < cmd.len() {
        let c = cmd[i];
        i += 1;
        match c {
            b' ' | b'\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            b'\'' => {
                let w = word.get_or_insert_with(Vec::new);
                let end = cmd[i..].iter().position(|&b| b == b'\'')?;
                for &b in &cmd[i..i + end] {
                    literal(w, b);
                }
                i += end + 1;
            }
            b'"' => {
                let w = word.get_or_insert_with(Vec::new);
                loop {
                    let c = *cmd.get(i)?;
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' if matches!(cmd.get(i), Some(b'\\' | b'"' | b'$' | b'`')) => {
                            literal(w, cmd[i]);
                            i += 1;
                        }
                        b'$' | b'`' => return None,
                        _ => literal(w, c),
                    }
                }
            }
            b'\\' => {
                let c = *cmd.get(i)?;
                i += 1;
                if c != b'\n' {
                    literal(word.get_or_insert_with(Vec::new), c);
                }
            }
            b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'$' | b'`' | b'\n' => return None,
            _ => word.get_or_insert_with(Vec::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Some(words)
}

/// A pattern word with its escapes removed: the literal text.
pub fn unescape(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'\\' && i + 1 < p.len() {
            i += 1;
        }
        out.push(p[i]);
        i += 1;
    }
    out
}

/// Whether a pattern has an unescaped `*`, `?` or `[`.
fn has_glob(p: &[u8]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Matches a `[...]` class at the start of `p` against `c`: (matched, length of the class),
/// or `None` when the class is not closed (then `[` is literal, as in the shell).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&b| b != b']') {
            hi = p[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *p.get(i)?;
                i += 1;
            }
        }
        matched |= (lo..=hi).contains(&c);
    }
}

/// fnmatch(3) without flags over bytes: `*`, `?`, `[...]`, backslash escapes.
pub fn glob_match(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ni));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match class(&p[pi..], n[ni]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (n[ni] == b'[').then_some(1),
            },
            Some(b'\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(2),
            Some(&c) => (c == n[ni]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                pi += len;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Expands a source pattern as the shell would: a leading unquoted `~` is the home
/// directory; unquoted glob characters in the last component match directory entries
/// (dot files only when the pattern starts with a dot), sorted. No match leaves the
/// pattern as it is, so the error names it.
fn expand(p: &[u8], home: Option<&Path>) -> Vec<PathBuf> {
    let (prefix, p) = match (home, p) {
        (Some(h), b"~") => (Some(h), &b""[..]),
        (Some(h), _) if p.starts_with(b"~/") => (Some(h), &p[2..]),
        _ => (None, p),
    };
    let join = |rest: &[u8]| -> PathBuf {
        let rest = PathBuf::from(std::ffi::OsStr::from_bytes(rest));
        match prefix {
            Some(h) => h.join(rest),
            None => rest,
        }
    };
    let (dir, last) = match p.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => (&b""[..], p),
    };
    if !has_glob(last) || has_glob(dir) {
        return vec![join(&unescape(p))];
    }
    let dir_lit = unescape(dir);
    let dir_path = join(&dir_lit);
    let listing = Dir::open(if dir_path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir_path
    });
    let mut names: Vec<Vec<u8>> = listing
        .into_iter()
        .flatten()
        .flatten()
        .filter(|n| !is_dot_or_dotdot(n))
        .filter(|n| (!n.starts_with(b".") || last.starts_with(b".")) && glob_match(last, n))
        .collect();
    if names.is_empty() {
        return vec![join(&unescape(p))];
    }
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let mut full = dir_lit.clone();
            full.extend_from_slice(&n);
            join(&full)
        })
        .collect()
}

/// The arguments after `scp` when `cmd` is an `scp -t ...` or `scp -f ...` command line that
/// the built-in can serve; `None` for anything else.
pub fn parse_command(cmd: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = split_words(cmd)?;
    if words.first().map(Vec::as_slice) != Some(b"scp") {
        return None;
    }
    words.remove(0);
    let opts = Opts::parse(&words).ok()?;
    Some(words).filter(|_| opts.sink != opts.source)
}

/// The scp options the server side understands.
#[derive(Debug, Default, PartialEq, Eq)]
struct Opts {
    sink: bool,
    source: bool,
    recursive: bool,
    preserve: bool,
    target_is_dir: bool,
    /// Index of the first operand.
    operands: usize,
}

impl Opts {
    fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Opts, String> {
        let mut o = Opts::default();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_ref();
            if a == b"--" {
                i += 1;
                break;
            }
            let Some(flags) = a.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
                break;
            };
            for &f in flags {
                match f {
                    b't' => o.sink = true,
                    b'f' => o.source = true,
                    b'r' => o.recursive = true,
                    b'p' => o.preserve = true,
                    b'd' => o.target_is_dir = true,
                    // Verbose and quiet only change what a client prints.
                    b'v' | b'q' => {}
                    _ => return Err(format!("unsupported option -{}", f as char)),
                }
            }
            i += 1;
        }
        o.operands = i;
        Ok(o)
    }
}

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
    let home = crate::daemon::users::by_uid(fsys::uid()).map(|u| PathBuf::from(u.home));
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

/// `p` with its unescaped glob characters escaped: only `~` still expands.
fn escape_globs(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' if i + 1 < p.len() => {
                out.extend_from_slice(&p[i..i + 2]);
                i += 2;
                continue;
            }
            b'*' | b'?' | b'[' => out.push(b'\\'),
            _ => {}
        }
        out.push(p[i]);
        i += 1;
    }
    out
}

/// "." and "..", which readdir(3) lists and a shell's glob and scp's recursion leave out.
fn is_dot_or_dotdot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

fn os_err(e: &io::Error) -> String {
    crate::ioerr::message(e)
}

/// A parsed `C` or `D` record.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub dir: bool,
    pub mode: u32,
    pub size: u64,
    pub name: &'a [u8],
}

/// Parses `C0644 12 name` / `D0755 0 name` (without the newline). Rejects names that would
/// leave the target directory.
pub fn parse_record(line: &[u8]) -> Result<Record<'_>, &'static str> {
    let (&kind, rest) = line.split_first().ok_or("empty record")?;
    if kind != b'C' && kind != b'D' {
        return Err("expected control record");
    }
    let mode_end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or("mode not delimited")?;
    let mode_digits = &rest[..mode_end];
    if mode_digits.is_empty()
        || mode_digits.len() > 4
        || !mode_digits.iter().all(|b| (b'0'..=b'7').contains(b))
    {
        return Err("bad mode");
    }
    let mode = mode_digits
        .iter()
        .fold(0u32, |m, &d| (m << 3) | u32::from(d - b'0'));
    let rest = &rest[mode_end + 1..];
    let size_end = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or("size not delimited")?;
    let size_digits = &rest[..size_end];
    if size_digits.is_empty() || !size_digits.iter().all(u8::is_ascii_digit) {
        return Err("size not present");
    }
    let size = std::str::from_utf8(size_digits)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s <= i64::MAX as u64)
        .ok_or("size out of range")?;
    let name = &rest[size_end + 1..];
    if name.is_empty() || name.contains(&b'/') || name == b".." || name == b"." {
        return Err("unexpected filename");
    }
    Ok(Record {
        dir: kind == b'D',
        mode,
        size,
        name,
    })
}

/// Parses `T<mtime> <usec> <atime> <usec>` (without the `T` and newline): (mtime, atime).
pub fn parse_times(line: &[u8]) -> Option<(i64, i64)> {
    let text = std::str::from_utf8(line).ok()?;
    let f: Vec<&str> = text.split(' ').collect();
    if f.len() != 4 {
        return None;
    }
    let n = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (mtime, _, atime, _) = (n(f[0])?, n(f[1])?, n(f[2])?, n(f[3])?);
    Some((mtime, atime))
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
        let flags = libc::O_WRONLY | libc::O_CREAT;
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
        let file = match fsys::open(path, libc::O_RDONLY, 0) {
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
        let mut rec = format!("C{:04o} {} ", meta.mode & MODE_MASK, meta.size).into_bytes();
        rec.extend_from_slice(name);
        rec.push(b'\n');
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
        let t = format!("T{} 0 {} 0\n", meta.mtime.max(0), meta.atime.max(0));
        self.send(t.as_bytes())?;
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
        let mut rec = format!("D{:04o} 0 ", meta.mode & MODE_MASK).into_bytes();
        rec.extend_from_slice(name);
        rec.push(b'\n');
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
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    fn words(s: &str) -> Option<Vec<String>> {
        split_words(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|w| String::from_utf8(w).unwrap())
                .collect()
        })
    }

    #[test]
    fn splitting_follows_shell_quoting() {
        assert_eq!(
            words("scp -t -- '/tmp/a b'").unwrap(),
            ["scp", "-t", "--", "/tmp/a b"]
        );
        assert_eq!(words(r"scp -f 'it'\''s'").unwrap(), ["scp", "-f", "it's"]);
        assert_eq!(words(r"scp -f a\ b").unwrap(), ["scp", "-f", "a b"]);
        assert_eq!(
            words(r#"scp -f "a \"b\" \$c""#).unwrap(),
            ["scp", "-f", r#"a "b" $c"#]
        );
        assert_eq!(words("  scp\t-t  x  ").unwrap(), ["scp", "-t", "x"]);
        assert_eq!(words("scp -t ''").unwrap(), ["scp", "-t", ""]);
        assert_eq!(
            words("scp -f 'ünï cødé'").unwrap(),
            ["scp", "-f", "ünï cødé"]
        );
        // Needs a shell: operators, expansions, globs, unterminated quotes.
        for bad in [
            "scp -t x; rm -rf /",
            "scp -t $HOME",
            "scp -t 'x",
            "scp -t \"x",
            "scp -t x\\",
            "scp -t `id`",
            "scp -t x | y",
            "scp -t \"$(id)\"",
        ] {
            assert_eq!(words(bad), None, "{bad}");
        }
    }

    #[test]
    fn quoted_specials_stay_escaped() {
        assert_eq!(
            words(r#"scp -f '*.txt' \? "[a]" *.log ~/x '~'"#).unwrap(),
            ["scp", "-f", r"\*.txt", r"\?", r"\[a]", "*.log", "~/x", r"\~"]
        );
        assert_eq!(words(r"scp -f 'a\b'").unwrap(), ["scp", "-f", r"a\\b"]);
        assert_eq!(unescape(br"a\\b\*c"), br"a\b*c");
    }

    #[test]
    fn glob_matching() {
        let m = |p: &str, n: &str| glob_match(p.as_bytes(), n.as_bytes());
        assert!(m("*.log", "a.log") && m("*.log", ".log") && !m("*.log", "a.txt"));
        assert!(m("a*b*c", "aXXbYYc") && m("a*b*c", "abc") && !m("a*b*c", "acb"));
        assert!(m("?x", "ax") && !m("?x", "x"));
        assert!(m("[a-c]1", "b1") && !m("[a-c]1", "d1") && m("[!a-c]1", "d1"));
        assert!(m("[]]", "]") && m("[a-]", "-"));
        assert!(m(r"\*", "*") && !m(r"\*", "a"));
        assert!(m("[", "[") && m("x[y", "x[y"));
        assert!(m("*", "") && m("**", "abc"));
    }

    #[test]
    fn sources_expand_like_a_shell() {
        let d = tmp("glob");
        for n in ["a.log", "b.log", ".h.log", "c.txt", "*.log"] {
            fs::write(d.join(n), b"").unwrap();
        }
        let dir = d.as_os_str().as_bytes();
        let pat = |p: &str| [dir, b"/", p.as_bytes()].concat();
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(expand(&pat("*.log"), None)),
            ["*.log", "a.log", "b.log"]
        );
        assert_eq!(names(expand(&pat(".*.log"), None)), [".h.log"]);
        // readdir's "." and ".." are no matches, as in a shell.
        assert_eq!(expand(&pat(".*"), None), [d.join(".h.log")]);
        assert_eq!(names(expand(&pat(r"\*.log"), None)), ["*.log"]);
        assert_eq!(names(expand(&pat("*.none"), None)), ["*.none"]);
        let home = Path::new("/home/u");
        assert_eq!(expand(b"~/a b", Some(home)), [PathBuf::from("/home/u/a b")]);
        assert_eq!(expand(b"~", Some(home)), [PathBuf::from("/home/u")]);
        assert_eq!(expand(br"\~/x", Some(home)), [PathBuf::from("~/x")]);
        assert_eq!(escape_globs(b"a*b"), br"a\*b");
        fs::remove_dir_all(&d).unwrap();
    }

    /// Random command lines, records and patterns never panic.
    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"scp -tf'\"\\*?[]!^-~/ a\n0123CDTE";
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() as usize) % alphabet.len()])
                .collect();
            let _ = parse_command(&s);
            let _ = parse_record(&s);
            let _ = parse_times(&s);
            let _ = glob_match(&s, b"a-b]c");
            let _ = glob_match(b"[a-", &s);
            let _ = unescape(&s);
        }
    }

    #[test]
    fn commands() {
        let p = |s: &str| parse_command(s.as_bytes());
        assert_eq!(
            p("scp -v -r -p -t -- /tmp/x").unwrap(),
            vec![
                b"-v".to_vec(),
                b"-r".to_vec(),
                b"-p".to_vec(),
                b"-t".to_vec(),
                b"--".to_vec(),
                b"/tmp/x".to_vec()
            ]
        );
        assert!(p("scp -f a b").is_some());
        assert!(p("scp -prf a").is_some());
        assert_eq!(p("scp a b"), None);
        assert_eq!(p("scp -t -f x"), None);
        assert_eq!(p("/usr/bin/scp -t x"), None);
        assert_eq!(p("scp -Z -t x"), None);
        assert_eq!(p("ls -t"), None);
        assert_eq!(p("scp -t x && reboot"), None);
    }

    #[test]
    fn records() {
        assert_eq!(
            parse_record(b"C0644 12 a b"),
            Ok(Record {
                dir: false,
                mode: 0o644,
                size: 12,
                name: b"a b"
            })
        );
        assert_eq!(
            parse_record(b"D4755 0 dir"),
            Ok(Record {
                dir: true,
                mode: 0o4755,
                size: 0,
                name: b"dir"
            })
        );
        for bad in [
            &b"C0644 12 ../x"[..],
            b"C0644 12 ..",
            b"C0644 12 a/b",
            b"C0644 12 ",
            b"C0648 1 x",
            b"C06444 1 x",
            b"C0644 -1 x",
            b"C0644 99999999999999999999 x",
            b"C0644 1x",
            b"X0644 1 x",
            b"C",
            b"",
        ] {
            assert!(
                parse_record(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_times(b"1700000000 0 1600000000 0"),
            Some((1_700_000_000, 1_600_000_000))
        );
        assert_eq!(parse_times(b"1 0 2"), None);
        assert_eq!(parse_times(b"-1 0 2 0"), None);
    }

    fn tmp(tag: &str) -> PathBuf {
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
