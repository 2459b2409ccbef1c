//! User authentication (RFC 4252): the `ssh-userauth` service, `none`, `publickey`
//! (every key kind and certificate `userkey` verifies), `password` (RFC 4252 §8) and `keyboard-interactive` with one password prompt
//! (RFC 4256), the query step, the attempt limit, and key-then-password (`-t`).
//!
//! Whether a key or a password lets a user in is a question for the edge (`Question`), which
//! may take its time (a password hash, a file read as the user): the request that asked waits,
//! and nothing else from that connection is handled, until `Auth::answer` gets the answer. The
//! signature check is done here, before asking. Every finished attempt worth a log line is
//! reported to the edge (`Report`), which logs it.
//!
//! A failed password is answered late (`Outcome::DelayedFailure`): the connection holds the
//! FAILURE, and every later packet, until the time it is given (see `Conn::tick`).

use super::limits::MAX_USERNAME;
use super::userkey::{self, SkSigned};
use super::wire::{Reader, WireError};

/// A decision the core waits for (`Event::Auth`); the edge answers it with
/// `Conn::resume_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question<'a> {
    /// May `user` log in with this key or certificate blob (authorized_keys, the trusted
    /// CAs)? `signed`: the signature was checked and a yes logs the user in; otherwise it is
    /// the query step. `sk`: a FIDO key's signature flags, for the edge to hold against the
    /// key's options (`SkSigned::satisfies`) once it knows them.
    Key {
        user: &'a str,
        blob: &'a [u8],
        signed: bool,
        sk: Option<SkSigned>,
    },
    /// Is `password` the password of `user`, and may the user log in with a password? The
    /// bytes are wiped from the input buffer once answered; the edge must not keep them.
    Password { user: &'a str, password: &'a [u8] },
    /// `-B`: may `user` in without any password, on the `none` method (an account with a
    /// blank password, as Dropbear lets in)?
    Blank { user: &'a str },
}

/// Which methods the server offers (from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `password` and `keyboard-interactive` offered (off with `-s`).
    pub password: bool,
    /// `-t`: a key, then a password, both required.
    pub key_and_password: bool,
    /// `-B`: the `none` method asks whether the account has a blank password.
    pub blank: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            password: true,
            key_and_password: false,
            blank: false,
        }
    }
}

/// What to answer a USERAUTH_REQUEST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// USERAUTH_FAILURE listing the methods that can continue.
    Failure,
    /// USERAUTH_FAILURE, but only once `reply_due` has passed (a wrong password).
    DelayedFailure,
    /// USERAUTH_FAILURE with partial success: the key was accepted, a password must follow.
    Partial,
    /// USERAUTH_PK_OK for the request's algorithm and key blob (query without signature).
    PkOk,
    /// USERAUTH_INFO_REQUEST with one "Password: " prompt, echo off.
    InfoRequest,
    Success,
    /// Too many failures: disconnect.
    TooMany,
}

/// What handling a request led to: an answer now, or a question for the edge first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done(Outcome, Attempt),
    Ask,
}

pub const INFO_REQUEST: u8 = 60;
pub const INFO_RESPONSE: u8 = 61;
pub const PROMPT: &str = "Password: ";

/// The question a held request asked (its details are re-read from the request itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    Key {
        signed: bool,
        sk: Option<SkSigned>,
    },
    Password,
    /// keyboard-interactive: the answer's user is `kbd_user`, not in the packet.
    KbdPassword,
    Blank,
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Auth {
    pub user: heapless::String<MAX_USERNAME>,
    pub done: bool,
    failures: u32,
    max_tries: u32,
    policy: Policy,
    /// `-t`: the key step passed for this user.
    key_ok: Option<heapless::String<MAX_USERNAME>>,
    /// keyboard-interactive: the user whose INFO_RESPONSE is awaited.
    kbd_user: Option<heapless::String<MAX_USERNAME>>,
    /// A FAILURE held back until this time (ms): no packet is handled before it is sent.
    pub reply_due: Option<u64>,
    /// The held request's question, until the edge answers.
    asking: Option<Asking>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Malformed,
    /// A second service or user after success, or a service other than ssh-connection.
    BadService,
    /// An INFO_RESPONSE nobody asked for.
    Unexpected,
    /// No memory for the data a signature covers: the connection is refused, nothing else.
    NoMemory,
}

impl From<WireError> for AuthError {
    fn from(_: WireError) -> Self {
        AuthError::Malformed
    }
}

fn name(s: &str) -> heapless::String<MAX_USERNAME> {
    let mut n = heapless::String::new();
    // Callers check the length first.
    let _ = n.push_str(s);
    n
}

