//! Small files read whole, up to a bound: host keys, authorized_keys, the account files,
//! resolv.conf, the banner.
//!
//! One reader for all of them, out of line, instead of std's `read_to_end` and
//! `read_to_string`, which were compiled into every caller (about 2 KB of a router build).
//! The bound keeps a huge or endless file (a FIFO, a device) from growing memory, and the
//! buffer is wiped when it moves or drops: some of these files hold secrets.

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
    let hint = crate::fsys::fstat(file)
        .map_or(0, |m| m.size)
        .min(limit as u64) as usize;
    let mut data = Zeroizing::new(Vec::with_capacity(hint + 1));
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
            let mut bigger = Vec::with_capacity((len * 2).max(4096).min(limit + 1));
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

/// Opens `path` and reads it (see `read`).
pub fn read_path(path: &Path, limit: usize) -> io::Result<Contents> {
    read(&mut crate::fsys::open(path, libc::O_RDONLY, 0)?, limit)
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
