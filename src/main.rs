//! quoll: parse the command line, set up logging, load the host key, run the loop.
//!
//! quoll has its own C `main` instead of std's start-up code (src/sys/start.rs says what
//! it takes over). A test build of this file (`cargo test --all-targets`) keeps the test
//! harness's `main` and has no tests.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code, unused_imports))]
#![deny(unsafe_code)]

use log::{error, info};
use quoll::cli::{self, Cli};
use quoll::daemon::event_loop::Server;
use quoll::daemon::multicall::{self, Public};
use quoll::hostkey;
use quoll::options::Options;
use quoll::sys::fd::{STDERR, STDOUT};
use quoll::sys::{signal as signals, start, syslog};
use std::io::Write;

#[global_allocator]
static ALLOC: quoll::sys::alloc::PageAlloc = quoll::sys::alloc::PageAlloc;

#[cfg(not(test))]
quoll::c_main!(start);

/// What `main` runs: the command line as bytes, program name first.
fn start(raw: &[Vec<u8>]) -> i32 {
    // One of quoll's own children, run under an internal name.
    if let Some(code) = multicall::run(raw) {
        return code;
    }
    let name = multicall::public(raw);
    match start::arguments(raw) {
        Ok(args) => match name {
            Public::DropbearKey => quoll::dropbearkey::main(&args),
            Public::DropbearConvert => quoll::dropbearconvert::main(&args),
            Public::Dropbear => entry(&args, Options::dropbear()),
            Public::Quoll => entry(&args, Options::default()),
        },
        Err(i) => {
            let _ = writeln!({ STDERR }, "quoll: argument {i} is not UTF-8");
            1
        }
    }
}

/// The server (or `quoll keygen`), its options starting from `defaults`.
fn entry(args: &[String], defaults: Options) -> i32 {
    if args.first().map(String::as_str) == Some("keygen") {
        return quoll::keygen::main(&args[1..]);
    }
    let opts = match cli::parse_from(args, defaults) {
        Ok(Cli::Run(o)) => *o,
        Ok(Cli::Help) => {
            let _ = { STDOUT }.write_all(cli::USAGE.as_bytes());
            return 0;
        }
        Ok(Cli::Query(kind)) => {
            for a in cli::query(&kind).unwrap_or(&[]) {
                let _ = writeln!({ STDOUT }, "{a}");
            }
            return 0;
        }
        Ok(Cli::Version) => {
            let mut line = format!("quoll {}", env!("CARGO_PKG_VERSION"));
            for (name, on) in quoll::FEATURES {
                line.push_str(if *on { " +" } else { " -" });
                line.push_str(name);
            }
            let _ = writeln!({ STDOUT }, "{line}");
            return 0;
        }
        Err(e) => {
            // Status 1 as Dropbear's for every start-up failure: init scripts test for it.
            let _ = writeln!({ STDERR }, "quoll: {}\n\n{}", e.0, cli::USAGE);
            return 1;
        }
    };
    syslog::init(opts.log_stderr, log::LevelFilter::Info, &opts.syslog_ident);
    run(opts)
}

/// `-r` given more than once (Dropbear's init scripts pass one per key type): the first file
/// that holds an Ed25519 key is used, the others are ignored with a warning. When every file
/// named holds (or, missing, is named for) a key of a type quoll does not have — RSA, ECDSA,
/// DSS — quoll does what Dropbear with `-R` does for its Ed25519 key: it uses
/// `dropbear_ed25519_host_key` in the first file's directory, created at the first
/// connection when missing.
fn pick_hostkey(opts: &mut Options) {
    let extra = std::mem::take(&mut opts.extra_hostkeys);
    let named = extra.len() + 1;
    let mut chosen = None;
    let mut other_types = 0;
    for p in std::iter::once(&opts.hostkey).chain(&extra) {
        let shown = quoll::sys::fsys::show(p);
        match hostkey::load(p) {
            Ok(_) if chosen.is_none() => chosen = Some(p),
            Ok(_) => log::warn!("Ignoring host key {shown}: one Ed25519 key is used"),
            Err(e) if e.is_other_type() || (e.is_not_found() && names_other_type(p)) => {
                other_types += 1;
                log::warn!("Ignoring host key {shown}: quoll has Ed25519 host keys only");
            }
            Err(e) if named > 1 => log::warn!("Ignoring host key {shown}: {e}"),
            Err(_) => {}
        }
    }
    if let Some(p) = chosen {
        opts.hostkey = p.clone();
    } else if other_types == named {
        let dir = quoll::sys::fsys::parent(&opts.hostkey)
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        opts.hostkey = dir.join(DROPBEAR_ED25519);
        opts.defer_keygen = true;
        info!(
            "No Ed25519 host key among the -r files: using {} (created at the first connection if missing, as with -R)",
            quoll::sys::fsys::show(&opts.hostkey)
        );
    }
    // Otherwise the first is created (or refused) as with a single -r.
}

