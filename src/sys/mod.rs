//! The OS layer: every system call quoll makes, and the only `unsafe` code in the crate
//! (`#![deny(unsafe_code)]` at the crate roots; this module alone is allowed it). Each
//! module wraps one family of calls in safe functions; every `unsafe` block says why it is
//! sound in a `// SAFETY:` line. docs/sys.md lists the modules and, for each family, whether
//! it calls `nix` or `libc` and why.

pub mod alloc;
#[cfg(target_env = "gnu")]
pub mod crypt;
pub mod fd;
pub mod fsys;
pub mod ids;
pub mod memory;
pub mod poll;
pub mod process;
pub mod pty;
#[cfg(not(target_env = "musl"))]
pub mod pwd;
pub mod random;
pub mod rlimit;
pub mod signal;
pub mod socket;
pub mod start;
#[cfg(feature = "sftp")]
pub mod statvfs;
pub mod syslog;
pub mod time;
pub mod utmp;

#[cfg(test)]
mod tests {
    /// The layer's rule (docs/sys.md): `sys` names nothing of quoll above it, only itself and
    /// the leaf utilities `ioerr`, `date` and `inet`. Policy comes in as arguments.
    #[test]
    fn sys_reaches_nothing_above_it() {
        const ALLOWED: &[&str] = &["sys", "ioerr", "date", "inet"];
        // Spelt in two so that this file does not match itself.
        const PATH: &str = concat!("crate", "::");
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/sys"
        ))];
        let mut seen = 0;
        let mut bad = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                seen += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    for (at, _) in line.match_indices(PATH) {
                        let rest = &line[at + PATH.len()..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !ALLOWED.contains(&name.as_str()) {
                            bad.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        assert!(seen > 20, "read only {seen} files");
        assert!(bad.is_empty(), "sys reaches up:\n{}", bad.join("\n"));
    }
}
