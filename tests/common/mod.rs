//! Test harness shared by the integration tests: a temporary directory per test, a client key,
//! a server on a free loopback port, and the real OpenSSH client run with a timeout.
//!
//! The server is the real `quoll` binary. For validating the tests themselves, set
//! `QUOLL_TEST_SERVER=sshd` to run the same tests against OpenSSH's sshd (configured with
//! quoll's algorithms); tests of quoll-only features print a note and return in that mode.
//! Dropbear cannot serve as a stand-in: this version has no `-D` (authorized keys directory)
//! and would read `~/.ssh/authorized_keys` of the real user. `QUOLL_BIN=PATH` runs another
//! quoll binary (e.g. `target/release/quoll`) instead of the one Cargo built for the tests.

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Longest a single client command may run before it is killed and the test fails.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a server may take to log that it listens and accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Temporary directories

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory under the system temp dir, unique per process and call, removed on drop
/// (kept when `QUOLL_TEST_KEEP` is set, for looking at keys and logs after a failure).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("quoll-test-{}-{}-{}", tag, std::process::id(), n));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {}", path.display(), e));
        // 0755 whatever the umask: the server refuses group/world-writable key directories,
        // and a session user other than us (the privileges test) must be able to enter it.
        set_mode(&path, 0o755);
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("QUOLL_TEST_KEEP").is_some() {
            eprintln!("QUOLL_TEST_KEEP: leaving {}", self.path.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {}", path.display(), e));
}

// ---------------------------------------------------------------------------------------------
// Running commands with a timeout

/// What a finished command left behind. `code` is None when it died from a signal.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Out {
    pub fn describe(&self) -> String {
        format!(
            "exit code: {:?}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            if self.timed_out {
                " (KILLED: timed out)"
            } else {
                ""
            },
            tail(&self.stdout, 4000),
            tail(&self.stderr, 4000)
        )
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> Option<thread::JoinHandle<Vec<u8>>> {
    r.map(|mut r| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    })
}

