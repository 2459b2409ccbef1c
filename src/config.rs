//! Every limit and default of quoll, in one place. Runtime options (command-line flags) start
//! from these defaults; the compile-time checks at the end reject impossible combinations.

/// Largest packet we accept and send (RFC 4253 §6.1: at least 35000 must be accepted). This
/// counts packet_length + padding_length + payload + padding, i.e. everything but the
/// 4-byte length field and the MAC.
pub const MAX_PACKET: usize = 35000;
/// Largest payload we put in one packet (leaves room for padding).
pub const MAX_PAYLOAD: usize = MAX_PACKET - 64;
/// Channel data per CHANNEL_DATA packet (payload minus the 9-byte header and string length).
pub const MAX_CHANNEL_PACKET: u32 = 32768;
/// Bytes of version-line preamble (other lines before `SSH-`) accepted from a client.
pub const MAX_PREAMBLE: usize = 8192;
/// Longest version line (RFC 4253 §4.2: 255 including CR LF).
pub const MAX_VERSION_LINE: usize = 255;
/// Output buffer per connection: two full packets can queue while the socket is busy (the
/// kernel's socket buffer holds more).
pub const OUTPUT_BUFFER: usize = 2 * (MAX_PACKET + 64);
/// Session channels per connection (OpenSSH's MaxSessions default is 10).
pub const MAX_CHANNELS: usize = 16;
/// Default receive window per channel; also the per-channel buffer between the client and
/// the child's stdin, allocated once with the connection (pages are touched only when used).
pub const DEFAULT_WINDOW: u32 = 64 * 1024;
/// Largest window accepted from the command line.
pub const MAX_WINDOW: u32 = 1024 * 1024;
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
/// Longest user name accepted.
pub const MAX_USERNAME: usize = 64;
/// Environment variables accepted per session (`env` requests).
pub const MAX_SESSION_ENV: usize = 16;
/// Longest TERM value.
pub const MAX_TERM: usize = 64;
/// Longest encoded terminal-modes string in a pty-req.
pub const MAX_TERM_MODES: usize = 1024;
/// Longest command in an exec request.
pub const MAX_COMMAND: usize = 16 * 1024;
/// Largest SFTP packet accepted (OpenSSH's sftp-server uses the same), announced through
/// limits@openssh.com; the built-in server's input buffer is this big.
pub const SFTP_MAX_PACKET: usize = 256 * 1024;
/// Largest READ answered and WRITE invited (room for the packet header in a max packet).
pub const SFTP_MAX_READ: usize = SFTP_MAX_PACKET - 1024;
/// Open file and directory handles per SFTP session.
pub const SFTP_MAX_HANDLES: usize = 64;
// A WRITE of SFTP_MAX_READ bytes (plus its 29-byte header and handle) fits in a packet.
const _: () = assert!(SFTP_MAX_READ + 64 <= SFTP_MAX_PACKET && SFTP_MAX_HANDLES > 0);
/// Default listening port.
pub const DEFAULT_PORT: u16 = 22;
/// Remote-forwarded ports (`ssh -R`) per connection.
pub const MAX_REMOTE_FORWARDS: usize = 8;
/// Listening addresses (`-p`, Dropbear allows 10).
pub const MAX_LISTENERS: usize = 10;
/// Default host key.
pub const DEFAULT_HOSTKEY: &str = "/etc/quoll/ssh_host_ed25519_key";
/// PATH given to sessions.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
pub const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const _: () = assert!(MAX_PACKET >= 35000);
const _: () = assert!((MAX_CHANNEL_PACKET as usize) + 64 <= MAX_PAYLOAD);
const _: () = assert!(OUTPUT_BUFFER >= 2 * MAX_PACKET);
const _: () = assert!(DEFAULT_WINDOW >= MAX_CHANNEL_PACKET && DEFAULT_WINDOW <= MAX_WINDOW);
const _: () = assert!(DEFAULT_MAX_CONNECTIONS <= MAX_CONNECTIONS_CAP);

/// Runtime options: the defaults above, overridden by the command line (`cli.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub listen: Vec<std::net::SocketAddr>,
    pub hostkey: std::path::PathBuf,
    /// `-R`: create the host key at the first connection instead of at start.
    pub defer_keygen: bool,
    pub foreground: bool,
    pub log_stderr: bool,
    pub pidfile: Option<std::path::PathBuf>,
    /// `-D`: read `DIR/authorized_keys` instead of `~/.ssh/authorized_keys`.
    pub auth_dir: Option<std::path::PathBuf>,
    pub max_auth_tries: u32,
    pub max_connections: usize,
    pub max_channels: usize,
    pub window: u32,
    pub login_grace_secs: u64,
    /// `--sftp-server PATH`: run this program for `subsystem sftp` instead of the built-in.
    pub sftp_server: Option<std::path::PathBuf>,
    /// `--no-sftp`: refuse `subsystem sftp`.
    pub no_sftp: bool,
    /// `--builtin-scp`: answer `scp -t`/`scp -f` built-in even when `scp` is on PATH.
    pub builtin_scp: bool,
    /// `-j`: refuse local (`ssh -L`, direct-tcpip) forwarding.
    pub no_local_forward: bool,
    /// `-k`: refuse remote (`ssh -R`, tcpip-forward) forwarding.
    pub no_remote_forward: bool,
    /// `-a`: remote-forwarded ports listen on the address asked for, not only on loopback.
    pub forward_any_address: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: Vec::new(),
            hostkey: DEFAULT_HOSTKEY.into(),
            defer_keygen: false,
            foreground: false,
            log_stderr: false,
            pidfile: None,
            auth_dir: None,
            max_auth_tries: DEFAULT_MAX_AUTH_TRIES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_channels: MAX_CHANNELS,
            window: DEFAULT_WINDOW,
            login_grace_secs: DEFAULT_LOGIN_GRACE_SECS,
            no_local_forward: false,
            no_remote_forward: false,
            forward_any_address: false,
            sftp_server: None,
            no_sftp: false,
            builtin_scp: false,
        }
    }
}
