//! User authentication (RFC 4252): the `ssh-userauth` service, `none`, `publickey`
//! (ssh-ed25519), `password` (RFC 4252 §8) and `keyboard-interactive` with one password prompt
//! (RFC 4256), the query step, the attempt limit, and key-then-password (`-t`). Whether a key
//! or a password lets a user in is asked of the edge; the signature check is done here.
//!
//! A failed password is answered late (`Outcome::DelayedFailure`): the connection holds the
//! FAILURE, and every later packet, until the time it is given (see `Conn::tick`).

use super::crypto::{parse_public_blob, verify_sig_blob};
use super::msg;
use super::wire::{Reader, WireError, Writer};
use crate::config::MAX_USERNAME;

/// The edge's side of authentication.
pub trait AuthHost {
    /// May `user` log in with this `ssh-ed25519` key blob? (authorized_keys lookup.)
    fn pubkey_allowed(&mut self, user: &str, blob: &[u8]) -> bool;
    /// Is `password` the password of `user` (and may the user log in with a password)? The
    /// buffer is cleared by the core after the call; the edge must not keep a copy.
    fn password_ok(&mut self, _user: &str, _password: &[u8]) -> bool {
        false
    }
    /// `-B`: may `user` in without any password, on the `none` method (an account with a
    /// blank password, as Dropbear lets in)? The edge logs a success.
    fn blank_password_ok(&mut self, _user: &str) -> bool {
        false
    }
    /// The `-b` banner, sent before authentication (empty: none).
    fn banner(&self) -> &[u8] {
        &[]
    }
}

/// Which methods the server offers (from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `password` and `keyboard-interactive` offered (off with `-s`).
    pub password: bool,
    /// `-t`: a key, then a password, both required.
    pub key_and_password: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            password: true,
            key_and_password: false,
        }
    }
}

/// What to answer a USERAUTH_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// USERAUTH_FAILURE listing the methods that can continue.
    Failure,
    /// USERAUTH_FAILURE, but only once `reply_due` has passed (a wrong password).
    DelayedFailure,
    /// USERAUTH_FAILURE with partial success: the key was accepted, a password must follow.
    Partial,
    /// USERAUTH_PK_OK for the key blob (query without signature).
    PkOk,
    /// USERAUTH_INFO_REQUEST with one "Password: " prompt, echo off.
    InfoRequest,
    Success,
    /// Too many failures: disconnect.
    TooMany,
}

pub const INFO_REQUEST: u8 = 60;
pub const INFO_RESPONSE: u8 = 61;
pub const PROMPT: &str = "Password: ";