/// Waits for `child` up to `timeout`; kills it when the time is up.
/// Returns (exit code, timed out).
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> (Option<i32>, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (status.code(), false),
            Ok(None) => {}
            Err(e) => panic!("wait: {}", e),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let status = child.wait().ok();
            return (status.and_then(|s| s.code()), true);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` with stdin from `stdin`, stdout to `stdout` (captured when `Stdio::piped()`),
/// stderr captured, killing it after `timeout`.
pub fn run_io(cmd: &mut Command, stdin: Stdio, stdout: Stdio, timeout: Duration) -> Out {
    cmd.stdin(stdin).stdout(stdout).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {}", cmd, e));
    let out_t = drain(child.stdout.take());
    let err_t = drain(child.stderr.take());
    let (code, timed_out) = wait_timeout(&mut child, timeout);
    let collect = |t: Option<thread::JoinHandle<Vec<u8>>>| {
        t.map(|t| String::from_utf8_lossy(&t.join().unwrap_or_default()).into_owned())
            .unwrap_or_default()
    };
    Out {
        code,
        stdout: collect(out_t),
        stderr: collect(err_t),
        timed_out,
    }
}

/// Runs `cmd` with no stdin and captured output, killing it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Out {
    run_io(cmd, Stdio::null(), Stdio::piped(), timeout)
}

/// Runs a local shell command that must succeed; returns its stdout.
pub fn sh(script: &str) -> String {
    let out = run(Command::new("sh").arg("-c").arg(script), CMD_TIMEOUT);
    assert_eq!(
        out.code,
        Some(0),
        "local command failed: {}\n{}",
        script,
        out.describe()
    );
    out.stdout
}

/// Generates an Ed25519 key pair with ssh-keygen at `path` (and `path.pub`).
pub fn ssh_keygen(path: &Path) {
    let out = run(
        Command::new("ssh-keygen")
            .args(["-t", "ed25519", "-N", "", "-q", "-C", "quoll-test", "-f"])
            .arg(path),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "ssh-keygen failed: {}", out.describe());
}

/// The `SHA256:...` token of the first line of `ssh-keygen -l -f FILE` (or similar output).
pub fn fingerprint_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .map(|s| s.to_string())
}

pub fn current_user() -> String {
    sh("id -un").trim().to_string()
}

/// Creates a throwaway login user (password field "*": no password, not locked, so no server
/// treats the account as locked) with the supplementary group `users` when it exists, unless
/// it exists already. It is left in place: later runs reuse it. Needs root.
pub fn ensure_user(name: &str) {
    if run(Command::new("id").arg("-u").arg(name), CMD_TIMEOUT).code == Some(0) {
        return;
    }
    let mut cmd = Command::new("useradd");
    cmd.args(["-m", "-s", "/bin/sh", "-p", "*"]);
    if run(Command::new("getent").args(["group", "users"]), CMD_TIMEOUT).code == Some(0) {
        cmd.args(["-G", "users"]);
    }
    cmd.arg(name);
    let out = run(&mut cmd, CMD_TIMEOUT);
    // Another test process may have created it in the meantime.
    let exists = run(Command::new("id").arg("-u").arg(name), CMD_TIMEOUT).code == Some(0);
    assert!(exists, "useradd {} failed:\n{}", name, out.describe());
}

/// A throwaway local account with a known password, removed on drop.
pub struct TestUser {
    pub name: String,
}

impl TestUser {
    /// None (with a note) against another server than quoll; a failure when the tests cannot
    /// create users or type passwords here.
    pub fn create(tag: &str, password: &str, shell: &str) -> Option<TestUser> {
        if skip_unless_quoll("a throwaway account") {
            return None;
        }
        require_root("creating a throwaway account");
        require(
            Command::new("sshpass").arg("-V").output().is_ok(),
            "sshpass is not installed (scripts/test installs it)",
        );
        let name = format!("qt{}{}", tag, std::process::id() % 100000);
        let _ = Command::new("userdel").args(["-r", &name]).output();
        sh(&format!("useradd -m -s {shell} {name}"));
        sh(&format!("echo '{name}:{password}' | chpasswd"));
        Some(TestUser { name })
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .output();
    }
}

pub fn is_root() -> bool {
    sh("id -u").trim() == "0"
}

/// A test that cannot check what it claims here fails, saying what it lacks: it is never
/// counted as passed without having run. (`scripts/test` runs as root and installs the tools.)
#[track_caller]
pub fn require(ok: bool, what: &str) {
    assert!(ok, "NOT RUN: {what}");
}

/// `require` for tests that need root (other accounts, privilege drops, interfaces).
#[track_caller]
pub fn require_root(what: &str) {
    require(
        is_root(),
        &format!(
            "{what} needs the tests to run as root (they run as uid {})",
            sh("id -u").trim()
        ),
    );
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {}", path.display(), e));
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

/// Writes `size` random bytes (from /dev/urandom) to a new file at `path`; returns their
/// sha256.
pub fn random_file(path: &Path, size: usize) -> String {
    use sha2::Digest;
    let mut src = File::open("/dev/urandom").expect("open /dev/urandom");
    let mut dst = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len());
        src.read_exact(&mut buf[..n]).expect("read /dev/urandom");
        dst.write_all(&buf[..n]).expect("write random file");
        h.update(&buf[..n]);
        left -= n;
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// The server under test

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Quoll,
    Sshd,
}

/// Which server the tests run against (`QUOLL_TEST_SERVER`, default quoll).
pub fn kind() -> Kind {
    match std::env::var("QUOLL_TEST_SERVER").as_deref() {
        Err(_) | Ok("") | Ok("quoll") => Kind::Quoll,
        Ok("sshd") => Kind::Sshd,
        Ok("dropbear") => panic!(
            "QUOLL_TEST_SERVER=dropbear is not supported: this dropbear has no -D option and \
             would use the real user's ~/.ssh/authorized_keys"
        ),
        Ok(other) => panic!("QUOLL_TEST_SERVER={}: expected quoll or sshd", other),
    }
}

/// For tests of quoll-only behaviour: true (after printing why) when running against another
/// server, in which case the test returns early.
pub fn skip_unless_quoll(what: &str) -> bool {
    if kind() != Kind::Quoll {
        eprintln!("SKIPPED against {:?}: {} is quoll-specific", kind(), what);
        return true;
    }
    false
}

/// The quoll binary: Cargo's build of this crate, or `QUOLL_BIN` (e.g. a release build).
pub fn quoll_bin() -> String {
    std::env::var("QUOLL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_quoll").to_string())
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-T N`; None leaves the server's default (10).
    pub max_auth_tries: Option<u32>,
    /// The user to log in as; default: the user running the tests.
    pub user: Option<String>,
    /// A host key file to use instead of `TMP/hostkey` (which quoll generates on first start).
    pub hostkey: Option<PathBuf>,
    /// More quoll arguments (e.g. `--builtin-scp`); ignored for other servers.
    pub extra_args: Vec<String>,
    /// A command that runs quoll (given as its last arguments), e.g. to start it in a mount
    /// namespace of its own; quoll only.
    pub wrapper: Vec<String>,
    /// Run quoll under `ulimit -v` of this many KiB (its address-space limit, as a small
    /// board with strict overcommit behaves); ignored for other servers.
    pub address_space_kib: Option<u64>,
    /// Start quoll with this descriptor limit (soft and hard RLIMIT_NOFILE, as
    /// `sh -c 'ulimit -n N; exec quoll ...'` would).
    pub nofile: Option<u64>,
}

