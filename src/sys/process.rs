//! Processes: the one way quoll starts a child (fork, then in the child: default signal
//! dispositions, a new session, stdio, the privilege drop, the parent-death signal, exec),
//! signals to children, and forking into the background. What the child runs and with what
//! environment is decided in `daemon::spawn`, which hands a prepared `Plan` to `fork_child`.

use super::fd;
use super::fsys;
use std::ffi::{c_char, CString};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the child is given as fds 0, 1, 2.
#[derive(Clone, Copy)]
pub enum ChildIo {
    Tty(RawFd),
    Pipes([RawFd; 3]),
}

/// What the child executes.
pub enum Target {
    /// A program file (the user's shell, an external sftp-server).
    Path(CString),
    /// quoll itself, under the internal name in argv[0]; `Entry` is what serves that name
    /// (`daemon::multicall::run`) when quoll cannot execute itself again.
    Quoll(Entry),
}

/// quoll's entry point for an internal name: the exit code, `None` for an unknown name.
pub type Entry = fn(&[Vec<u8>]) -> Option<i32>;

/// The identity a child drops to (when quoll runs as root).
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (primary first, sorted, deduplicated), read before fork.
    pub groups: Vec<libc::gid_t>,
}

/// Everything a child uses, prepared in the parent: the child itself only makes system calls
/// (and, where quoll cannot execute itself again, runs the named entry point).
pub struct Plan {
    target: Target,
    /// Owners of the pointers in `argv_ptrs` / `envp_ptrs`.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
    io: ChildIo,
    ids: Option<Ids>,
    /// The directory to start in; on failure the child says `chdir_notice` and starts in `/`.
    home: Option<CString>,
    chdir_notice: Vec<u8>,
    exec_failed: Vec<u8>,
    /// Sent to the child when quoll dies (PR_SET_PDEATHSIG).
    death_signal: libc::c_int,
    /// Scheduling niceness added in the child (helpers doing slow work yield to the loop).
    nice: libc::c_int,
    /// quoll's pid: a child whose parent is already gone when it arms the death signal exits.
    parent: libc::pid_t,
}

fn pointers(strings: &[CString]) -> Vec<*const c_char> {
    let mut p: Vec<_> = strings.iter().map(|s| s.as_ptr()).collect();
    p.push(std::ptr::null());
    p
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        target: Target,
        argv: Vec<CString>,
        envp: Vec<CString>,
        io: ChildIo,
        ids: Option<Ids>,
        home: Option<CString>,
        chdir_notice: Vec<u8>,
        exec_failed: Vec<u8>,
        death_signal: libc::c_int,
        nice: libc::c_int,
    ) -> Plan {
        Plan {
            target,
            argv_ptrs: pointers(&argv),
            envp_ptrs: pointers(&envp),
            _argv: argv,
            _envp: envp,
            io,
            ids,
            home,
            chdir_notice,
            exec_failed,
            death_signal,
            nice,
            parent: nix::unistd::getpid().as_raw(),
        }
    }
}

/// quoll's own environment (`-e`): the `NAME=value` entries that are UTF-8, in order. Read
/// from `environ` directly: std's `env::vars` aborts on a variable that is not UTF-8, and
/// `vars_os` copies everything into `OsString`s first (1.4 KB more of a router build).
pub fn own_environment() -> Vec<(String, String)> {
    extern "C" {
        static environ: *const *const c_char;
    }
    let mut vars = Vec::new();
    // SAFETY: environ is the C library's NULL-terminated array of NUL-terminated strings;
    // quoll is single-threaded and nothing changes it while this runs.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = std::ffi::CStr::from_ptr(*p).to_bytes();
            if let Some((k, v)) = std::str::from_utf8(entry)
                .ok()
                .and_then(|e| e.split_once('='))
                .filter(|(k, _)| !k.is_empty())
            {
                vars.push((k.to_string(), v.to_string()));
            }
            p = p.add(1);
        }
    }
    vars
}

/// Whether children may execute `/proc/self/exe` (set by the daemon's `main`). Off in test
/// builds of the library, where that file is the test harness: the named entry point then
/// runs in the forked child itself.
static SELF_EXEC: AtomicBool = AtomicBool::new(false);