#[cfg_attr(feature = "fuzzing", derive(Clone))]
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
    /// The key blob of the last PK_OK, echoed in the reply.
    pub pk_blob: heapless::Vec<u8, 64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Malformed,
    /// A second service or user after success, or a service other than ssh-connection.
    BadService,
    /// An INFO_RESPONSE nobody asked for.
    Unexpected,
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
            pk_blob: heapless::Vec::new(),
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

    /// Handles USERAUTH_REQUEST; `session_id` binds the signature to this connection.
    pub fn request(
        &mut self,
        payload: &[u8],
        session_id: &[u8; 32],
        host: &mut dyn AuthHost,
    ) -> Result<(Outcome, Attempt), AuthError> {
        let mut r = Reader::new(payload);
        r.u8()?;
        let user = r.text()?;
        let service = r.text()?;
        let method = r.text()?;
        if service != "ssh-connection" {
            return Err(AuthError::BadService);
        }
        // A new request abandons a keyboard-interactive exchange (RFC 4256 §3.1).
        self.kbd_user = None;
        if self.failures >= self.max_tries {
            return Ok((Outcome::TooMany, Attempt::None));
        }
        let user_ok = user.len() <= MAX_USERNAME;
        let outcome = match method {
            "publickey" if self.key_ok.is_some() => Attempt::Unsupported,
            "publickey" => {
                let has_sig = r.bool()?;
                let alg = r.string()?;
                let blob = r.string()?;
                let key = parse_public_blob(blob)
                    .ok()
                    .filter(|_| alg == b"ssh-ed25519");
                let allowed = user_ok && key.is_some() && host.pubkey_allowed(user, blob);
                match (key, allowed, has_sig) {
                    (Some(_), true, false) => {
                        self.pk_blob.clear();
                        // Fits: parse_public_blob accepted exactly 51 bytes.
                        let _ = self.pk_blob.extend_from_slice(blob);
                        return Ok((Outcome::PkOk, Attempt::Query));
                    }
                    (Some(k), true, true) => {
                        let sig = r.string()?;
                        let mut signed = [0u8; 512];
                        let mut w = Writer::new(&mut signed);
                        let n = signed_data(&mut w, session_id, user, service, blob)
                            .map(|_| w.len())
                            .map_err(|_| AuthError::Malformed)?;
                        if verify_sig_blob(&k, &signed[..n], sig) {
                            if self.policy.key_and_password {
                                self.key_ok = Some(name(user));
                                return Ok((Outcome::Partial, Attempt::Key));
                            }
                            self.done = true;
                            self.user = name(user);
                            return Ok((Outcome::Success, Attempt::Key));
                        }
                        Attempt::BadSignature
                    }
                    _ => Attempt::UnknownKey,
                }
            }
            "password" if self.policy.password => {
                if r.bool()? {
                    // A password change (RFC 4252 §8): refused.
                    Attempt::PasswordChange
                } else {
                    let password = r.string()?;
                    let ok = user_ok && host.password_ok(user, password);
                    return Ok(self.password_result(user, ok));
                }
            }
            "keyboard-interactive" if self.policy.password && user_ok => {
                let _lang = r.string()?;
                let _submethods = r.string()?;
                self.kbd_user = Some(name(user));
                return Ok((Outcome::InfoRequest, Attempt::None));
            }
            "none" => {
                let plain = self.policy.password && !self.policy.key_and_password;
                if plain && user_ok && host.blank_password_ok(user) {
                    self.done = true;
                    self.user = name(user);
                    return Ok((Outcome::Success, Attempt::Password));
                }
                // Asking for the method list is not an attempt.
                return Ok((Outcome::Failure, Attempt::None));
            }
            _ => Attempt::Unsupported,
        };
        self.failures += 1;
        Ok((Outcome::Failure, outcome))
    }

    /// Handles USERAUTH_INFO_RESPONSE (keyboard-interactive): one answer, the password.
    pub fn info_response(
        &mut self,
        payload: &[u8],
        host: &mut dyn AuthHost,
    ) -> Result<(Outcome, Attempt), AuthError> {
        let user = self.kbd_user.take().ok_or(AuthError::Unexpected)?;
        if self.failures >= self.max_tries {
            return Ok((Outcome::TooMany, Attempt::None));
        }
        let mut r = Reader::new(payload);
        r.u8()?;
        let n = r.u32()?;
        if n != 1 {
            // No answer (the user gave up) or more answers than prompts.
            self.failures += 1;
            return Ok((Outcome::Failure, Attempt::None));
        }
        let password = r.string()?;
        let ok = host.password_ok(&user, password);
        Ok(self.password_result(&user, ok))
    }

    /// The user of the keyboard-interactive exchange under way, for the log.
    pub fn pending_user(&self) -> &str {
        self.kbd_user.as_deref().unwrap_or("")
    }
}

/// What kind of attempt a request was, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    None,
    Query,
    Key,
    UnknownKey,
    BadSignature,
    Unsupported,
    /// Password (or keyboard-interactive) accepted; the edge logged it.
    Password,
    /// A wrong password; the edge logged it.
    BadPassword,
    /// `-t`: a password before the key.
    NeedKey,
    PasswordChange,
}

/// RFC 4252 §7: the data a publickey signature covers.
fn signed_data(
    w: &mut Writer,
    sid: &[u8; 32],
    user: &str,
    service: &str,
    blob: &[u8],
) -> Result<(), WireError> {
    w.string(sid)?;
    w.u8(msg::USERAUTH_REQUEST)?;
    w.string(user.as_bytes())?;
    w.string(service.as_bytes())?;
    w.string(b"publickey")?;
    w.bool(true)?;
    w.string(b"ssh-ed25519")?;
    w.string(blob)
}