pub struct Server {
    pub port: u16,
    pub user: String,
    /// The authorized client key (private half; `.pub` beside it).
    pub client_key: PathBuf,
    /// The host key file passed with `-r`.
    pub hostkey: PathBuf,
    pub known_hosts: PathBuf,
    pub log_path: PathBuf,
    pub kind: Kind,
    opts: Options,
    child: Option<Child>,
    // Last: removed after the server was killed.
    pub dir: TempDir,
}

impl Server {
    /// Starts a server with default options.
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Server {
        let dir = TempDir::new("srv");
        let client_key = dir.join("id_ed25519");
        ssh_keygen(&client_key);
        fs::copy(dir.join("id_ed25519.pub"), dir.join("authorized_keys"))
            .expect("write authorized_keys");
        set_mode(&dir.join("authorized_keys"), 0o644);
        let hostkey = opts.hostkey.clone().unwrap_or_else(|| dir.join("hostkey"));
        let mut srv = Server {
            port: 0,
            user: opts.user.clone().unwrap_or_else(current_user),
            client_key,
            hostkey,
            known_hosts: dir.join("known_hosts"),
            log_path: dir.join("server.log"),
            kind: kind(),
            opts,
            child: None,
            dir,
        };
        srv.spawn();
        srv
    }

    /// Stops the server and starts it again (same host key file, directory and log) on a new port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Kills the server process.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the server process is still running (not exited, not killed).
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Starts the server on a fresh port. Another process may grab the port between
    /// `free_port` and the server's bind; then the start is retried on another port.
    fn spawn(&mut self) {
        for _attempt in 0..5 {
            if self.spawn_once() {
                return;
            }
        }
        panic!(
            "server could not bind a free port in 5 attempts:\n{}",
            self.log()
        );
    }