/// Lets children execute quoll again through `/proc/self/exe`; false (and helpers run in the
/// forked child instead, holding a copy of the daemon's memory) when that file cannot be
/// executed, e.g. without /proc.
pub fn enable_self_exec() -> bool {
    // SAFETY: access with a constant C string.
    let ok = unsafe { libc::access(SELF_EXE.as_ptr(), libc::X_OK) } == 0;
    SELF_EXEC.store(ok, Ordering::Relaxed);
    ok
}

const SELF_EXE: &std::ffi::CStr = c"/proc/self/exe";

/// The one way quoll starts a child process.
pub fn fork_child(plan: &Plan) -> io::Result<i32> {
    // SAFETY: the child only runs `child`, which never returns and uses prepared data.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        child(plan);
    }
    Ok(pid)
}

/// Writes all of `bytes` to fd 2, ignoring errors (there is nowhere else to report them).
fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: rest is valid for rest.len() bytes.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Prints `what: strerror(errno)` without allocating.
fn report(what: &[u8], errno: i32) {
    let mut buf = [0u8; 128];
    // SAFETY: buf is writable for buf.len() bytes; strerror_r NUL-terminates on success.
    let text: &[u8] = if unsafe { libc::strerror_r(errno, buf.as_mut_ptr().cast(), buf.len()) } == 0
    {
        let len = buf.iter().position(|&b| b == 0).unwrap_or(0);
        &buf[..len]
    } else {
        b"unknown error"
    };
    write_stderr(what);
    write_stderr(b": ");
    write_stderr(text);
    write_stderr(b"\n");
}

/// Reports a failed step and exits: the child must not go on half set up.
fn die(what: &[u8]) -> ! {
    report(what, errno());
    // SAFETY: _exit ends the child without running the parent's atexit handlers or
    // flushing buffers it shares with the parent.
    unsafe { libc::_exit(1) }
}

/// Returns an fd equal to `fd` but not 0, 1 or 2, so the dup2s onto 0, 1, 2 cannot clobber a
/// source that happens to sit there.
fn above_stdio(fd: RawFd) -> RawFd {
    if fd > 2 {
        return fd;
    }
    // SAFETY: F_DUPFD on a descriptor we hold.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD, 3) };
    if new < 0 {
        die(b"quoll: dup");
    }
    new
}

/// The forked child: set up and exec, or exit. Never returns.
fn child(p: &Plan) -> ! {
    // Default dispositions first, so quoll's handlers (which write to quoll's self-pipe)
    // cannot run here, and an ignored SIGPIPE is not inherited by the user's programs. 128
    // covers MIPS, which has more signals; invalid numbers just fail.
    for sig in 1..128 {
        // SAFETY: setting SIG_DFL has no memory effects; KILL/STOP simply fail.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: set is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }

    // A new session: the child leads its own process group, so signal() reaches its jobs,
    // it can take a controlling terminal, and a Ctrl-C meant for a foreground quoll misses it.
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } < 0 {
        die(b"quoll: setsid");
    }

    let sources = match p.io {
        ChildIo::Tty(slave) => {
            // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
            if unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) } != 0 {
                die(b"quoll: cannot set controlling terminal");
            }
            let slave = above_stdio(slave);
            [slave; 3]
        }
        ChildIo::Pipes(fds) => fds.map(above_stdio),
    };
    for (target, source) in sources.into_iter().enumerate() {
        // SAFETY: dup2 between descriptors we hold; the copy has no close-on-exec flag.
        if unsafe { libc::dup2(source, target as RawFd) } < 0 {
            die(b"quoll: dup2");
        }
    }
    // Nothing else of quoll's: not the listeners, not other users' connections or pipes.
    super::fd::close_from(3);

    if let Some(ids) = &p.ids {
        drop_privileges(ids);
    }
    // After the privilege drop, which clears it.
    // SAFETY: prctl with integer arguments; getppid cannot fail.
    unsafe {
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            p.death_signal as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            die(b"quoll: prctl");
        }
        // quoll died before the signal was armed: nobody is left to serve this child.
        if libc::getppid() != p.parent {
            libc::_exit(1);
        }
    }
    if p.nice != 0 {
        // SAFETY: setpriority with integer arguments; failing leaves the priority as it was.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, p.nice) };
    }

    let home = p.home.as_deref().unwrap_or(c"/");
    // SAFETY: home is a valid C string.
    if unsafe { libc::chdir(home.as_ptr()) } != 0 {
        report(&p.chdir_notice, errno());
        // SAFETY: "/" is a valid C string.
        unsafe { libc::chdir(c"/".as_ptr()) };
    }

    let path = match &p.target {
        Target::Path(path) => path.as_c_str(),
        Target::Quoll(_) if SELF_EXEC.load(Ordering::Relaxed) => SELF_EXE,
        Target::Quoll(entry) => run_here(p, *entry),
    };
    // SAFETY: path is a valid C string; argv and envp are NULL-terminated arrays of
    // pointers into CStrings that `p` keeps alive.
    unsafe { libc::execve(path.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr()) };
    if let Target::Quoll(entry) = p.target {
        // /proc/self/exe went away (an unmounted /proc): the entry point serves in here.
        run_here(p, entry);
    }
    report(&p.exec_failed, errno());
    // SAFETY: see `die`.
    unsafe { libc::_exit(127) }
}

