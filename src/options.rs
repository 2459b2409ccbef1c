//! Runtime options: the defaults of `config.rs`, overridden by the command line (`cli`).
//! Only the front end (the command line, the daemon) reads them; the protocol core gets what
//! it needs in `conn::Params`.

use crate::config::*;

/// Seconds of penalty per kind of offence, and the thresholds (`--penalties`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltySecs {
    pub authfail: u32,
    pub noauth: u32,
    pub protocol: u32,
    pub grace: u32,
    pub min: u32,
    pub max: u32,
}

impl Default for PenaltySecs {
    fn default() -> Self {
        PenaltySecs {
            authfail: PENALTY_AUTHFAIL_SECS,
            noauth: PENALTY_NOAUTH_SECS,
            protocol: PENALTY_PROTOCOL_SECS,
            grace: PENALTY_GRACE_SECS,
            min: PENALTY_MIN_SECS,
            max: PENALTY_MAX_SECS,
        }
    }
}

/// Runtime options: the defaults above, overridden by the command line (`cli`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub listen: Vec<std::net::SocketAddr>,
    pub hostkey: std::path::PathBuf,
    /// `-R`: create the host key at the first connection instead of at start.
    pub defer_keygen: bool,
    pub foreground: bool,
    pub log_stderr: bool,
    pub pidfile: Option<std::path::PathBuf>,
    /// `-D`: read `DIR/authorized_keys` instead of `~/.ssh/authorized_keys`.
    pub auth_dir: Option<std::path::PathBuf>,
    /// `--trusted-user-ca-keys FILE`: CAs whose user certificates log in the users they name.
    pub trusted_user_ca_keys: Option<std::path::PathBuf>,
    /// `--revoked-keys FILE`: public keys (and CAs) refused at login.
    pub revoked_keys: Option<std::path::PathBuf>,
    /// `--root-keys FILE`: root's keys also from FILE (OpenWrt's /etc/dropbear/authorized_keys).
    pub root_keys: Option<std::path::PathBuf>,
    pub max_auth_tries: u32,
    pub max_connections: usize,
    pub max_channels: usize,
    pub window: u32,
    pub login_grace_secs: u64,
    /// `--sftp-server PATH`: run this program for `subsystem sftp` instead of the built-in.
    pub sftp_server: Option<std::path::PathBuf>,
    /// `--no-sftp`: refuse `subsystem sftp`.
    pub no_sftp: bool,
    /// `--builtin-scp`: answer `scp -t`/`scp -f` built-in even when `scp` is on PATH.
    pub builtin_scp: bool,
    /// More `-r` files: only Ed25519 keys are used, others are ignored with a warning.
    pub extra_hostkeys: Vec<std::path::PathBuf>,
    /// `-b`: banner file sent before authentication.
    pub banner: Option<std::path::PathBuf>,
    /// `-e`: sessions inherit quoll's environment.
    pub pass_env: bool,
    /// `-w`: no root logins.
    pub no_root: bool,
    /// `-G`: only members of this group may log in.
    pub group: Option<String>,
    /// `-s`: no password logins.
    pub no_password: bool,
    /// `-g`: no password logins for root.
    pub no_root_password: bool,
    /// `-B`: accounts with a blank password may log in.
    pub blank_password: bool,
    /// `-t`: a key and then a password, both required.
    pub key_and_password: bool,
    /// `-j`, `-k`: no local / remote port forwarding.
    pub no_local_forward: bool,
    pub no_remote_forward: bool,
    /// `-a`: forwarded listeners may bind other addresses than loopback.
    pub forward_any_address: bool,
    /// `-c`: run this command for every session (as authorized_keys `command=`).
    pub forced_command: Option<String>,
    /// `-l`: bind listeners to this interface (SO_BINDTODEVICE).
    pub interface: Option<String>,
    /// `-i`: serve one connection on stdin/stdout (inetd).
    pub inetd: bool,
    /// `-K`: seconds of silence before a keepalive request (0: none).
    pub keepalive_secs: u64,
    /// `-I`: seconds without traffic before disconnecting (0: never).
    pub idle_timeout_secs: u64,
    /// `-M`: seconds a connection may last (0: no limit).
    pub max_session_secs: u64,
    /// `--permit-user-env`: honour authorized_keys `environment=`.
    pub permit_user_env: bool,
    /// `--max-unauth`: connections not yet authenticated, in total.
    pub max_unauth: usize,
    /// `--max-unauth-per-addr`: ... and from one address.
    pub max_unauth_per_addr: usize,
    /// `--max-unauth-per-net`: ... and from one IPv4 /24 or IPv6 /64.
    pub max_unauth_per_net: usize,
    /// `--max-startups start:rate:full`: random early drop from `start` unauthenticated
    /// connections at `rate`% (full is `max_unauth`).
    pub startups_begin: usize,
    pub startups_rate: u32,
    /// `--kex-timeout`: seconds to finish the first key exchange.
    pub kex_timeout_secs: u64,
    /// `--penalties`: per-source penalties; None: off.
    pub penalties: Option<PenaltySecs>,
    /// `--syslog-ident`: the name in syslog lines.
    pub syslog_ident: String,
    /// `--max-memory`: the memory budget in bytes; `None` derives it at start (see
    /// `DEFAULT_MAX_MEMORY_RAM_SHARE`).
    pub max_memory: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: Vec::new(),
            hostkey: DEFAULT_HOSTKEY.into(),
            defer_keygen: false,
            foreground: false,
            log_stderr: false,
            pidfile: None,
            auth_dir: None,
            trusted_user_ca_keys: None,
            revoked_keys: None,
            root_keys: None,
            max_auth_tries: DEFAULT_MAX_AUTH_TRIES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_channels: MAX_CHANNELS,
            window: DEFAULT_WINDOW,
            login_grace_secs: DEFAULT_LOGIN_GRACE_SECS,
            sftp_server: None,
            no_sftp: false,
            builtin_scp: false,
            extra_hostkeys: Vec::new(),
            banner: None,
            pass_env: false,
            no_root: false,
            group: None,
            no_password: false,
            no_root_password: false,
            blank_password: false,
            key_and_password: false,
            no_local_forward: false,
            no_remote_forward: false,
            forward_any_address: false,
            forced_command: None,
            interface: None,
            inetd: false,
            keepalive_secs: 0,
            idle_timeout_secs: 0,
            max_session_secs: 0,
            permit_user_env: false,
            max_unauth: DEFAULT_MAX_UNAUTH,
            max_unauth_per_addr: DEFAULT_MAX_UNAUTH_PER_ADDR,
            max_unauth_per_net: DEFAULT_MAX_UNAUTH_PER_NET,
            startups_begin: DEFAULT_STARTUPS_BEGIN,
            startups_rate: DEFAULT_STARTUPS_RATE,
            kex_timeout_secs: DEFAULT_KEX_TIMEOUT_SECS,
            penalties: Some(PenaltySecs::default()),
            syslog_ident: DEFAULT_SYSLOG_IDENT.to_string(),
            max_memory: None,
        }
    }
}

