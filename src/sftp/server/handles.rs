//! The handle table (files and directories the client opened, at most `SFTP_MAX_HANDLES`)
//! and the requests that read through a handle.

use super::{Server, READDIR_BATCH};
use crate::config::SFTP_MAX_READ;
use crate::sftp::fs::{self as sfs};
use crate::sftp::proto::{self, Attrs, NameEntry, Reply, Status};
use crate::sys::fsys::{self, Dir};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::SystemTime;

pub(super) enum Handle {
    File(File),
    Dir { iter: Dir, path: PathBuf },
}

impl Server {
    pub(super) fn new_handle(&mut self, h: Handle) -> Option<[u8; 8]> {
        let i = self.handles.iter().position(Option::is_none)?;
        self.generation = self.generation.wrapping_add(1);
        self.handles[i] = Some((self.generation, h));
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(i as u32).to_be_bytes());
        bytes[4..].copy_from_slice(&self.generation.to_be_bytes());
        Some(bytes)
    }

    pub(super) fn slot(&self, h: &[u8]) -> Option<usize> {
        let h: &[u8; 8] = h.try_into().ok()?;
        let i = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let generation = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        match self.handles.get(i)? {
            Some((g, _)) if *g == generation => Some(i),
            _ => None,
        }
    }

    pub(super) fn file(&self, h: &[u8]) -> Option<&File> {
        match &self.handles[self.slot(h)?] {
            Some((_, Handle::File(f))) => Some(f),
            _ => None,
        }
    }

    pub(super) fn reply_handle(
        &mut self,
        out: &mut impl Write,
        id: u32,
        h: Handle,
    ) -> io::Result<()> {
        match self.new_handle(h) {
            Some(bytes) => self.send(out, id, Reply::Handle(&bytes)),
            None => self.status(out, id, Status::Failure, "too many open handles"),
        }
    }

    pub(super) fn bad_handle(&mut self, out: &mut impl Write, id: u32) -> io::Result<()> {
        self.status(out, id, Status::Failure, "invalid handle")
    }

    /// READ: up to `len` bytes (clamped to `SFTP_MAX_READ`) read straight into the reply.
    pub(super) fn read(
        &mut self,
        out: &mut impl Write,
        id: u32,
        h: &[u8],
        offset: u64,
        len: u32,
    ) -> io::Result<()> {
        let len = (len as usize).min(SFTP_MAX_READ);
        let Some(i) = self.slot(h) else {
            return self.bad_handle(out, id);
        };
        let Some((_, Handle::File(f))) = &self.handles[i] else {
            return self.bad_handle(out, id);
        };
        let buf = &mut self.out;
        buf.clear();
        buf.resize(proto::DATA_HEADER + len, 0);
        let mut got = 0;
        let mut err = None;
        while got < len {
            match f.read_at(
                &mut buf[proto::DATA_HEADER + got..],
                offset.saturating_add(got as u64),
            ) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if got == 0 {
            return match err {
                Some(e) => self.error(out, id, &e),
                None => self.status(out, id, Status::Eof, "End of file"),
            };
        }
        buf.truncate(proto::DATA_HEADER + got);
        buf[..proto::DATA_HEADER].copy_from_slice(&proto::data_header(id, got as u32));
        out.write_all(buf)?;
        out.flush()
    }

    /// READDIR: a batch of entries with `ls -l` lines, or EOF when the directory is done.
    pub(super) fn readdir(&mut self, out: &mut impl Write, id: u32, h: &[u8]) -> io::Result<()> {
        let Some(i) = self.slot(h) else {
            return self.bad_handle(out, id);
        };
        let Some((_, Handle::Dir { iter, path })) = &mut self.handles[i] else {
            return self.bad_handle(out, id);
        };
        let now = SystemTime::now();
        let mut found: Vec<(Vec<u8>, Vec<u8>, Attrs)> = Vec::new();
        for name in iter.by_ref() {
            let Ok(name) = name else { continue };
            // An entry that vanished since readdir(3) is skipped, as ls does.
            let Ok(m) = fsys::lstat(&path.join(std::ffi::OsStr::from_bytes(&name))) else {
                continue;
            };
            let long = self.names.long_name(&name, &m, now);
            found.push((name, long, sfs::attrs_of(&m)));
            if found.len() == READDIR_BATCH {
                break;
            }
        }
        if found.is_empty() {
            return self.status(out, id, Status::Eof, "End of directory");
        }
        let entries: Vec<NameEntry> = found
            .iter()
            .map(|(name, long, attrs)| NameEntry {
                name,
                long,
                attrs: *attrs,
            })
            .collect();
        self.send(out, id, Reply::Name(&entries))
    }
}