/// The fields of a USERAUTH_REQUEST every method has, and the reader at the method's own.
struct Request<'a> {
    user: &'a str,
    method: &'a str,
    rest: Reader<'a>,
}

fn parse_request(payload: &[u8]) -> Result<Request<'_>, AuthError> {
    let mut r = Reader::new(payload);
    r.u8()?;
    let user = r.text()?;
    let service = r.text()?;
    let method = r.text()?;
    if service != "ssh-connection" {
        return Err(AuthError::BadService);
    }
    Ok(Request {
        user,
        method,
        rest: r,
    })
}

/// A publickey request's fields after the user, service and method.
struct KeyFields<'a> {
    has_sig: bool,
    alg: &'a [u8],
    blob: &'a [u8],
}

fn key_fields<'a>(r: &mut Reader<'a>) -> Result<KeyFields<'a>, AuthError> {
    Ok(KeyFields {
        has_sig: r.bool()?,
        alg: r.string()?,
        blob: r.string()?,
    })
}

/// The password of a `password` request (after the change flag) or of an INFO_RESPONSE.
fn password_of(payload: &[u8]) -> Result<&[u8], AuthError> {
    if payload.first() == Some(&INFO_RESPONSE) {
        let mut r = Reader::new(payload);
        r.u8()?;
        r.u32()?;
        return Ok(r.string()?);
    }
    let mut req = parse_request(payload)?;
    req.rest.bool()?;
    Ok(req.rest.string()?)
}