impl Options {
    /// The defaults when quoll runs as `dropbear`: Dropbear's host key location and
    /// Dropbear's name in syslog lines (what fail2ban's stock filter and log readers expect).
    pub fn dropbear() -> Options {
        Options {
            hostkey: crate::config::DROPBEAR_HOSTKEY.into(),
            syslog_ident: "dropbear".to_string(),
            root_keys: Some(crate::config::DROPBEAR_ROOT_KEYS.into()),
            ..Options::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_dropbear_the_key_and_the_syslog_name_are_dropbears() {
        let Ok(crate::cli::Cli::Run(o)) = crate::cli::parse_from(&[], Options::dropbear()) else {
            panic!("parse");
        };
        assert_eq!(
            o.hostkey,
            std::path::Path::new("/etc/dropbear/dropbear_ed25519_host_key")
        );
        assert_eq!(o.syslog_ident, "dropbear");
        assert_eq!(
            o.root_keys.as_deref(),
            Some(std::path::Path::new("/etc/dropbear/authorized_keys"))
        );
        assert_eq!(
            crate::hostkey::Format::for_path(&o.hostkey),
            crate::hostkey::Format::Dropbear
        );
        assert_eq!(
            *o,
            Options {
                listen: o.listen.clone(),
                hostkey: o.hostkey.clone(),
                syslog_ident: o.syslog_ident.clone(),
                root_keys: o.root_keys.clone(),
                ..Options::default()
            }
        );
    }

    #[test]
    fn an_empty_command_line_keeps_every_default() {
        let cli = crate::cli::parse(&[]).unwrap();
        let crate::cli::Cli::Run(o) = cli else {
            panic!("{cli:?}");
        };
        let defaults = Options {
            listen: crate::cli::parse_listen(&DEFAULT_PORT.to_string()).unwrap(),
            ..Options::default()
        };
        assert_eq!(*o, defaults);
    }

    #[test]
    fn the_defaults_are_config_s() {
        let o = Options::default();
        assert_eq!(o.hostkey, std::path::Path::new(DEFAULT_HOSTKEY));
        assert_eq!(
            (o.max_connections, o.max_channels, o.window),
            (DEFAULT_MAX_CONNECTIONS, MAX_CHANNELS, DEFAULT_WINDOW)
        );
        assert_eq!(
            (o.max_unauth, o.max_unauth_per_addr, o.max_unauth_per_net),
            (
                DEFAULT_MAX_UNAUTH,
                DEFAULT_MAX_UNAUTH_PER_ADDR,
                DEFAULT_MAX_UNAUTH_PER_NET
            )
        );
        assert_eq!(
            (o.login_grace_secs, o.kex_timeout_secs, o.max_auth_tries),
            (
                DEFAULT_LOGIN_GRACE_SECS,
                DEFAULT_KEX_TIMEOUT_SECS,
                DEFAULT_MAX_AUTH_TRIES
            )
        );
        let p = o.penalties.expect("penalties are on by default");
        assert_eq!(
            [p.authfail, p.noauth, p.protocol, p.grace, p.min, p.max],
            [
                PENALTY_AUTHFAIL_SECS,
                PENALTY_NOAUTH_SECS,
                PENALTY_PROTOCOL_SECS,
                PENALTY_GRACE_SECS,
                PENALTY_MIN_SECS,
                PENALTY_MAX_SECS
            ]
        );
        assert_eq!(o.syslog_ident, DEFAULT_SYSLOG_IDENT);
        // Derived at start from the machine (`daemon::memory`), not fixed here.
        assert_eq!(o.max_memory, None);
        // Nothing off by default that a plain server offers.
        assert!(!o.no_password && !o.no_sftp && !o.inetd && !o.blank_password);
    }

    #[test]
    fn the_default_limits_hold_together() {
        let o = Options::default();
        assert!(o.startups_begin <= o.max_unauth && o.startups_rate <= 100);
        assert!(o.max_unauth_per_addr <= o.max_unauth_per_net);
        assert!(o.max_unauth_per_net <= o.max_unauth);
        assert!(o.max_unauth <= o.max_connections && o.max_connections <= MAX_CONNECTIONS_CAP);
        assert!(o.kex_timeout_secs < o.login_grace_secs);
        assert!(o.window as usize >= MAX_CHANNEL_PACKET as usize && o.window <= MAX_WINDOW);
    }
}
