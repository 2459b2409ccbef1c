//! The kernel's random source.

/// Fills `buf` from the kernel's random source (getrandom(2), or /dev/urandom on old kernels).
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => crate::ioerr::other("no random source"),
    })
}