    /// The log line that says the server is listening.
    fn ready_marker(&self) -> &'static str {
        match self.kind {
            Kind::Quoll => "Not backgrounding",
            Kind::Sshd => "Server listening on",
        }
    }

    fn spawn_once(&mut self) -> bool {
        self.port = free_port();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open server log");
        let log_start = log.metadata().map(|m| m.len() as usize).unwrap_or(0);
        let mut cmd = match self.kind {
            Kind::Quoll => {
                // Run through `sh -c 'ulimit -v ...'` or the given wrapper; either becomes
                // quoll (exec), so the pid stays the same.
                let wrapper = match self.opts.address_space_kib {
                    Some(kib) => vec![
                        "sh".to_string(),
                        "-c".to_string(),
                        format!("ulimit -v {kib} && exec \"$0\" \"$@\""),
                    ],
                    None => self.opts.wrapper.clone(),
                };
                let mut c = match wrapper.split_first() {
                    Some((program, args)) => {
                        let mut c = Command::new(program);
                        c.args(args).arg(quoll_bin());
                        c
                    }
                    None => Command::new(quoll_bin()),
                };
                c.arg("-F")
                    .arg("-E")
                    .arg("-p")
                    .arg(format!("127.0.0.1:{}", self.port));
                c.arg("-r")
                    .arg(&self.hostkey)
                    .arg("-D")
                    .arg(self.dir.path());
                if let Some(n) = self.opts.max_auth_tries {
                    c.arg("-T").arg(n.to_string());
                }
                c.args(&self.opts.extra_args);
                if let Some(n) = self.opts.nofile {
                    use std::os::unix::process::CommandExt;
                    // SAFETY: only setrlimit (async-signal-safe) between fork and exec.
                    unsafe {
                        c.pre_exec(move || {
                            let r = libc::rlimit {
                                rlim_cur: n as libc::rlim_t,
                                rlim_max: n as libc::rlim_t,
                            };
                            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                }
                c
            }
            Kind::Sshd => {
                let cfg = self.write_sshd_config();
                let mut c = Command::new("/usr/sbin/sshd");
                c.arg("-D").arg("-e").arg("-f").arg(cfg);
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {}", cmd, e));
        self.child = Some(child);
        self.wait_listening(log_start)
    }
    fn write_sshd_config(&self) -> PathBuf {
        if !self.hostkey.exists() {
            ssh_keygen(&self.hostkey);
        }
        if is_root() {
            // sshd refuses to start without its privilege separation directory.
            let _ = fs::create_dir_all("/run/sshd");
        }
        let cfg = self.dir.join("sshd_config");
        let text = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {dir}/authorized_keys\n\
             StrictModes no\nPidFile none\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin yes\nMaxAuthTries {tries}\n\
             MaxStartups 100\nMaxSessions 20\nLogLevel VERBOSE\n\
             KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\n\
             HostKeyAlgorithms ssh-ed25519\nCiphers chacha20-poly1305@openssh.com,\
             aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com\n\
             MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,\
             hmac-sha2-256,hmac-sha2-512\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n",
            port = self.port,
            hk = self.hostkey.display(),
            dir = self.dir.path().display(),
            tries = self.opts.max_auth_tries.unwrap_or(10),
        );
        fs::write(&cfg, text).expect("write sshd_config");
        cfg
    }

    /// Waits until this server logged that it listens and the port accepts. Both, so that a
    /// stranger that took the port in the meantime is not mistaken for our server. False when
    /// the server exited because the address was in use.
    fn wait_listening(&mut self, log_start: usize) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        let new_log = |srv: &Server| srv.log().get(log_start..).unwrap_or("").to_string();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("try_wait") {
                self.child = None;
                if new_log(self).contains("in use") {
                    return false;
                }
                panic!("server exited during start ({}):\n{}", status, self.log());
            }
            if new_log(self).contains(self.ready_marker()) {
                let addr = format!("127.0.0.1:{}", self.port).parse().unwrap();
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                self.stop();
                panic!(
                    "server did not log {:?} and accept connections on port {} within {:?}:\n{}",
                    self.ready_marker(),
                    self.port,
                    START_TIMEOUT,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log_path).unwrap_or_default()).into_owned()
    }

    /// A failure message: the command's output and the server's log.
    pub fn context(&self, out: &Out) -> String {
        format!(
            "{}\n--- server log ({:?}) ---\n{}",
            out.describe(),
            self.kind,
            tail(&self.log(), 6000)
        )
    }

    /// `ssh` with the harness options and the given identity files; `opts` go first (for ssh
    /// the first value of an option wins), then `USER@127.0.0.1`, then `remote` (if not empty).
    pub fn ssh_command_keys(&self, keys: &[&Path], opts: &[&str], remote: &str) -> Command {
        self.ssh_program_command(Path::new("ssh"), keys, opts, remote)
    }

    /// `ssh_command_keys` with another ssh binary (e.g. a newer OpenSSH built under build/).
    pub fn ssh_program_command(
        &self,
        program: &Path,
        keys: &[&Path],
        opts: &[&str],
        remote: &str,
    ) -> Command {
        let mut c = Command::new(program);
        c.arg("-F").arg("/dev/null");
        c.args(opts);
        c.arg("-p").arg(self.port.to_string());
        for k in keys {
            c.arg("-i").arg(k);
        }
        self.client_options(&mut c);
        c.arg(format!("{}@127.0.0.1", self.user));
        if !remote.is_empty() {
            c.arg("--").arg(remote);
        }
        c
    }

    /// The `-o` options every client command of the harness gets: this server's known_hosts,
    /// no agent, no user configuration, no prompts.
    pub fn client_options(&self, c: &mut Command) {
        for o in [
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "StrictHostKeyChecking=accept-new".to_string(),
            "BatchMode=yes".to_string(),
            "ConnectTimeout=10".to_string(),
            "IdentitiesOnly=yes".to_string(),
            "IdentityAgent=none".to_string(),
            "ControlPath=none".to_string(),
            "LogLevel=ERROR".to_string(),
        ] {
            c.arg("-o").arg(o);
        }
    }

    /// `scp` or `sftp` (`program`) with the harness options and the client key; the caller
    /// adds its own options and the `USER@127.0.0.1:PATH` / `USER@127.0.0.1` operands.
    pub fn transfer_command(&self, program: &str, opts: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.arg("-F").arg("/dev/null");
        c.args(opts);
        c.arg("-P").arg(self.port.to_string());
        c.arg("-i").arg(&self.client_key);
        self.client_options(&mut c);
        c
    }

    /// `USER@127.0.0.1:path`, the remote operand of scp.
    pub fn remote(&self, path: &str) -> String {
        format!("{}@127.0.0.1:{}", self.user, path)
    }

    /// `ssh` with the authorized client key.
    pub fn ssh_command(&self, opts: &[&str], remote: &str) -> Command {
        self.ssh_command_keys(&[&self.client_key], opts, remote)
    }

    /// Runs `ssh ... remote` (stdin /dev/null) with the timeout; panics with context on timeout.
    pub fn ssh_opts(&self, opts: &[&str], remote: &str) -> Out {
        let out = run(&mut self.ssh_command(opts, remote), CMD_TIMEOUT);
        assert!(!out.timed_out, "ssh timed out:\n{}", self.context(&out));
        out
    }

    pub fn ssh(&self, remote: &str) -> Out {
        self.ssh_opts(&[], remote)
    }

    /// Runs a command that must exit 0 and returns its stdout.
    pub fn ssh_ok(&self, remote: &str) -> String {
        let out = self.ssh(remote);
        assert_eq!(
            out.code,
            Some(0),
            "ssh {:?} failed:\n{}",
            remote,
            self.context(&out)
        );
        out.stdout
    }

    /// Like `ssh_ok`, with the client's socket bound to `local` (a 127.x.y.z address).
    pub fn ssh_ok_from(&self, local: &str, remote: &str) -> String {
        let out = self.ssh_opts(&["-b", local], remote);
        assert_eq!(
            out.code,
            Some(0),
            "ssh -b {local} {:?} failed:\n{}",
            remote,
            self.context(&out)
        );
        out.stdout
    }

    /// Opens a long-lived `ssh ... cat` session to prove the daemon still serves it later.
    pub fn cat_session(&self) -> CatSession {
        self.try_cat_session(&[]).unwrap_or_else(|e| {
            panic!(
                "cat session did not start: {}\n--- server log ---\n{}",
                e,
                self.log()
            )
        })
    }

    /// Opens an `ssh ... cat` session (with more ssh options `opts`) and checks that it
    /// echoes; when it does not, the reason and what ssh printed on stderr (after it exited or
    /// was killed).
    pub fn try_cat_session(&self, opts: &[&str]) -> Result<CatSession, String> {
        let mut cmd = self.ssh_command(opts, "cat");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ssh cat");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let stderr = drain(child.stderr.take());
        let mut s = CatSession {
            child,
            stdin,
            lines: rx,
            stderr,
            n: 0,
        };
        match s.ping() {
            Ok(()) => Ok(s),
            Err(e) => {
                drop(s.stdin.take());
                let _ = wait_timeout(&mut s.child, Duration::from_secs(20));
                let err = s.stderr.take().map(|t| t.join().unwrap_or_default());
                Err(format!(
                    "{e}; ssh stderr: {}",
                    String::from_utf8_lossy(&err.unwrap_or_default())
                ))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An interactive `ssh host cat`: each ping writes a line and expects it back.
pub struct CatSession {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
    n: u32,
}

impl CatSession {
    /// Writes a fresh line and waits up to 20 s for the echo.
    pub fn ping(&mut self) -> Result<(), String> {
        self.n += 1;
        let line = format!("ping-{}-{}", self.n, "x".repeat(self.n as usize % 50));
        let w = self.stdin.as_mut().ok_or("stdin closed")?;
        w.write_all(format!("{}\n", line).as_bytes())
            .map_err(|e| format!("write: {}", e))?;
        w.flush().map_err(|e| format!("flush: {}", e))?;
        match self.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(got) if got == line => Ok(()),
            Ok(got) => Err(format!("expected {:?}, got {:?}", line, got)),
            Err(e) => Err(format!(
                "no echo of {:?}: {} (ssh exited: {:?})",
                line,
                e,
                self.child.try_wait()
            )),
        }
    }

    /// Writes `count` lines of `len` bytes in one go and waits for every echo (20 s each).
    pub fn flood(&mut self, count: usize, len: usize) -> Result<(), String> {
        let line = "y".repeat(len);
        let mut all = String::with_capacity(count * (len + 1));
        for _ in 0..count {
            all.push_str(&line);
            all.push('\n');
        }
        let w = self.stdin.as_mut().ok_or("stdin closed")?;
        w.write_all(all.as_bytes())
            .map_err(|e| format!("write: {}", e))?;
        w.flush().map_err(|e| format!("flush: {}", e))?;
        for i in 0..count {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(got) if got == line => {}
                Ok(got) => return Err(format!("line {i}: {} bytes back", got.len())),
                Err(e) => return Err(format!("line {i}: {e}")),
            }
        }
        Ok(())
    }

    /// Closes stdin; the session must end with exit code 0.
    pub fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let (code, timed_out) = wait_timeout(&mut self.child, Duration::from_secs(20));
        let err = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        if code == Some(0) && !timed_out {
            Ok(())
        } else {
            Err(format!(
                "cat session ended with {:?} (timed out: {}), stderr: {}",
                code,
                timed_out,
                String::from_utf8_lossy(&err)
            ))
        }
    }
}

impl Drop for CatSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A pseudo-terminal for the client (ssh -tt takes the window size from its own terminal)

/// Runs `cmd` with stdin/stdout/stderr on a new pty of `rows` x `cols` (its controlling
/// terminal); returns everything written to the terminal and the exit code.
pub fn run_in_pty(mut cmd: Command, rows: u16, cols: u16, timeout: Duration) -> Out {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: out-pointers to two ints; null name and termios; a valid winsize.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that we now own.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let set_cloexec = |fd: &OwnedFd| {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    };
    set_cloexec(&master);
    set_cloexec(&slave);

    cmd.stdin(Stdio::from(slave.try_clone().unwrap()));
    cmd.stdout(Stdio::from(slave.try_clone().unwrap()));
    cmd.stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?} in a pty: {}", cmd, e));
    // Every copy of the slave (ours and the Command's) must go, or reading the master never
    // sees the end.
    drop(slave);
    drop(cmd);
    let reader = thread::spawn(move || {
        let mut f = File::from(master);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match f.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break, // EIO once the last slave descriptor is closed
            }
        }
        buf
    });
    let (code, timed_out) = wait_timeout(&mut child, timeout);
    let text = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    Out {
        code,
        stdout: text,
        stderr: String::new(),
        timed_out,
    }
}

/// After bad input on another connection: the session opened before it and a new login both
/// work.
pub fn check_still_serving(srv: &Server, session: &mut CatSession, after: &str) {
    if let Err(e) = session.ping() {
        panic!(
            "after {}: the session opened before no longer works: {}\n--- server log ---\n{}",
            after,
            e,
            srv.log()
        );
    }
    let out = srv.ssh(&format!("echo fresh-after-{}", after));
    assert_eq!(
        out.code,
        Some(0),
        "after {}: a fresh login failed\n{}",
        after,
        srv.context(&out)
    );
    assert_eq!(
        out.stdout,
        format!("fresh-after-{}\n", after),
        "{}",
        srv.context(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// The raw protocol client

/// Runs `python3 tests/rawssh.py SCENARIO PORT` and returns its output (exit 0: as expected).
pub fn rawssh(scenario: &str, port: u16) -> Out {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("rawssh.py");
    run(
        Command::new("python3")
            .arg(script)
            .arg(scenario)
            .arg(port.to_string()),
        CMD_TIMEOUT,
    )
}
