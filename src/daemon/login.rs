//! Login policy: the loop's side of authentication. The protocol core asks a question
//! (`Event::Auth`, `Conn::question`) and waits; this module has it checked by a helper
//! (`authcheck`), with a cap on how many run at once, answers the core (`resume_auth`), and
//! takes the account and key options for the connection only when the core reports the
//! login a success. A failed or unfinished attempt changes nothing. Every authentication log
//! line is written here, in Dropbear's words: what the check found, and the core's report of
//! each attempt (`proto::auth::Report`, also for attempts it finished alone).

use super::authcheck::{Kind, Policy, Reply, Request, Verdict, MAX_REPLY};
use super::edge::Edge;
use super::helper::{Job, Progress};
use super::keygrant;
use crate::accounts::users::User;
use crate::authkeys::KeyOptions;
use crate::config::{
    AUTH_CHECK_TIMEOUT_MS, MAX_KEY_CHECKS, MAX_PASSWORD_CHECKS, PASSWORD_CHECK_NICE,
};
use crate::inet::Sock;
use crate::proto::auth;
use crate::proto::auth::{Attempt, Outcome, Question, Report};
use crate::proto::conn::Conn;
use crate::proto::userkey::SkSigned;
use log::{info, warn};

/// One connection's authentication in progress.
#[derive(Default)]
pub struct Login {
    check: Option<Check>,
    /// `-t`: the account and key options of the key step that passed.
    key_step: Option<(User, KeyOptions)>,
    /// The last key a query found listed: the signed request that normally follows (same
    /// user, same key) is answered from it.
    listed: Option<Listed>,
}

/// The check of the question the core holds.
struct Check {
    kind: Kind,
    user: String,
    /// The key blob (`Kind::Key`).
    blob: Vec<u8>,
    /// The running helper; None while waiting for a free one.
    helper: Option<Job>,
}

#[derive(Clone)]
struct Listed {
    user: String,
    blob: Vec<u8>,
    account: User,
    options: KeyOptions,
}

impl Login {
    /// The helper running for this connection, if any (for the poll set and reaping).
    pub fn helper(&mut self) -> Option<&mut Job> {
        self.check.as_mut()?.helper.as_mut()
    }

    /// Whether a check is waiting or running (else a question held by the core is new).
    pub fn has_check(&self) -> bool {
        self.check.is_some()
    }

    /// The running helper's reply pipe and deadline, for the poll set.
    pub fn running_fd(&self) -> Option<(std::os::fd::RawFd, u64)> {
        let job = self.check.as_ref()?.helper.as_ref()?;
        Some((job.fd(), job.deadline))
    }

    /// A check waiting for a free helper, with its kind.
    pub fn waiting(&self) -> Option<Kind> {
        self.check
            .as_ref()
            .filter(|c| c.helper.is_none())
            .map(|c| c.kind)
    }

    /// The kind of the helper running, if any.
    pub fn running(&self) -> Option<Kind> {
        self.check
            .as_ref()
            .filter(|c| c.helper.is_some())
            .map(|c| c.kind)
    }
}

/// Whether another helper of `kind` may start while `running` of the same class run.
pub fn may_start(kind: Kind, running: usize) -> bool {
    running
        < match kind {
            Kind::Password => MAX_PASSWORD_CHECKS,
            Kind::Key | Kind::Blank => MAX_KEY_CHECKS,
        }
}

/// Password checks and the others are capped apart, so a key login never queues behind a
/// flood of password guesses.
pub fn same_class(a: Kind, b: Kind) -> bool {
    (a == Kind::Password) == (b == Kind::Password)
}

fn kind_of(q: &Question) -> Kind {
    match q {
        Question::Key { .. } => Kind::Key,
        Question::Password { .. } => Kind::Password,
        Question::Blank { .. } => Kind::Blank,
    }
}

/// The daemon's answer to an authentication request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Said {
    Yes,
    No,
    /// No, and the reason is logged already: the core's report of an attempt with an
    /// unknown key would say it again, wrongly.
    Refused,
}