/// Runs quoll's entry point for argv[0]'s name in this forked child and exits with its code.
/// Unlike the exec path this allocates and reads files: quoll is single-threaded, so no lock
/// can be held by a thread lost in the fork.
fn run_here(p: &Plan, entry: Entry) -> ! {
    let args: Vec<Vec<u8>> = p._argv.iter().map(|a| a.as_bytes().to_vec()).collect();
    let code = entry(&args).unwrap_or(127);
    // SAFETY: see `die`; the entry point flushed its output.
    unsafe { libc::_exit(code) }
}

/// Becomes the user, and proves it: any doubt ends the child.
fn drop_privileges(p: &Ids) {
    if let Err(what) = super::ids::become_user(p.uid, p.gid, &p.groups) {
        write_stderr(what.as_bytes());
        write_stderr(b"\n");
        // SAFETY: see `die`.
        unsafe { libc::_exit(1) }
    }
}

/// Sends `sig` to the child's process group (it is a session leader), or to the child alone if
/// the group is gone.
pub fn signal(pid: i32, sig: i32) {
    // kill(0 or -1, ...) would hit quoll itself or every process: never let a bad pid through.
    if pid <= 0 {
        return;
    }
    // SAFETY: kill takes integer arguments only.
    if unsafe { libc::kill(-pid, sig) } != 0 {
        // SAFETY: as above.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Sends `sig` to process `pid` alone; failure (the process is gone) is ignored.
pub fn kill(pid: i32, sig: i32) {
    // kill(0 or -1, ...) would hit quoll itself or every process: never let a bad pid through.
    if pid <= 0 {
        return;
    }
    // SAFETY: kill takes integer arguments only.
    unsafe { libc::kill(pid, sig) };
}

/// waitpid(pid, WNOHANG): the wait status once `pid` has ended, `None` while it runs.
pub fn wait_nohang(pid: i32) -> io::Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match r {
        r if r < 0 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        _ => Ok(Some(status)),
    }
}

/// For tests: waits (at most `limit`) for child `pid` to end and returns its wait status;
/// a child that overstays is killed and the test fails.
#[cfg(test)]
pub fn wait_within(pid: i32, limit: std::time::Duration) -> i32 {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match wait_nohang(pid) {
            Ok(Some(status)) => return status,
            Ok(None) => {}
            Err(e) => panic!("waitpid {pid} failed: {e}"),
        }
        if std::time::Instant::now() > deadline {
            kill(pid, libc::SIGKILL);
            panic!("child {pid} did not end within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Names the process (what `ps -o comm` and /proc/PID/comm show): at most 15 bytes of `name`.
pub fn set_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from buf.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Forks into the background: the parent exits, the child starts a new session with stdio on
/// /dev/null, as Dropbear does without `-F`.
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: single-threaded; the child continues with this process's state.
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        // SAFETY: the parent leaves at once without running destructors.
        _ => unsafe { libc::_exit(0) },
    }
    // Each failure below ends the child with the reason (main logs it): a daemon still
    // tied to the terminal or its directory would hold them for its whole life.
    // In the child, which is not a group leader.
    nix::unistd::setsid()?;
    let null = fsys::open(std::path::Path::new("/dev/null"), fsys::OFlag::O_RDWR, 0)?;
    for fd in 0..3 {
        fd::dup_onto(&null, fd)?;
    }
    nix::unistd::chdir(c"/")?;
    Ok(())
}
