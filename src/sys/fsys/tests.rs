use super::*;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("quoll-fsys-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn errno<T>(r: io::Result<T>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

/// Runs `f` in a forked child (for umask and uid changes, which are per process) and
/// returns its exit status.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs only `f` and leaves with _exit; glibc and musl make malloc
    // usable after fork.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", io::Error::last_os_error()),
        0 => {
            let code = f();
            // SAFETY: leaves the child at once, running no destructors of the parent's state.
            unsafe { libc::_exit(code) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: pid is our child; status is a valid out-pointer.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(libc::WIFEXITED(status), "child status {status:#x}");
            libc::WEXITSTATUS(status)
        }
    }
}

#[test]
fn open_keeps_errno_and_sets_cloexec() {
    let dir = TempDir::new("open");
    let f = dir.join("f");
    assert_eq!(
        errno(open(&f, OFlag::O_RDONLY, 0)),
        Some(libc::ENOENT),
        "missing file"
    );
    assert_eq!(
        open(&f, OFlag::O_RDONLY, 0).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    let file = open(&f, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL, 0o600).unwrap();
    // SAFETY: fcntl F_GETFD on a descriptor we own.
    let fd_flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) };
    assert_ne!(fd_flags & libc::FD_CLOEXEC, 0);
    let again = open(&f, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL, 0o600);
    assert_eq!(errno(again), Some(libc::EEXIST));
    assert_eq!(
        errno(open(&f.join("x"), OFlag::O_RDONLY, 0)),
        Some(libc::ENOTDIR)
    );
    // The same error std gives, message and all.
    let ours = open(&f.join("x"), OFlag::O_RDONLY, 0).unwrap_err();
    let std = fs::File::open(f.join("x")).unwrap_err();
    assert_eq!(ours.to_string(), std.to_string());
}

#[test]
fn permission_denied_keeps_eacces() {
    let dir = TempDir::new("eacces");
    let f = dir.join("secret");
    fs::write(&f, b"x").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    let try_open = || errno(open(&f, OFlag::O_RDONLY, 0)).unwrap_or_default();
    // SAFETY: geteuid cannot fail.
    let code = if unsafe { libc::geteuid() } == 0 {
        // Root may open anything: try as nobody.
        in_child(|| {
            // SAFETY: setgid/setuid in the child only.
            if unsafe { libc::setgid(65534) } != 0 || unsafe { libc::setuid(65534) } != 0 {
                return 100;
            }
            try_open()
        })
    } else {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o000)).unwrap();
        try_open()
    };
    assert_eq!(code, libc::EACCES);
}

#[test]
fn nul_in_a_path_is_stds_error() {
    let p = Path::new(OsStr::from_bytes(b"a\0b"));
    let ours = stat(p).unwrap_err();
    let std = fs::metadata(p).unwrap_err();
    assert_eq!(ours.kind(), std.kind());
    assert_eq!(ours.to_string(), std.to_string());
    assert_eq!(ours.raw_os_error(), None);
}

#[test]
fn modes_as_requested_under_the_umask() {
    let dir = TempDir::new("umask");
    for (umask, file_mode, dir_mode) in [(0, 0o666, 0o777), (0o022, 0o644, 0o755)] {
        let f = dir.join(&format!("f{umask:o}"));
        let d = dir.join(&format!("d{umask:o}"));
        let code = in_child(|| {
            // SAFETY: umask of this child only.
            unsafe { libc::umask(umask) };
            let ok = open(&f, OFlag::O_WRONLY | OFlag::O_CREAT, 0o666).is_ok()
                && mkdir(&d, 0o777).is_ok();
            i32::from(!ok)
        });
        assert_eq!(code, 0);
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, file_mode);
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, dir_mode);
        // fchmod and chmod are not masked.
        let file = open(&f, OFlag::O_RDONLY, 0).unwrap();
        fchmod(&file, 0o4711).unwrap();
        assert_eq!(fstat(&file).unwrap().mode & 0o7777, 0o4711);
        #[cfg(any(feature = "sftp", feature = "scp"))]
        {
            chmod(&d, 0o1777).unwrap();
            assert_eq!(stat(&d).unwrap().mode & 0o7777, 0o1777);
        }
    }
}