impl Edge<'_> {
    /// Takes up the question the core holds, if it is not being checked yet: answered at once
    /// when it can be (a signed key request after its query, a password too long to be
    /// anyone's), else queued for a helper.
    pub(super) fn ask(&mut self, conn: &mut Conn, now: u64) {
        while self.login.check.is_none() {
            let Some(q) = conn.question() else { return };
            let kind = kind_of(&q);
            match q {
                Question::Key {
                    user,
                    blob,
                    signed,
                    sk,
                } if self
                    .login
                    .listed
                    .as_ref()
                    .is_some_and(|l| l.user == user && l.blob == blob) =>
                {
                    // The signed request after its query uses the answer up; a repeated
                    // query gets it again.
                    let l = if signed {
                        self.login.listed.take()
                    } else {
                        self.login.listed.clone()
                    }
                    .expect("checked above");
                    let said = self.sk_answer(&l.user, sk, &l.options);
                    self.answer(conn, Kind::Key, Some(l.account), l.options, said, now);
                    continue;
                }
                Question::Password { password, .. }
                    if password.len() > crate::accounts::pwhash::MAX_PASSWORD =>
                {
                    // Longer than any password quoll or libxcrypt accepts: no helper needed.
                    let user = safe(q_user(&q));
                    warn!("Bad password attempt for '{user}' from {}", Sock(self.peer));
                    self.answer(conn, kind, None, KeyOptions::default(), Said::No, now);
                    continue;
                }
                _ => {}
            }
            let (user, blob) = match q {
                Question::Key { user, blob, .. } => (user, blob.to_vec()),
                Question::Password { user, .. } | Question::Blank { user } => (user, Vec::new()),
            };
            self.login.check = Some(Check {
                kind,
                user: user.to_string(),
                blob,
                helper: None,
            });
        }
    }

    /// Starts the helper for the waiting check (the caller keeps the caps). On failure the
    /// attempt fails at once.
    pub(super) fn start_check(&mut self, conn: &mut Conn, now: u64) {
        let Some(check) = self.login.check.as_ref().filter(|c| c.helper.is_none()) else {
            return;
        };
        let kind = check.kind;
        let started = match conn.question() {
            Some(q) => {
                let (user, secret) = match q {
                    Question::Key { user, blob, .. } => (user, blob),
                    Question::Password { user, password } => (user, password),
                    Question::Blank { user } => (user, &[][..]),
                };
                let request = Request {
                    kind,
                    user,
                    secret,
                    peer: self.peer.ip(),
                    policy: self.policy(),
                }
                .encode();
                // A key blob is at most userkey::MAX_KEY_BLOB (checked by the core).
                let nice = if kind == Kind::Password {
                    PASSWORD_CHECK_NICE
                } else {
                    0
                };
                Job::start(
                    super::multicall::AUTH,
                    &[],
                    &request,
                    nice,
                    MAX_REPLY,
                    now + AUTH_CHECK_TIMEOUT_MS,
                )
            }
            None => Err(crate::ioerr::other("no question held")),
        };
        match started {
            Ok(job) => {
                if let Some(c) = self.login.check.as_mut() {
                    c.helper = Some(job);
                }
            }
            Err(e) => self.finish_check(conn, Err(format!("cannot start a check: {e}")), now),
        }
    }

    /// The running helper's reply pipe is readable: reads it, and finishes the check once
    /// the reply is complete.
    pub(super) fn check_progress(&mut self, conn: &mut Conn, now: u64) {
        let Some(job) = self.login.helper() else {
            return;
        };
        let result = match job.read() {
            Progress::Pending => return,
            Progress::Failed(why) => Err(why.to_string()),
            Progress::Done => job
                .reply()
                .and_then(Reply::decode)
                .ok_or_else(|| "no answer from the check".to_string()),
        };
        self.finish_check(conn, result, now);
    }

    /// A check that overstayed its deadline is killed and fails.
    pub(super) fn check_deadline(&mut self, conn: &mut Conn, now: u64) {
        if self
            .login
            .check
            .as_ref()
            .and_then(|c| c.helper.as_ref())
            .is_some_and(|j| now >= j.deadline)
        {
            self.finish_check(conn, Err("timed out".into()), now);
        }
    }

    fn policy(&self) -> Policy {
        let o = self.opts;
        Policy {
            daemon_uid: self.daemon_uid,
            no_root: o.no_root,
            no_password: o.no_password,
            no_root_password: o.no_root_password,
            blank_password: o.blank_password,
            group: o.group.clone(),
            auth_dir: o.auth_dir.clone(),
            trusted_ca: o.trusted_user_ca_keys.clone(),
            revoked: o.revoked_keys.clone(),
            root_keys: o.root_keys.clone(),
        }
    }

    /// Logs what the check found and answers the core.
    fn finish_check(&mut self, conn: &mut Conn, result: Result<Reply, String>, now: u64) {
        let Some(check) = self.login.check.take() else {
            return;
        };
        // The helper is done with, or killed by this drop.
        drop(check.helper);
        let peer = Sock(self.peer);
        let name = safe(&check.user);
        let reply = match result {
            Ok(r) => r,
            Err(why) => {
                warn!("Authentication check for '{name}' from {peer} failed: {why}");
                self.answer(conn, check.kind, None, KeyOptions::default(), Said::No, now);
                return;
            }
        };
        for w in &reply.warnings {
            warn!("{w}");
        }
        let mut options = KeyOptions::default();
        let said = match reply.verdict {
            Verdict::Yes if check.kind == Kind::Key => {
                let granted = keygrant::grant(
                    &check.blob,
                    &check.user,
                    &reply.key_line,
                    reply.ca_file,
                    self.peer.ip(),
                    keygrant::wall_secs(),
                );
                match granted {
                    Ok(o) => {
                        options = o;
                        match conn.question() {
                            Some(Question::Key {
                                signed: true, sk, ..
                            }) => self.sk_answer(&check.user, sk, &options),
                            _ => Said::Yes,
                        }
                    }
                    Err(why) => {
                        warn!(
                            "Pubkey auth refused for '{name}' with {} from {peer}: {why}",
                            auth::key_description(&check.blob)
                        );
                        Said::Refused
                    }
                }
            }
            Verdict::Yes => Said::Yes,
            Verdict::NoSuchUser => {
                warn!("Login attempt for nonexistent user from {peer}");
                Said::No
            }
            Verdict::AccountsUnreadable | Verdict::Failed => {
                warn!(
                    "Authentication check for '{name}' from {peer} failed: {}",
                    reply.detail
                );
                Said::No
            }
            Verdict::OtherUser => {
                info!("Login attempt for '{name}' from {peer}: quoll runs as another user");
                Said::No
            }
            Verdict::RootRefused => {
                warn!("root login rejected from {peer}");
                Said::No
            }
            Verdict::NotInGroup => {
                let group = self.opts.group.as_deref().unwrap_or("");
                warn!("User '{name}' is not a member of group '{group}', rejected from {peer}");
                Said::No
            }
            Verdict::BadShell => {
                warn!("User '{name}' has invalid shell, rejected from {peer}");
                Said::No
            }
            Verdict::PasswordsOff => {
                warn!("Password login for '{name}' from {peer} refused: password logins disabled");
                Said::No
            }
            Verdict::Locked => {
                warn!("User account '{name}' is locked");
                Said::No
            }
            Verdict::BlankRefused => {
                warn!("User '{name}' has blank password, rejected");
                Said::No
            }
            Verdict::WrongPassword => {
                warn!("Bad password attempt for '{name}' from {peer}");
                Said::No
            }
            Verdict::KeyFileError => {
                warn!("{}", reply.detail);
                Said::No
            }
            Verdict::Revoked => {
                warn!(
                    "Pubkey auth refused for '{name}' with {} from {peer}: revoked ({})",
                    auth::key_description(&check.blob),
                    reply.detail
                );
                Said::Refused
            }
            Verdict::NotBlank | Verdict::KeyNotListed => Said::No,
        };
        if check.kind == Kind::Key && said == Said::Yes {
            // A query's yes is kept for the signed request that follows.
            if let (Some(account), Some(Question::Key { signed: false, .. })) =
                (reply.user.clone(), conn.question())
            {
                self.login.listed = Some(Listed {
                    user: check.user.clone(),
                    blob: check.blob.clone(),
                    account,
                    options: options.clone(),
                });
            }
        }
        self.answer(conn, check.kind, reply.user, options, said, now);
    }

    /// Answers the core and acts on what the request led to: the account (and key options)
    /// become the connection's only on success; a `-t` key step is kept for its password.
    fn answer(
        &mut self,
        conn: &mut Conn,
        kind: Kind,
        account: Option<User>,
        options: KeyOptions,
        said: Said,
        now: u64,
    ) {
        let yes = said == Said::Yes;
        let report = conn.resume_auth(yes, self, now);
        // A refusal logged with its reason is not logged again as an unknown key.
        if let Some(r) = report
            .as_ref()
            .filter(|r| !(said == Said::Refused && r.attempt == Attempt::UnknownKey))
        {
            self.log_report(r);
        }
        let Some(account) = account.filter(|_| yes) else {
            return;
        };
        match report.map(|r| r.outcome) {
            Some(Outcome::Partial) => self.login.key_step = Some((account, options)),
            Some(Outcome::Success) => {
                let peer = Sock(self.peer);
                let options = match kind {
                    Kind::Key => options,
                    // -t: the core let the password in only for the user whose key passed;
                    // that key's options stay in force.
                    _ if self.opts.key_and_password => match self.login.key_step.take() {
                        Some((k, o)) if k.uid == account.uid => o,
                        _ => {
                            // Cannot happen (the core checks the name); never log in
                            // without the key's restrictions.
                            warn!(
                                "Login for '{}' from {peer}: key and password accounts differ",
                                account.name
                            );
                            conn.disconnect(crate::proto::conn::Disconnect {
                                reason: crate::proto::msg::reason::BY_APPLICATION,
                                text: "internal error",
                            });
                            return;
                        }
                    },
                    _ => KeyOptions::default(),
                };
                match kind {
                    Kind::Password => {
                        info!("Password auth succeeded for '{}' from {peer}", account.name)
                    }
                    Kind::Blank => info!(
                        "Auth succeeded with blank password for '{}' from {peer}",
                        account.name
                    ),
                    // `log_report` named the key and its fingerprint.
                    Kind::Key => {}
                }
                *self.key_options = options;
                *self.user = Some(account);
                self.login.listed = None;
            }
            _ => {}
        }
    }
}