impl Auth {
    pub fn new(max_tries: u32, policy: Policy) -> Self {
        Auth {
            user: heapless::String::new(),
            done: false,
            failures: 0,
            max_tries,
            policy,
            key_ok: None,
            kbd_user: None,
            reply_due: None,
            asking: None,
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The methods that can continue, for USERAUTH_FAILURE.
    pub fn methods(&self) -> &'static str {
        match (self.policy.password, self.key_ok.is_some()) {
            (true, true) => "password,keyboard-interactive",
            (true, false) if self.policy.key_and_password => "publickey",
            (true, false) => "publickey,password,keyboard-interactive",
            (false, _) => "publickey",
        }
    }

    /// A password (or keyboard-interactive answer) for `user` was checked by the edge.
    fn password_result(&mut self, user: &str, ok: bool) -> (Outcome, Attempt) {
        let key_first = self.policy.key_and_password;
        if ok && (!key_first || self.key_ok.as_deref() == Some(user)) {
            self.done = true;
            self.user = name(user);
            return (Outcome::Success, Attempt::Password);
        }
        self.failures += 1;
        if ok {
            // -t: a right password without the key first is still a failure (not delayed).
            return (Outcome::Failure, Attempt::NeedKey);
        }
        (Outcome::DelayedFailure, Attempt::BadPassword)
    }

    fn ask(&mut self, q: Asking) -> Result<Step, AuthError> {
        self.asking = Some(q);
        Ok(Step::Ask)
    }

    /// Handles USERAUTH_REQUEST; `session_id` binds the signature to this connection.
    pub fn request(&mut self, payload: &[u8], session_id: &[u8; 32]) -> Result<Step, AuthError> {
        let Request {
            user,
            method,
            rest: mut r,
        } = parse_request(payload)?;
        // A new request abandons a keyboard-interactive exchange (RFC 4256 §3.1).
        self.kbd_user = None;
        if self.failures >= self.max_tries {
            return Ok(Step::Done(Outcome::TooMany, Attempt::None));
        }
        let user_ok = user.len() <= MAX_USERNAME;
        let attempt = match method {
            "publickey" if self.key_ok.is_some() => Attempt::Unsupported,
            "publickey" => {
                let f = key_fields(&mut r)?;
                // Everything up to the signature, as the client signed it (RFC 4252 §7).
                let signed_len = payload.len() - r.remaining();
                match key_and_alg(&f) {
                    Some(_) if !user_ok => Attempt::UnknownKey,
                    Some(_) if !f.has_sig => {
                        return self.ask(Asking::Key {
                            signed: false,
                            sk: None,
                        })
                    }
                    Some((key, alg)) => {
                        let sig = r.string()?;
                        let data = signed_data(session_id, &payload[..signed_len])
                            .ok_or(AuthError::NoMemory)?;
                        match userkey::verify(key.key(), alg, &data, sig) {
                            Ok(s) => {
                                return self.ask(Asking::Key {
                                    signed: true,
                                    sk: s.sk,
                                })
                            }
                            Err(_) => Attempt::BadSignature,
                        }
                    }
                    None => Attempt::RefusedKey,
                }
            }
            "password" if self.policy.password => {
                if r.bool()? {
                    // A password change (RFC 4252 §8): refused.
                    Attempt::PasswordChange
                } else {
                    r.string()?;
                    if !user_ok {
                        return Ok(Step::Done(
                            self.password_result(user, false).0,
                            Attempt::BadPassword,
                        ));
                    }
                    return self.ask(Asking::Password);
                }
            }
            "keyboard-interactive" if self.policy.password && user_ok => {
                let _lang = r.string()?;
                let _submethods = r.string()?;
                self.kbd_user = Some(name(user));
                return Ok(Step::Done(Outcome::InfoRequest, Attempt::None));
            }
            "none" => {
                let plain = self.policy.password && !self.policy.key_and_password;
                if plain && self.policy.blank && user_ok {
                    return self.ask(Asking::Blank);
                }
                // Asking for the method list is not an attempt.
                return Ok(Step::Done(Outcome::Failure, Attempt::None));
            }
            _ => Attempt::Unsupported,
        };
        self.failures += 1;
        Ok(Step::Done(Outcome::Failure, attempt))
    }

    /// Handles USERAUTH_INFO_RESPONSE (keyboard-interactive): one answer, the password.
    pub fn info_response(&mut self, payload: &[u8]) -> Result<Step, AuthError> {
        if self.kbd_user.is_none() {
            return Err(AuthError::Unexpected);
        }
        // Asked at most once: the user stays in `kbd_user` only while its answer is checked.
        let done = |a: &mut Auth, step| {
            a.kbd_user = None;
            Ok(step)
        };
        if self.failures >= self.max_tries {
            // The connection ends; the user stays named for the report.
            return Ok(Step::Done(Outcome::TooMany, Attempt::None));
        }
        let mut r = Reader::new(payload);
        r.u8()?;
        let n = r.u32()?;
        if n != 1 {
            // No answer (the user gave up) or more answers than prompts.
            self.failures += 1;
            return done(self, Step::Done(Outcome::Failure, Attempt::None));
        }
        r.string()?;
        self.ask(Asking::KbdPassword)
    }

    /// The question of the held request `payload` (the one whose handling returned `Ask`).
    pub fn question<'a>(&'a self, payload: &'a [u8]) -> Option<Question<'a>> {
        match self.asking.as_ref()? {
            Asking::Key { signed, sk } => {
                let mut req = parse_request(payload).ok()?;
                let f = key_fields(&mut req.rest).ok()?;
                Some(Question::Key {
                    user: req.user,
                    blob: f.blob,
                    signed: *signed,
                    sk: *sk,
                })
            }
            Asking::Password => Some(Question::Password {
                user: parse_request(payload).ok()?.user,
                password: password_of(payload).ok()?,
            }),
            Asking::KbdPassword => Some(Question::Password {
                user: self.kbd_user.as_deref()?,
                password: password_of(payload).ok()?,
            }),
            Asking::Blank => Some(Question::Blank {
                user: parse_request(payload).ok()?.user,
            }),
        }
    }

    /// Whether a held request waits for an answer.
    pub fn waiting(&self) -> bool {
        self.asking.is_some()
    }

    /// The edge's answer (`yes`) to the held request `payload`'s question.
    pub fn answer(&mut self, payload: &[u8], yes: bool) -> Result<(Outcome, Attempt), AuthError> {
        let asking = self.asking.take().ok_or(AuthError::Unexpected)?;
        let user = match &asking {
            Asking::KbdPassword => self.kbd_user.take().ok_or(AuthError::Unexpected)?,
            _ => name(parse_request(payload)?.user),
        };
        Ok(match asking {
            Asking::Key { .. } if !yes => {
                self.failures += 1;
                (Outcome::Failure, Attempt::UnknownKey)
            }
            // The reply echoes the request's algorithm and blob (`pk_ok`).
            Asking::Key { signed: false, .. } => (Outcome::PkOk, Attempt::Query),
            Asking::Key { signed: true, .. } if self.policy.key_and_password => {
                self.key_ok = Some(user);
                (Outcome::Partial, Attempt::Key)
            }
            Asking::Key { signed: true, .. } => {
                self.done = true;
                self.user = user;
                (Outcome::Success, Attempt::Key)
            }
            Asking::Password | Asking::KbdPassword => self.password_result(&user, yes),
            Asking::Blank if yes => {
                self.done = true;
                self.user = user;
                (Outcome::Success, Attempt::Password)
            }
            // Not an attempt: the client asked for the method list.
            Asking::Blank => (Outcome::Failure, Attempt::None),
        })
    }

    /// The user of the keyboard-interactive exchange under way, for the log.
    pub fn pending_user(&self) -> &str {
        self.kbd_user.as_deref().unwrap_or("")
    }

    /// `-t`: the user whose key step passed.
    pub fn key_user(&self) -> Option<&str> {
        self.key_ok.as_deref()
    }
}

/// A finished authentication attempt as the edge logs it (the core logs nothing itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The user name the client sent, made safe for a log line (at most 60 characters).
    pub user: heapless::String<64>,
    pub attempt: Attempt,
    pub outcome: Outcome,
    /// A publickey attempt's key as the log names it: its type and SHA256 fingerprint, for
    /// a certificate also its key id, serial and CA (`key_description`); else empty.
    pub key: String,
    /// Why a key was refused before any question (`Attempt::RefusedKey`), else empty.
    pub detail: String,
    /// Failed attempts on this connection so far.
    pub failures: u32,
}