#[test]
fn stat_matches_std_and_lstat_sees_links() {
    let dir = TempDir::new("stat");
    let f = dir.join("f");
    fs::write(&f, b"hello").unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    for (ours, theirs) in [
        (stat(&link).unwrap(), fs::metadata(&link).unwrap()),
        (lstat(&link).unwrap(), fs::symlink_metadata(&link).unwrap()),
        (
            fstat(&open(&f, OFlag::O_RDONLY, 0).unwrap()).unwrap(),
            fs::metadata(&f).unwrap(),
        ),
    ] {
        let want = Stat {
            mode: theirs.mode(),
            uid: theirs.uid(),
            gid: theirs.gid(),
            nlink: theirs.nlink(),
            size: theirs.size(),
            atime: theirs.atime(),
            mtime: theirs.mtime(),
        };
        assert_eq!(ours, want);
        assert_eq!(ours.is_dir(), theirs.is_dir());
        assert_eq!(ours.is_file(), theirs.is_file());
        assert_eq!(ours.is_symlink(), theirs.file_type().is_symlink());
    }
    assert!(lstat(&link).unwrap().is_symlink());
    assert!(stat(&dir.0).unwrap().is_dir());
    assert_eq!(errno(stat(&dir.join("none"))), Some(libc::ENOENT));
    assert_eq!(errno(lstat(&f.join("x"))), Some(libc::ENOTDIR));
    // A dangling link: stat fails, lstat does not.
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("none"), &dangling).unwrap();
    assert_eq!(errno(stat(&dangling)), Some(libc::ENOENT));
    assert!(lstat(&dangling).unwrap().is_symlink());
}

#[test]
fn names_change_with_errno_kept() {
    let dir = TempDir::new("names");
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    fs::write(&a, b"1").unwrap();
    fs::write(&b, b"2").unwrap();
    link(&a, &c).unwrap();
    assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
    assert_eq!(errno(link(&a, &b)), Some(libc::EEXIST));
    assert_eq!(
        errno(link(&dir.join("none"), &dir.join("x"))),
        Some(libc::ENOENT)
    );
    rename(&c, &b).unwrap();
    assert_eq!(fs::read(&b).unwrap(), b"1");
    assert_eq!(errno(rename(&c, &b)), Some(libc::ENOENT));
    unlink(&b).unwrap();
    assert_eq!(errno(unlink(&b)), Some(libc::ENOENT));
    let d = dir.join("d");
    mkdir(&d, 0o700).unwrap();
    assert_eq!(errno(mkdir(&d, 0o700)), Some(libc::EEXIST));
    assert_eq!(errno(mkdir(&a.join("x"), 0o700)), Some(libc::ENOTDIR));
    fs::write(d.join("x"), b"").unwrap();
    assert_eq!(errno(rmdir(&d)), Some(libc::ENOTEMPTY));
    assert_eq!(errno(rmdir(&a)), Some(libc::ENOTDIR));
    assert_eq!(errno(unlink(&d)), Some(libc::EISDIR));
    unlink(&d.join("x")).unwrap();
    rmdir(&d).unwrap();
    assert!(!d.exists());
    chown(&a, u32::MAX, u32::MAX).unwrap(); // -1, -1: changes nothing
    let file = open(&a, OFlag::O_RDWR, 0).unwrap();
    fsync(&file).unwrap();
}

#[test]
fn mkdir_all_as_std_create_dir_all() {
    let dir = TempDir::new("mkdirall");
    let deep = dir.join("a/b//c/");
    mkdir_all(&deep, 0o700).unwrap();
    for d in ["a", "a/b", "a/b/c"] {
        assert_eq!(
            fs::metadata(dir.join(d)).unwrap().mode() & 0o777,
            0o700,
            "{d}"
        );
    }
    // There already: fine, and the mode of what exists is left alone.
    fs::set_permissions(dir.join("a"), fs::Permissions::from_mode(0o755)).unwrap();
    mkdir_all(&deep, 0o700).unwrap();
    mkdir_all(&dir.join("a/b/../b/./c"), 0o700).unwrap();
    assert_eq!(fs::metadata(dir.join("a")).unwrap().mode() & 0o777, 0o755);
    mkdir_all(Path::new("/"), 0o700).unwrap();
    mkdir_all(Path::new(""), 0o700).unwrap();
    // A file in the way: the same errors as std's.
    fs::write(dir.join("f"), b"").unwrap();
    for p in ["f", "f/x", "f/x/y"] {
        let ours = mkdir_all(&dir.join(p), 0o700).unwrap_err();
        let std = fs::DirBuilder::new()
            .recursive(true)
            .create(dir.join(p))
            .unwrap_err();
        assert_eq!(ours.raw_os_error(), std.raw_os_error(), "{p}");
    }
}

