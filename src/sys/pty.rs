//! Pseudo-terminals: open, size, terminal modes.

use super::fd::set_nonblocking_cloexec;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct Pty {
    /// Non-blocking, close-on-exec; the loop reads and writes it.
    pub master: OwnedFd,
    /// Given to the child as its controlling terminal.
    pub slave: OwnedFd,
    /// e.g. `/dev/pts/3`
    pub name: String,
}

/// Opens a pty pair and chowns the slave to `uid` (mode 0620, group `tty_gid`, the `tty` group
/// where the system has one) so the user owns their terminal. The caller sets the window size
/// (`resize`).
///
/// Without a `tty` group the slave keeps its group and gets mode 0600, so nobody else can
/// write to it. The chown is done only when quoll runs as root: otherwise devpts has already
/// given the slave to our own uid, which must then be the user's.
pub fn open(uid: u32, tty_gid: Option<u32>) -> io::Result<Pty> {
    // posix_openpt/grantpt/unlockpt/ptsname_r are plain libc on glibc and musl alike
    // (openpty lives in libutil on older glibc).
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: posix_openpt takes only flags and returns a new descriptor or -1.
    let master = unsafe { libc::posix_openpt(flags) };
    if master < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: master is a fresh descriptor that nothing else owns.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    set_nonblocking_cloexec(&master)?;

    // SAFETY: grantpt/unlockpt take a descriptor we own.
    if unsafe { libc::grantpt(master.as_raw_fd()) } != 0
        || unsafe { libc::unlockpt(master.as_raw_fd()) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // The slave's number, as ptsname_r finds it, without ptsname_r: musl formats the name with
    // snprintf, which alone pulls printf (with float formatting) into a static binary.
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the pointer, which points to n.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN as _, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let name = format!("/dev/pts/{n}");
    let cname = CString::new(name.clone()).map_err(|_| crate::ioerr::other("pty name"))?;

    // O_CLOEXEC (in flags) so it cannot leak into other sessions; the child's dup2 onto 0/1/2
    // makes copies without the flag.
    // SAFETY: cname is a valid C string; open returns a new descriptor or -1.
    let slave = unsafe { libc::open(cname.as_ptr(), flags) };
    if slave < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: slave is a fresh descriptor that nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };

    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        give_to_user(&slave, uid, tty_gid)?;
    }
    Ok(Pty {
        master,
        slave,
        name,
    })
}

/// Makes the user the owner of their terminal, writable by group `tty` for write(1)/wall(1).
fn give_to_user(slave: &OwnedFd, uid: u32, tty_gid: Option<u32>) -> io::Result<()> {
    let (gid, mode) = match tty_gid {
        Some(gid) => (gid, 0o620),
        // gid_t -1: leave the group as it is.
        None => (u32::MAX, 0o600),
    };
    // SAFETY: fchown/fchmod on a descriptor we own, integer arguments only.
    let ok = unsafe {
        libc::fchown(slave.as_raw_fd(), uid, gid) == 0 && libc::fchmod(slave.as_raw_fd(), mode) == 0
    };
    if !ok {
        let err = io::Error::last_os_error();
        // Only root gets here, but a devpts mounted with odd options may still refuse.
        if err.raw_os_error() != Some(libc::EPERM) {
            return Err(err);
        }
    }
    Ok(())
}

