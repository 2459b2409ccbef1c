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

mod command;
mod expand;
mod glob;
mod records;
mod run;
mod words;

pub use command::parse_command;
pub use glob::{glob_match, literal};
pub use records::{parse_record, parse_times, Record};
pub use run::serve;
pub use words::{split_words, unescape};

#[cfg(test)]
mod tests {
    use super::*;

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
}