#[test]
fn readdir_lists_what_std_lists() {
    let dir = TempDir::new("readdir");
    let odd: [&[u8]; 9] = [
        b"plain",
        b".hidden",
        b"...",
        b"..x",
        b"with space",
        b"new\nline",
        b"\xff\xfe not utf-8",
        b"caf\xc3\xa9",
        b"-",
    ];
    for name in odd {
        fs::write(dir.0.join(OsStr::from_bytes(name)), b"").unwrap();
    }
    fs::create_dir(dir.join("sub")).unwrap();
    let mut ours: Vec<Vec<u8>> = Dir::open(&dir.0).unwrap().map(Result::unwrap).collect();
    // std leaves out "." and ".."; readdir(3), and so `Dir`, has them.
    let mut theirs: Vec<Vec<u8>> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .chain([b".".to_vec(), b"..".to_vec()])
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), odd.len() + 3);
    assert!(Dir::open(&dir.join("empty-missing")).is_err());
    assert_eq!(errno(Dir::open(&dir.join("plain"))), Some(libc::ENOTDIR));
    fs::create_dir(dir.join("empty")).unwrap();
    assert_eq!(Dir::open(&dir.join("empty")).unwrap().count(), 2);
}

#[cfg(feature = "sftp")]
#[test]
fn readlink_of_long_targets() {
    let dir = TempDir::new("readlink");
    for len in [1, 255, 256, 257, 511, 512, 1000, 4000] {
        let target: Vec<u8> = (0..len).map(|i| b"abc/\xff"[i % 5]).collect();
        let link = dir.join(&format!("l{len}"));
        symlink(Path::new(OsStr::from_bytes(&target)), &link).unwrap();
        assert_eq!(readlink(&link).unwrap().as_os_str().as_bytes(), &target[..]);
        assert_eq!(readlink(&link).unwrap(), fs::read_link(&link).unwrap());
    }
    assert_eq!(errno(readlink(&dir.0)), Some(libc::EINVAL));
    assert_eq!(errno(readlink(&dir.join("none"))), Some(libc::ENOENT));
}

#[test]
fn realpath_resolves_symlinks() {
    let dir = TempDir::new("realpath");
    fs::create_dir(dir.join("real")).unwrap();
    fs::write(dir.join("real/f"), b"").unwrap();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
    let through = dir.join("link/../link/./f");
    let want = fs::canonicalize(&through).unwrap();
    assert_eq!(realpath(&through).unwrap(), want);
    assert!(want.ends_with("real/f"));
    assert_eq!(errno(realpath(&dir.join("link/none"))), Some(libc::ENOENT));
    assert_eq!(errno(realpath(&dir.join("real/f/x"))), Some(libc::ENOTDIR));
}

#[cfg(any(feature = "sftp", feature = "scp"))]
#[test]
fn truncating_past_i64_is_stds_error() {
    let dir = TempDir::new("truncate");
    let file = open(&dir.join("f"), OFlag::O_RDWR | OFlag::O_CREAT, 0o600).unwrap();
    ftruncate(&file, 10).unwrap();
    assert_eq!(fstat(&file).unwrap().size, 10);
    let ours = ftruncate(&file, u64::MAX).unwrap_err();
    let std = file.set_len(u64::MAX).unwrap_err();
    assert_eq!(
        (ours.kind(), ours.to_string()),
        (std.kind(), std.to_string())
    );
}