/// TIOCSWINSZ on the master: `cols` by `rows` characters, `width_px` by `height_px` pixels
/// (the kernel sends SIGWINCH to the foreground group).
pub fn resize(
    master: &OwnedFd,
    cols: u32,
    rows: u32,
    width_px: u32,
    height_px: u32,
) -> io::Result<()> {
    // The kernel's fields are u16; a client asking for more gets the largest.
    let clamp = |v: u32| v.min(u16::MAX as u32) as u16;
    let ws = libc::winsize {
        ws_row: clamp(rows),
        ws_col: clamp(cols),
        ws_xpixel: clamp(width_px),
        ws_ypixel: clamp(height_px),
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which is valid.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// RFC 4254 §8 opcodes that set a special character, with the c_cc index they set.
/// VDSUSP (11), VFLUSH (15) and VSTATUS (17) have no Linux equivalent and are ignored.
const SPECIAL_CHARS: &[(u8, usize)] = &[
    (1, libc::VINTR),
    (2, libc::VQUIT),
    (3, libc::VERASE),
    (4, libc::VKILL),
    (5, libc::VEOF),
    (6, libc::VEOL),
    (7, libc::VEOL2),
    (8, libc::VSTART),
    (9, libc::VSTOP),
    (10, libc::VSUSP),
    (12, libc::VREPRINT),
    (13, libc::VWERASE),
    (14, libc::VLNEXT),
    (16, libc::VSWTC),
    (18, libc::VDISCARD),
];

#[derive(Clone, Copy)]
enum Field {
    Input,
    Local,
    Output,
    Control,
}

/// RFC 4254 §8 (and RFC 8160 for IUTF8) opcodes that set or clear one termios flag.
const FLAGS: &[(u8, Field, libc::tcflag_t)] = &[
    (30, Field::Input, libc::IGNPAR),
    (31, Field::Input, libc::PARMRK),
    (32, Field::Input, libc::INPCK),
    (33, Field::Input, libc::ISTRIP),
    (34, Field::Input, libc::INLCR),
    (35, Field::Input, libc::IGNCR),
    (36, Field::Input, libc::ICRNL),
    (37, Field::Input, libc::IUCLC),
    (38, Field::Input, libc::IXON),
    (39, Field::Input, libc::IXANY),
    (40, Field::Input, libc::IXOFF),
    (41, Field::Input, libc::IMAXBEL),
    (42, Field::Input, libc::IUTF8),
    (50, Field::Local, libc::ISIG),
    (51, Field::Local, libc::ICANON),
    (52, Field::Local, libc::XCASE),
    (53, Field::Local, libc::ECHO),
    (54, Field::Local, libc::ECHOE),
    (55, Field::Local, libc::ECHOK),
    (56, Field::Local, libc::ECHONL),
    (57, Field::Local, libc::NOFLSH),
    (58, Field::Local, libc::TOSTOP),
    (59, Field::Local, libc::IEXTEN),
    (60, Field::Local, libc::ECHOCTL),
    (61, Field::Local, libc::ECHOKE),
    (62, Field::Local, libc::PENDIN),
    (70, Field::Output, libc::OPOST),
    (71, Field::Output, libc::OLCUC),
    (72, Field::Output, libc::ONLCR),
    (73, Field::Output, libc::OCRNL),
    (74, Field::Output, libc::ONOCR),
    (75, Field::Output, libc::ONLRET),
    (92, Field::Control, libc::PARENB),
    (93, Field::Control, libc::PARODD),
];

const OP_CS7: u8 = 90;
const OP_CS8: u8 = 91;
const OP_ISPEED: u8 = 128;
const OP_OSPEED: u8 = 129;

/// The client's "disabled" special character (OpenSSH sends 255).
const SSH_VDISABLE: u32 = 255;
/// Linux's _POSIX_VDISABLE.
const VDISABLE: libc::cc_t = 0;

/// Splits encoded modes into `(opcode, argument)` pairs. Stops at TTY_OP_END, at the first
/// opcode of 160 or more (their arguments are undefined, so nothing after them can be
/// parsed), and at a truncated argument.
fn parse_modes(modes: &[u8]) -> impl Iterator<Item = (u8, u32)> + '_ {
    let mut rest = modes;
    std::iter::from_fn(move || {
        let (&op, tail) = rest.split_first()?;
        if op == 0 || op >= 160 {
            return None;
        }
        let arg: [u8; 4] = tail.get(..4)?.try_into().ok()?;
        rest = &tail[4..];
        Some((op, u32::from_be_bytes(arg)))
    })
}

/// Applies one mode to `t`; unknown opcodes and unsupported values change nothing.
fn apply_mode(t: &mut libc::termios, op: u8, arg: u32) {
    if let Some(&(_, index)) = SPECIAL_CHARS.iter().find(|(o, _)| *o == op) {
        t.c_cc[index] = match arg {
            SSH_VDISABLE => VDISABLE,
            // Other values above a byte mean nothing; keep the current character.
            v => match libc::cc_t::try_from(v) {
                Ok(c) => c,
                Err(_) => return,
            },
        };
    } else if let Some(&(_, field, bit)) = FLAGS.iter().find(|(o, _, _)| *o == op) {
        let flags = match field {
            Field::Input => &mut t.c_iflag,
            Field::Local => &mut t.c_lflag,
            Field::Output => &mut t.c_oflag,
            Field::Control => &mut t.c_cflag,
        };
        if arg != 0 {
            *flags |= bit;
        } else {
            *flags &= !bit;
        }
    } else if op == OP_CS7 || op == OP_CS8 {
        // A character size is a value of the CSIZE field, not a bit: setting one replaces
        // the size, clearing one leaves it to the other opcode (clients send both).
        if arg != 0 {
            let size = if op == OP_CS7 { libc::CS7 } else { libc::CS8 };
            t.c_cflag = (t.c_cflag & !libc::CSIZE) | size;
        }
    } else if op == OP_ISPEED || op == OP_OSPEED {
        if let Some(speed) = baud(arg) {
            // SAFETY: t is a valid termios; cfset*speed only write into it.
            unsafe {
                if op == OP_ISPEED {
                    libc::cfsetispeed(t, speed);
                } else {
                    libc::cfsetospeed(t, speed);
                }
            }
        }
    }
}

/// Bits per second → termios speed constant, for the rates a client may plausibly send.
fn baud(bps: u32) -> Option<libc::speed_t> {
    Some(match bps {
        0 => libc::B0,
        50 => libc::B50,
        75 => libc::B75,
        110 => libc::B110,
        134 => libc::B134,
        150 => libc::B150,
        200 => libc::B200,
        300 => libc::B300,
        600 => libc::B600,
        1200 => libc::B1200,
        1800 => libc::B1800,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        460800 => libc::B460800,
        921600 => libc::B921600,
        _ => return None,
    })
}

/// Applies RFC 4254 §8 encoded terminal modes (opcode byte + u32 argument, ending at
/// TTY_OP_END = 0) to the terminal; unknown opcodes are ignored, opcodes 160+ end parsing.
pub fn apply_modes(fd: &OwnedFd, modes: &[u8]) -> io::Result<()> {
    // SAFETY: termios is plain old data, filled in by tcgetattr before use.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: t is a valid out-pointer.
    if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for (op, arg) in parse_modes(modes) {
        apply_mode(&mut t, op, arg);
    }
    // SAFETY: t is a valid termios.
    if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pty for us, 80x24 characters on 640x480 pixels.
    fn open_80x24(tty_gid: Option<u32>) -> Pty {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let pty = open(uid, tty_gid).unwrap();
        resize(&pty.master, 80, 24, 640, 480).unwrap();
        pty
    }

    fn getattr(fd: &OwnedFd) -> libc::termios {
        // SAFETY: termios is plain old data; t is a valid out-pointer.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) }, 0);
        t
    }

    fn getsize(fd: &OwnedFd) -> libc::winsize {
        // SAFETY: winsize is plain old data; TIOCGWINSZ writes one into the pointer.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) },
            0
        );
        ws
    }

    fn encode(modes: &[(u8, u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(op, arg) in modes {
            v.push(op);
            v.extend_from_slice(&arg.to_be_bytes());
        }
        v.push(0);
        v
    }

    #[test]
    fn open_sets_size_name_and_flags() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        // The group a root quoll gives the terminal: any group will do; 5 is `tty` on Debian.
        let pty = open_80x24(Some(5));
        assert!(pty.name.starts_with("/dev/pts/"), "{}", pty.name);
        let ws = getsize(&pty.slave);
        assert_eq!(
            (ws.ws_col, ws.ws_row, ws.ws_xpixel, ws.ws_ypixel),
            (80, 24, 640, 480)
        );
        // SAFETY: fcntl queries on descriptors we own.
        let (fl, mfd, sfd) = unsafe {
            (
                libc::fcntl(pty.master.as_raw_fd(), libc::F_GETFL),
                libc::fcntl(pty.master.as_raw_fd(), libc::F_GETFD),
                libc::fcntl(pty.slave.as_raw_fd(), libc::F_GETFD),
            )
        };
        assert_ne!(fl & libc::O_NONBLOCK, 0);
        assert_ne!(mfd & libc::FD_CLOEXEC, 0);
        assert_ne!(sfd & libc::FD_CLOEXEC, 0);
        let meta = std::fs::metadata(&pty.name).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.uid(), uid);
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(meta.gid(), 5);
            assert_eq!(meta.mode() & 0o777, 0o620);
            // No tty group: the group stays, only the user may write.
            let pty = open_80x24(None);
            assert_eq!(std::fs::metadata(&pty.name).unwrap().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn resize_then_read_back() {
        let pty = open_80x24(None);
        resize(&pty.master, 132, 50, 100_000, 0).unwrap(); // 100_000 is clamped
        let ws = getsize(&pty.master);
        assert_eq!(
            (ws.ws_col, ws.ws_row, ws.ws_xpixel, ws.ws_ypixel),
            (132, 50, 65535, 0)
        );
    }

    #[test]
    fn modes_clear_echo_and_set_vintr() {
        let pty = open_80x24(None);
        let modes = encode(&[
            (53, 0),     // ECHO off
            (1, 7),      // VINTR = ^G
            (4, 255),    // VKILL disabled
            (42, 1),     // IUTF8 on
            (72, 0),     // ONLCR off
            (129, 9600), // ospeed
            (99, 1),     // unknown: ignored
        ]);
        apply_modes(&pty.slave, &modes).unwrap();
        let t = getattr(&pty.slave);
        assert_eq!(t.c_lflag & libc::ECHO, 0);
        assert_eq!(t.c_cc[libc::VINTR], 7);
        assert_eq!(t.c_cc[libc::VKILL], VDISABLE);
        assert_ne!(t.c_iflag & libc::IUTF8, 0);
        assert_eq!(t.c_oflag & libc::ONLCR, 0);
        // SAFETY: t is a valid termios.
        assert_eq!(unsafe { libc::cfgetospeed(&t) }, libc::B9600);

        // Setting ECHO back on through the master works too.
        apply_modes(&pty.master, &encode(&[(53, 1)])).unwrap();
        assert_ne!(getattr(&pty.slave).c_lflag & libc::ECHO, 0);
    }

    #[test]
    fn character_size_and_parity() {
        // Linux ptys force CS8 and no parity, so check the termios we would ask for.
        // SAFETY: termios is plain old data.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        t.c_cflag = libc::CS8;
        for (op, arg) in [(90, 1), (91, 0), (92, 1), (93, 0)] {
            apply_mode(&mut t, op, arg);
        }
        assert_eq!(t.c_cflag & libc::CSIZE, libc::CS7);
        assert_ne!(t.c_cflag & libc::PARENB, 0);
        assert_eq!(t.c_cflag & libc::PARODD, 0);
        apply_mode(&mut t, 91, 1);
        assert_eq!(t.c_cflag & libc::CSIZE, libc::CS8);
    }

    #[test]
    fn parse_stops_where_it_must() {
        let p = |m: &[u8]| parse_modes(m).collect::<Vec<_>>();
        assert_eq!(p(&[]), vec![]);
        assert_eq!(p(&[0, 53, 0, 0, 0, 1]), vec![]);
        assert_eq!(p(&[53, 0, 0, 0, 1, 1, 0, 0]), vec![(53, 1)]); // truncated argument
        assert_eq!(
            p(&[53, 0, 0, 0, 1, 160, 1, 2, 3, 4, 53, 0, 0, 0, 0]),
            vec![(53, 1)]
        );
        assert_eq!(p(&[1, 0, 0, 0, 3, 159, 0, 0, 0, 9]), vec![(1, 3), (159, 9)]);
        // No terminating 0 is fine as well.
        assert_eq!(p(&[14, 0, 0, 0, 22]), vec![(14, 22)]);
    }

    #[test]
    fn malformed_modes_do_not_fail() {
        let pty = open_80x24(None);
        for m in [
            &[1u8][..],
            &[1, 0, 0],
            &[200, 1],
            &[1, 0xff, 0xff, 0xff, 0xff, 0],
        ] {
            apply_modes(&pty.slave, m).unwrap();
        }
    }
}
