//! The daemon's limits and defaults, in one place: the command line's `Options` start from
//! them (`options.rs`); the compile-time checks at the end reject impossible combinations.
//! The protocol core's own limits are in `proto::limits`, re-exported here.

pub use crate::proto::limits::*;

/// Default receive window per channel; also the per-channel buffer between the client and
/// the child's stdin, allocated when the channel opens and freed when it closes (pages are
/// touched only when used).
/// The window caps what a client may have in flight, so uploads run at most window / RTT:
/// 256 KiB is 12.8 MB/s at 20 ms, about what a router's CPU encrypts (64 KiB held an
/// upload on loopback to half of OpenSSH's 2 MiB window; Dropbear's 24 KiB is slower still).
/// A channel whose upload outruns it grows it up to `MAX_WINDOW`, from the budget a full
/// house of connections leaves (`daemon::memory`).
pub const DEFAULT_WINDOW: u32 = 256 * 1024;
/// What a session's stdout pipe grows to once its process streams faster than one packet
/// per read (Linux's pipes hold 64 KiB), from the same growth room as windows: the process
/// writes on while the loop is busy elsewhere, and reads take whole packets. Kernel pages,
/// taken only while data waits in the pipe; `/proc/sys/fs/pipe-max-size`'s default.
pub const GROWN_PIPE: usize = 1024 * 1024;
/// The default memory budget (`--max-memory`: connection and channel buffers of all
/// connections together) is physical memory divided by this ...
pub const DEFAULT_MAX_MEMORY_RAM_SHARE: u64 = 4;
/// ... at most this much (a machine with more raises it with `--max-memory`) ...
pub const DEFAULT_MAX_MEMORY_CAP: u64 = 64 << 20;
/// ... and at most this share of an address-space limit (`ulimit -v`), which must also hold
/// the program, its heap and stack.
pub const DEFAULT_MAX_MEMORY_AS_SHARE: u64 = 2;
/// Smallest `--max-memory` (less could not serve anything; catches a missing suffix).
pub const MIN_MAX_MEMORY: u64 = 64 << 10;
/// Address space a connection or channel buffer must leave free beside it (defined with
/// `sys::alloc::zeroed`, which enforces it).
pub const MEMORY_HEADROOM: usize = crate::sys::alloc::HEADROOM;
/// Default maximum of simultaneous connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Hard cap on `-C`/max connections: the loop's poll array is sized from it.
pub const MAX_CONNECTIONS_CAP: usize = 1024;
/// Authentication attempts per connection before disconnecting (Dropbear `-T`).
pub const DEFAULT_MAX_AUTH_TRIES: u32 = 10;
/// Seconds a connection may take to authenticate.
pub const DEFAULT_LOGIN_GRACE_SECS: u64 = 120;
/// Rekey after this many bytes in either direction (RFC 4344 suggests 1 GiB).
pub const REKEY_BYTES: u64 = 1 << 30;
/// ... or after this many seconds.
pub const REKEY_SECS: u64 = 3600;
/// Most groups a session runs with (primary included); a user in more cannot log in, rather
/// than run with some groups missing (musl's own limit is 32). Defined in `sys::ids`, whose
/// check after the privilege drop reads the groups back into an array this long.
pub const MAX_GROUPS: usize = crate::sys::ids::MAX_GROUPS;
/// Largest SFTP packet accepted (OpenSSH's sftp-server uses the same), announced through
/// limits@openssh.com; the built-in server's input buffer is this big.
pub const SFTP_MAX_PACKET: usize = 256 * 1024;
/// Largest READ answered and WRITE invited (room for the packet header in a max packet).
pub const SFTP_MAX_READ: usize = SFTP_MAX_PACKET - 1024;
/// Open file and directory handles per SFTP session.
pub const SFTP_MAX_HANDLES: usize = 64;
// A WRITE of SFTP_MAX_READ bytes (plus its 29-byte header and handle) fits in a packet.
const _: () = assert!(SFTP_MAX_READ + 64 <= SFTP_MAX_PACKET && SFTP_MAX_HANDLES > 0);
/// Largest host key file read (an openssh-key-v1 Ed25519 key is about 400 bytes).
pub const MAX_HOSTKEY_FILE: usize = 16 * 1024;
/// Bytes of an authorized_keys file read; the rest is ignored (and logged).
pub const MAX_AUTHORIZED_KEYS_FILE: usize = 256 * 1024;
/// Bytes of /etc/shells read.
pub const MAX_SHELLS_FILE: usize = 64 * 1024;
/// Bytes of /etc/resolv.conf and /etc/hosts read (for `direct-tcpip` host names on musl).
pub const MAX_RESOLVER_FILE: usize = 256 * 1024;
/// Largest /etc/passwd or /etc/shadow read for a password check: a lookup in a larger file
/// finds nobody (logged), rather than memory growing with the file.
pub const MAX_ACCOUNTS_FILE: usize = 4 * 1024 * 1024;
/// Longest `-b` banner (Dropbear's limit too).
pub const MAX_BANNER: usize = 2000;
/// Default maximum of connections that have not authenticated yet, in total ...
pub const DEFAULT_MAX_UNAUTH: usize = 32;
/// ... and from one source address.
pub const DEFAULT_MAX_UNAUTH_PER_ADDR: usize = 10;
/// ... and from one network: an IPv4 /24 or an IPv6 /64 (`--max-unauth-per-net`). Above the
/// per-address cap, so a burst from one address parks on that cap first; at half the default
/// total, so one network never holds more than half of the login slots.
pub const DEFAULT_MAX_UNAUTH_PER_NET: usize = 16;
/// Random early drop (`--max-startups start:rate:full`, OpenSSH's MaxStartups): from `start`
/// unauthenticated connections on, a new one from the network holding the most is dropped
/// with a probability rising from `rate`% to 100% at `full` (= `--max-unauth`). OpenSSH's
/// default is 10:30:100.
pub const DEFAULT_STARTUPS_BEGIN: usize = 10;
pub const DEFAULT_STARTUPS_RATE: u32 = 30;
/// Seconds a connection may take to finish its first key exchange (`--kex-timeout`): a
/// client does it in well under a second, an idle connection holds a login slot.
pub const DEFAULT_KEX_TIMEOUT_SECS: u64 = 10;
/// Connections accepted but parked (not yet served) because their address or network is at
/// its cap or every login slot is taken, over all addresses; each address and network may
/// park as many as its cap.
pub const MAX_PARKED: usize = 64;
/// Password checks (helper processes hashing a password) running at once; more wait their
/// turn, first come first served. A hash costs up to a second of CPU (yescrypt, sha512crypt
/// with many rounds): two keep a guessing flood from taking every core from the loop.
pub const MAX_PASSWORD_CHECKS: usize = 2;
/// authorized_keys lookups and `-B` checks (helpers reading a few files) running at once.
pub const MAX_KEY_CHECKS: usize = 8;
/// An authentication helper that has not answered after this long (ms) is killed and the
/// attempt fails (an NSS server that hangs, a home directory on a dead network mount).
pub const AUTH_CHECK_TIMEOUT_MS: u64 = 30_000;
/// A `direct-tcpip` name lookup that has not answered after this long (ms) is killed and the
/// channel refused (musl and glibc give up after 10 s with resolv.conf's defaults).
pub const RESOLVE_TIMEOUT_MS: u64 = 15_000;
/// After a pty session's shell exits, its terminal is read until every process holding it
/// has closed it (the master then reads EIO, after the last byte) or for at most this long
/// (ms): a background process that keeps the terminal open does not keep the session.
pub const PTY_DRAIN_MS: u64 = 100;
/// Niceness of password-check helpers: the loop that serves every session runs first.
pub const PASSWORD_CHECK_NICE: i32 = 10;
/// Per-source penalties (`--penalties`, OpenSSH 9.8's PerSourcePenalties): seconds a source
/// (an IPv4 address, an IPv6 /64) earns by a connection that ends before login ...
/// ... after failed authentication attempts (OpenSSH's `authfail`),
pub const PENALTY_AUTHFAIL_SECS: u32 = 5;
/// ... without attempting authentication (`noauth`),
pub const PENALTY_NOAUTH_SECS: u32 = 1;
/// ... on a protocol error (bad packet, MAC, message order; quoll's own),
pub const PENALTY_PROTOCOL_SECS: u32 = 10;
/// ... at the login grace time or the key exchange deadline (`grace-exceeded`).
pub const PENALTY_GRACE_SECS: u32 = 10;
/// Penalties add up; a source is refused only once more than `min` seconds are pending
/// (so one mistake locks nobody out), and for at most `max`.
pub const PENALTY_MIN_SECS: u32 = 15;
pub const PENALTY_MAX_SECS: u32 = 600;
/// Sources tracked at once (32 bytes each, allocated at start); a full table forgets the
/// source whose penalty ends soonest.
pub const PENALTY_SOURCES: usize = 256;
/// Listeners are not polled for this long after accept(2) failed for lack of descriptors or
/// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or a new socket fell into the reserve below:
/// retrying at once would spin.
pub const ACCEPT_PAUSE_MS: u64 = 1000;
/// One log line per kind of event (accept failures, refused connections) per this interval;
/// the rest are counted and reported in one line.
pub const LOG_INTERVAL_MS: u64 = 5000;
/// Descriptors kept free for logins in progress: the files a login opens (passwd, shadow,
/// group, shells, authorized_keys) and a pipe to a helper child. Descriptors for a logged-in
/// user's requests (sessions, tunnels, agent) must leave these free ...
pub const FD_RESERVE_LOGIN: usize = 8;
/// ... and new connections must leave these: the login reserve and room for the sessions of
/// users already logged in. A socket accepted into this reserve is closed at once.
pub const FD_RESERVE_ACCEPT: usize = 24;
/// Descriptors one session may need while it starts: pty master and slave, three pipes, and
/// the pipe that reports a failed exec.
pub const FD_PER_SESSION: usize = 10;
/// Default syslog ident (`--syslog-ident dropbear` for fail2ban's stock filter).
pub const DEFAULT_SYSLOG_IDENT: &str = "quoll";
/// Default listening port.
pub const DEFAULT_PORT: u16 = 22;
/// Remote-forwarded ports (`ssh -R`) per connection.
pub const MAX_REMOTE_FORWARDS: usize = 8;
/// Listening addresses (`-p`, Dropbear allows 10).
pub const MAX_LISTENERS: usize = 10;
/// Default host key.
pub const DEFAULT_HOSTKEY: &str = "/etc/quoll/ssh_host_ed25519_key";
/// The host key when quoll runs as `dropbear`: Dropbear's file, in Dropbear's format.
pub const DROPBEAR_HOSTKEY: &str = "/etc/dropbear/dropbear_ed25519_host_key";
/// Root's keys as OpenWrt keeps them (LuCI writes the file; OpenWrt's Dropbear reads it for
/// root): `--root-keys`'s default when quoll runs as `dropbear`.
pub const DROPBEAR_ROOT_KEYS: &str = "/etc/dropbear/authorized_keys";
/// PATH given to sessions.
/// Where `subsystem sftp` looks for an external server when quoll is built without its own
/// (feature `sftp`) and no `--sftp-server` is given: OpenWrt's openssh-sftp-server, Debian's,
/// Fedora's, and the old location.
pub const SFTP_SERVERS: &[&str] = &[
    "/usr/libexec/sftp-server",
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/sftp-server",
];
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
pub const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const _: () = assert!(DEFAULT_WINDOW >= MAX_CHANNEL_PACKET && DEFAULT_WINDOW <= MAX_WINDOW);
const _: () = assert!(DEFAULT_MAX_CONNECTIONS <= MAX_CONNECTIONS_CAP);
const _: () = assert!(DEFAULT_STARTUPS_BEGIN <= DEFAULT_MAX_UNAUTH && DEFAULT_STARTUPS_RATE <= 100);
const _: () = assert!(FD_RESERVE_ACCEPT >= FD_RESERVE_LOGIN + FD_PER_SESSION);
const _: () = assert!(PENALTY_MIN_SECS <= PENALTY_MAX_SECS && PENALTY_SOURCES > 0);
// The first key exchange's deadline comes before the login grace time (`admission`).
const _: () = assert!(DEFAULT_KEX_TIMEOUT_SECS < DEFAULT_LOGIN_GRACE_SECS);
// A burst from one address parks on its own cap before its network's; one network holds at
// most half of the login slots.
const _: () = assert!(
    DEFAULT_MAX_UNAUTH_PER_ADDR < DEFAULT_MAX_UNAUTH_PER_NET
        && 2 * DEFAULT_MAX_UNAUTH_PER_NET <= DEFAULT_MAX_UNAUTH
);