#[cfg(feature = "scp")]
#[test]
fn write_all_at_as_std() {
    use std::os::unix::fs::FileExt;
    let dir = TempDir::new("pwrite");
    let (ours, theirs) = (dir.join("ours"), dir.join("theirs"));
    let flags = OFlag::O_RDWR | OFlag::O_CREAT;
    let (a, b) = (
        open(&ours, flags, 0o600).unwrap(),
        open(&theirs, flags, 0o600).unwrap(),
    );
    // A hole before the first write, then an overwrite inside what is there.
    for (data, offset) in [(&b"tail"[..], 70_000), (b"head", 0), (b"XY", 70_001)] {
        write_all_at(&a, data, offset).unwrap();
        b.write_all_at(data, offset).unwrap();
    }
    assert_eq!(fs::read(&ours).unwrap(), fs::read(&theirs).unwrap());
    assert_eq!(fs::read(&ours).unwrap().len(), 70_004);
    // The same errors, message and all: a read-only descriptor, an offset past i64::MAX.
    let (ro, ro_std) = (
        open(&ours, OFlag::O_RDONLY, 0).unwrap(),
        fs::File::open(&ours).unwrap(),
    );
    for (file, std_file, offset) in [(&ro, &ro_std, 0), (&a, &b, u64::MAX)] {
        let e = write_all_at(file, b"x", offset).unwrap_err();
        let std = std_file.write_all_at(b"x", offset).unwrap_err();
        assert_eq!(
            (e.kind(), e.raw_os_error(), e.to_string()),
            (std.kind(), std.raw_os_error(), std.to_string())
        );
    }
    assert_eq!(errno(write_all_at(&ro, b"x", 0)), Some(libc::EBADF));
    assert_eq!(errno(write_all_at(&a, b"x", u64::MAX)), Some(libc::EINVAL));
    write_all_at(&ro, b"", 0).unwrap(); // nothing to write: no call at all, as in std
}

#[cfg(any(feature = "sftp", feature = "scp"))]
#[test]
fn file_times_after_2038() {
    // Past the 32-bit time_t limit (2039-09-19): on 32-bit musl this needs the libc crate
    // built for musl's 64-bit time_t (musl_time64 in targets/).
    let dir = TempDir::new("times");
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    set_times(&f, 2_200_000_000, 2_200_000_001, true).unwrap();
    let m = fs::metadata(&f).unwrap();
    assert_eq!((m.atime(), m.mtime()), (2_200_000_000, 2_200_000_001));
    let s = stat(&f).unwrap();
    assert_eq!((s.atime, s.mtime), (2_200_000_000, 2_200_000_001));
    #[cfg(feature = "sftp")]
    {
        let file = open(&f, OFlag::O_RDONLY, 0).unwrap();
        set_file_times(&file, 2_300_000_000, 5).unwrap();
        let m = fs::metadata(&f).unwrap();
        assert_eq!((m.atime(), m.mtime()), (2_300_000_000, 5));
    }
}

#[test]
fn parent_file_name_and_show_agree_with_std() {
    // Every path up to 8 bytes over '/', '.' and 'a', and a few longer ones.
    let mut paths: Vec<Vec<u8>> = vec![Vec::new()];
    let mut last = vec![Vec::new()];
    for _ in 0..8 {
        let mut next = Vec::new();
        for p in &last {
            for c in [b'/', b'.', b'a'] {
                let mut q = p.clone();
                q.push(c);
                next.push(q);
            }
        }
        paths.extend(next.iter().cloned());
        last = next;
    }
    for extra in [
        &b"/etc/quoll/ssh_host_ed25519_key"[..],
        b"key",
        b"./key",
        b"dir//key/",
        b"/tmp/../tmp/no-such-file",
        b"a/./b/./",
        b"\xff/\xfe",
    ] {
        paths.push(extra.to_vec());
    }
    for bytes in &paths {
        let p = Path::new(OsStr::from_bytes(bytes));
        assert_eq!(parent(p), p.parent(), "parent of {:?}", p);
        assert_eq!(file_name(p), p.file_name(), "file_name of {:?}", p);
        assert_eq!(show(p).to_string(), p.display().to_string());
        assert_eq!(format!("{:>9}|", show(p)), format!("{:>9}|", p.display()));
    }
}

#[test]
fn mkdtemp_makes_a_private_directory_and_wants_the_nul() {
    let mut template = *b"/tmp/quoll-fsys-mkdtemp-XXXXXX\0";
    let dir = mkdtemp(&mut template).unwrap();
    let name = dir.to_str().unwrap();
    assert!(name.starts_with("/tmp/quoll-fsys-mkdtemp-") && !name.ends_with("XXXXXX"));
    let meta = lstat(&dir).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode & 0o777, 0o700);
    rmdir(&dir).unwrap();
    let mut no_nul = *b"/tmp/quoll-fsys-mkdtemp-XXXXXX";
    assert_eq!(errno(mkdtemp(&mut no_nul)), Some(libc::EINVAL));
}