impl Edge<'_> {
    /// Whether a FIDO key's signature flags (`sk`) satisfy its options; a refusal is logged.
    fn sk_answer(&self, user: &str, sk: Option<SkSigned>, options: &KeyOptions) -> Said {
        match keygrant::sk_ok(sk, options) {
            Ok(()) => Said::Yes,
            Err(why) => {
                warn!(
                    "Pubkey auth refused for '{}' from {}: {why}",
                    safe(user),
                    Sock(self.peer)
                );
                Said::Refused
            }
        }
    }

    /// Logs what the core reports of an attempt (the outcome of a password or blank login
    /// is logged with the account, by `answer`).
    pub(super) fn log_report(&self, r: &Report) {
        let (user, peer) = (&r.user, Sock(self.peer));
        match r.attempt {
            Attempt::Key => info!(
                "Pubkey auth succeeded for '{user}' with {} from {peer}",
                r.key
            ),
            Attempt::UnknownKey => {
                info!(
                    "Pubkey auth attempt with unknown key for '{user}' from {peer}: {}",
                    r.key
                )
            }
            Attempt::RefusedKey => warn!(
                "Pubkey auth refused for '{user}' with {} from {peer}: {}",
                r.key, r.detail
            ),
            Attempt::BadSignature => warn!(
                "Pubkey auth bad signature for '{user}' with {} from {peer}",
                r.key
            ),
            Attempt::NeedKey => info!("Password before key for '{user}' from {peer}: refused (-t)"),
            Attempt::PasswordChange => {
                info!("Password change request for '{user}' from {peer}: refused")
            }
            Attempt::Unsupported
            | Attempt::None
            | Attempt::Query
            | Attempt::Password
            | Attempt::BadPassword => {}
        }
        if r.outcome == Outcome::TooMany {
            warn!(
                "Exit before auth (user '{user}', {} fails): Max auth tries reached - user '{user}' from {peer}",
                r.failures
            );
        }
    }
}

fn q_user<'a>(q: &Question<'a>) -> &'a str {
    match *q {
        Question::Key { user, .. } | Question::Password { user, .. } | Question::Blank { user } => {
            user
        }
    }
}

/// A user name as the client sent it, made safe for a log line.
fn safe(name: &str) -> String {
    name.chars()
        .take(60)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}
