//! The protocol core's own limits: packet and buffer sizes, and the longest field it keeps
//! from a request. They size fixed buffers, so they are constants; what the daemon sets per
//! run (window, channels, attempts, rekeying, timers) comes in `conn::Params`.

/// Largest packet we accept and send (RFC 4253 §6.1: at least 35000 must be accepted). This
/// counts packet_length + padding_length + payload + padding, i.e. everything but the
/// 4-byte length field and the MAC.
pub const MAX_PACKET: usize = 35000;
/// Largest payload we put in one packet (leaves room for padding).
pub const MAX_PAYLOAD: usize = MAX_PACKET - 64;
/// Channel data per CHANNEL_DATA packet (payload minus the 9-byte header and string length).
pub const MAX_CHANNEL_PACKET: u32 = 32768;
/// Largest receive window per channel: the most `-W` sets, and the most a window grows to
/// while its client uploads faster than one window per round trip (`Channel::data`).
pub const MAX_WINDOW: u32 = 1024 * 1024;
/// Bytes of version-line preamble (other lines before `SSH-`) accepted from a client.
pub const MAX_PREAMBLE: usize = 8192;
/// Longest version line (RFC 4253 §4.2: 255 including CR LF).
pub const MAX_VERSION_LINE: usize = 255;
/// Output buffer per connection: two full packets can queue while the socket is busy (the
/// kernel's socket buffer holds more).
pub const OUTPUT_BUFFER: usize = 2 * (MAX_PACKET + 64);
/// Session channels per connection (OpenSSH's MaxSessions default is 10).
pub const MAX_CHANNELS: usize = 16;
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
/// Unanswered keepalives (`-K`) before the connection is dropped.
pub const KEEPALIVE_MAX_MISSED: u32 = 3;
/// Milliseconds without socket traffic after which a connection's empty buffers give their
/// pages back (`Conn::spare`): an idle session then holds none of its buffers' memory.
pub const SPARE_AFTER_MS: u64 = 1000;

const _: () = assert!(MAX_PACKET >= 35000);
const _: () = assert!((MAX_CHANNEL_PACKET as usize) + 64 <= MAX_PAYLOAD);
const _: () = assert!(OUTPUT_BUFFER >= 2 * MAX_PACKET);
