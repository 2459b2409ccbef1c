//! `io::Error`s that carry quoll's own messages.
//!
//! `io::Error::other("text")` boxes std's private string error type, whose `Debug` escapes the
//! text; that keeps std's string escaping and Unicode tables in the binary (about 5 KB on MIPS,
//! together with the other error types it brought along). `Message` prints its text as it is,
//! for `Display` and `Debug` alike.

use std::borrow::Cow;
use std::fmt;
use std::io;

struct Message(Cow<'static, str>);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// An error of kind `Other` with this message.
pub fn other(msg: impl Into<Cow<'static, str>>) -> io::Error {
    new(io::ErrorKind::Other, msg)
}

/// An error of `kind` with this message.
pub fn new(kind: io::ErrorKind, msg: impl Into<Cow<'static, str>>) -> io::Error {
    io::Error::new(kind, Message(msg.into()))
}

/// The error's text without std's " (os error N)" suffix ("Permission denied"), as SFTP
/// status messages and scp's errors show it.
pub fn message(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => match text.strip_suffix(&format!(" (os error {code})")) {
            Some(bare) => bare.to_string(),
            None => text,
        },
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_and_kind_survive() {
        let e = new(io::ErrorKind::InvalidInput, format!("x{}", 1));
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "x1");
        assert_eq!(other("plain \"text\"").to_string(), "plain \"text\"");
        assert_eq!(other("y").kind(), io::ErrorKind::Other);
    }

    #[test]
    fn os_messages_lose_only_the_suffix() {
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(message(&e), "Permission denied");
        assert_eq!(message(&other("no (os error 13)")), "no (os error 13)");
    }
}