/// Dropbear's name for its Ed25519 host key.
const DROPBEAR_ED25519: &str = "dropbear_ed25519_host_key";

/// Whether `path` is named as Dropbear names its host keys of the other types.
fn names_other_type(path: &std::path::Path) -> bool {
    let name = quoll::sys::fsys::file_name(path).map(|n| n.as_encoded_bytes());
    matches!(
        name,
        Some(b"dropbear_rsa_host_key" | b"dropbear_ecdsa_host_key" | b"dropbear_dss_host_key")
    )
}

fn run(mut opts: Options) -> i32 {
    pick_hostkey(&mut opts);
    // lstat: a symlink at the path is loaded (and refused) now, not followed later.
    let key = if opts.defer_keygen && quoll::sys::fsys::lstat(&opts.hostkey).is_err() {
        None
    } else {
        match hostkey::load_or_generate(&opts.hostkey) {
            Ok((k, generated)) => {
                if generated {
                    info!(
                        "Generated host key {}",
                        quoll::sys::fsys::show(&opts.hostkey)
                    );
                }
                Some(k)
            }
            Err(e) => {
                error!("{e}");
                let _ = writeln!({ STDERR }, "quoll: {e}");
                return 1;
            }
        }
    };
    if !quoll::daemon::spawn::enable_self_exec() {
        log::warn!(
            "/proc/self/exe cannot be executed (no /proc?): helpers and built-in servers run in forked copies of quoll"
        );
    }
    let sigfd = match signals::install() {
        Ok(fd) => fd,
        Err(e) => {
            error!("signal setup: {e}");
            return 1;
        }
    };
    let pidfile = opts.pidfile.clone();
    let foreground = opts.foreground;
    let opts_inetd = opts.inetd;
    let mut server = match Server::new(opts, key, sigfd) {
        Ok(s) => s,
        Err(e) => {
            error!("Failed to listen: {e}");
            let _ = writeln!({ STDERR }, "quoll: failed to listen: {e}");
            return 1;
        }
    };
    if opts_inetd {
        if let Err(e) = server.adopt_stdio() {
            error!("inetd mode: {e}");
            return 1;
        }
    } else if foreground {
        info!("Not backgrounding");
    } else if let Err(e) = quoll::sys::process::daemonize() {
        error!("Failed to background: {e}");
        return 1;
    }
    if let Some(p) = &pidfile {
        if let Err(e) = write_pidfile(p) {
            error!("Failed to write pidfile {}: {e}", quoll::sys::fsys::show(p));
        }
    }
    let r = server.run();
    if let Some(p) = &pidfile {
        let _ = quoll::sys::fsys::unlink(p);
    }
    match r {
        Ok(status) => status,
        Err(e) => {
            error!("poll failed: {e}");
            1
        }
    }
}

/// The pidfile, mode 0644 whatever the umask, written whole as `PATH.tmpPID` and renamed
/// over `path`: a reader never sees it half written, and a symlink (or any file) at `path` is
/// replaced, never written through (rename does not follow it).
fn write_pidfile(path: &std::path::Path) -> std::io::Result<()> {
    use quoll::sys::fsys;
    let tmp = fsys::temp_path(path);
    let written = fsys::create_temp(&tmp, 0o644)
        .and_then(|mut f| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .and_then(|()| fsys::rename(&tmp, path));
    if written.is_err() {
        let _ = fsys::unlink(&tmp);
    }
    written
}