/// What kind of attempt a request was, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    None,
    Query,
    Key,
    UnknownKey,
    /// A key, certificate or algorithm quoll does not accept (an RSA key under 2048 bits,
    /// SHA-1 `ssh-rsa`, a kind this build leaves out, a malformed blob).
    RefusedKey,
    BadSignature,
    Unsupported,
    /// Password (or keyboard-interactive) accepted; the edge logs it.
    Password,
    /// A wrong password; the edge logs it.
    BadPassword,
    /// `-t`: a password before the key.
    NeedKey,
    PasswordChange,
}

/// The request's key, parsed, and the signature algorithm its algorithm name asks for;
/// None when quoll refuses the pair (`refusal` says why).
fn key_and_alg<'a>(f: &KeyFields<'a>) -> Option<(userkey::UserKey<'a>, userkey::SigAlg)> {
    let key = userkey::parse(f.blob).ok()?;
    let alg = userkey::signature_alg(f.alg, &key)?;
    Some((key, alg))
}

/// Why `key_and_alg` refuses a publickey request's algorithm and blob, for the log.
pub(super) fn refusal(alg: &[u8], blob: &[u8]) -> String {
    match userkey::parse(blob) {
        Err(e) => e.to_string(),
        Ok(key) if userkey::signature_alg(alg, &key).is_none() => format!(
            "algorithm {} not accepted for {} key",
            printable(alg),
            key.type_name()
        ),
        Ok(_) => String::new(),
    }
}

/// Peer bytes made safe for a log line (at most 60 characters, `?` for the unprintable).
pub(super) fn printable(b: &[u8]) -> heapless::String<64> {
    let mut s = heapless::String::new();
    for &c in b.iter().take(60) {
        // Fits: 60 one-byte characters.
        let _ = s.push(if (0x20..0x7f).contains(&c) {
            c as char
        } else {
            '?'
        });
    }
    s
}

/// A key blob as the log names it: `TYPE key SHA256:...`, and for a certificate
/// `ID "key id" (serial N) CA TYPE SHA256:...` after it (OpenSSH's wording). The
/// fingerprint of a certificate is its key's, as OpenSSH takes it.
pub fn key_description(blob: &[u8]) -> String {
    use super::crypto::fingerprint;
    match userkey::parse(blob) {
        Ok(userkey::UserKey::Plain(k)) => format!("{} key {}", k.kind().name(), fingerprint(blob)),
        #[cfg(feature = "certs")]
        Ok(userkey::UserKey::Cert(c)) => {
            let ca = userkey::parse_plain(c.signature_key)
                .map(|k| k.kind().name())
                .unwrap_or("?");
            format!(
                "{} key {} ID \"{}\" (serial {}) CA {} {}",
                c.key.kind().cert_name(),
                fingerprint(&c.key.plain_blob()),
                printable(c.key_id),
                c.serial,
                ca,
                fingerprint(c.signature_key)
            )
        }
        Err(_) => format!("key {}", fingerprint(blob)),
    }
}

/// The algorithm name and key blob of a publickey request, echoed by USERAUTH_PK_OK.
pub(super) fn pk_ok_fields(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut req = parse_request(payload).ok()?;
    let f = key_fields(&mut req.rest).ok()?;
    Some((f.alg, f.blob))
}

/// RFC 4252 §7: the data a publickey signature covers: the session id, then the request up
/// to its signature (`prefix`, which begins with USERAUTH_REQUEST and ends with the key
/// blob). Bounded by the packet size; held only while the signature is checked.
/// Allocated fallibly: `None` when the memory is not there.
fn signed_data(sid: &[u8; 32], prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = super::budget::try_vec(4 + sid.len() + prefix.len())?;
    super::wire::vec_string(&mut v, sid);
    v.extend_from_slice(prefix);
    Some(v)
}
