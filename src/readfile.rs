//! Small files read whole, up to a bound: host keys, authorized_keys, the account files,
//! resolv.conf, the banner.
//!
//! One reader for all of them, out of line, instead of std's `read_to_end` and
//! `read_to_string`, which were compiled into every caller (about 2 KB of a router build).
//! The bound keeps a huge or endless file (a FIFO, a device) from growing memory, and the
//! buffer is wiped when it moves or drops: some of these files hold secrets. The buffer is
//! reserved fallibly: these files are read on a client's behalf (authorized_keys, the account
//! files at each login), and memory that is not there is an error, not an abort of the daemon.

use crate::sys::fsys::OFlag;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// What was read: at most the limit's bytes, and whether the file had more.
pub struct Contents {
    pub data: Zeroizing<Vec<u8>>,
    pub truncated: bool,
}

/// Reads `file` from where it stands to its end, keeping at most `limit` bytes.
#[inline(never)]
pub fn read(file: &mut File, limit: usize) -> io::Result<Contents> {
    // The size fstat reports sizes the buffer, so it normally never moves; +1 to see EOF.
    let hint = crate::sys::fsys::fstat(file)
        .map_or(0, |m| m.size)
        .min(limit as u64) as usize;
    let mut data = Zeroizing::new(reserve(hint.saturating_add(1))?);
    loop {
        let len = data.len();
        if len > limit {
            data.truncate(limit);
            return Ok(Contents {
                data,
                truncated: true,
            });
        }
        if len == data.capacity() {
            // Grow by hand, wiping the old buffer (Vec's own growth would leave a copy).
            let mut bigger = reserve((len * 2).max(4096).min(limit.saturating_add(1)))?;
            bigger.extend_from_slice(&data);
            data.zeroize();
            *data = bigger;
        }
        let room = data.capacity() - len;
        data.resize(len + room, 0);
        match file.read(&mut data[len..]) {
            Ok(0) => {
                data.truncate(len);
                return Ok(Contents {
                    data,
                    truncated: false,
                });
            }
            Ok(n) => data.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => data.truncate(len),
            Err(e) => return Err(e),
        }
    }
}

/// An empty buffer with room for `n` bytes, or ENOMEM.
fn reserve(n: usize) -> io::Result<Vec<u8>> {
    crate::proto::budget::try_vec(n).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))
}

/// Opens `path` and reads it (see `read`).
pub fn read_path(path: &Path, limit: usize) -> io::Result<Contents> {
    read(
        &mut crate::sys::fsys::open(path, OFlag::O_RDONLY, 0)?,
        limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("quoll-readfile-{}-{name}", std::process::id()));
        File::create(&p).unwrap().write_all(data).unwrap();
        p
    }

    #[test]
    fn whole_file_up_to_the_limit() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let p = temp("whole", &data);
        for (limit, want, truncated) in [
            (20_000, &data[..], false),
            (10_000, &data[..], false),
            (9_999, &data[..9_999], true),
            (0, &data[..0], true),
        ] {
            let c = read_path(&p, limit).unwrap();
            assert_eq!(&c.data[..], want, "limit {limit}");
            assert_eq!(c.truncated, truncated, "limit {limit}");
        }
        std::fs::remove_file(&p).unwrap();
        let empty = temp("empty", b"");
        let c = read_path(&empty, 10).unwrap();
        assert!(c.data.is_empty() && !c.truncated);
        std::fs::remove_file(&empty).unwrap();
        assert_eq!(
            read_path(Path::new("/nonexistent/x"), 10)
                .err()
                .unwrap()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn memory_that_is_not_there_is_an_error() {
        // A sparse file larger than any memory, read with a larger limit: the buffer its size
        // asks for cannot be had. (An infallible reservation aborted the process here.)
        let p = std::env::temp_dir().join(format!("quoll-readfile-{}-huge", std::process::id()));
        File::create(&p).unwrap().set_len(8 << 40).unwrap();
        let e = read_path(&p, usize::MAX).err().expect("no 8 TiB buffer");
        assert_eq!(e.raw_os_error(), Some(libc::ENOMEM));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn files_without_a_size_grow_the_buffer_up_to_the_limit() {
        // /proc files report size 0 and /dev/zero never ends.
        let c = read_path(Path::new("/dev/zero"), 100_000).unwrap();
        assert_eq!(c.data.len(), 100_000);
        assert!(c.truncated && c.data.iter().all(|&b| b == 0));
        let c = read_path(Path::new("/proc/self/status"), 1 << 20).unwrap();
        assert!(!c.truncated && c.data.starts_with(b"Name:"));
        let c = read_path(Path::new("/proc/self/status"), 10).unwrap();
        assert!(c.truncated && c.data.len() == 10 && c.data.starts_with(b"Name:"));
    }
}
