//! User authentication (RFC 4252): the `ssh-userauth` service, `none` and `publickey`
//! (ssh-ed25519), the query step, the attempt limit. Whether a key may log in is asked of the
//! edge; the signature check is done here.

use super::crypto::{parse_public_blob, verify_sig_blob};
use super::msg;
use super::wire::{Reader, WireError, Writer};
use crate::config::MAX_USERNAME;

/// The edge's side of authentication.
pub trait AuthHost {
    /// May `user` log in with this `ssh-ed25519` key blob? (authorized_keys lookup.)
    fn pubkey_allowed(&mut self, user: &str, blob: &[u8]) -> bool;
}

/// What to answer a USERAUTH_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// USERAUTH_FAILURE listing the methods that can continue.
    Failure,
    /// USERAUTH_PK_OK for the key blob (query without signature).
    PkOk,
    Success,
    /// Too many failures: disconnect.
    TooMany,
}

pub const METHODS: &str = "publickey";

pub struct Auth {
    pub user: heapless::String<MAX_USERNAME>,
    pub done: bool,
    failures: u32,
    max_tries: u32,
    /// The key blob of the last PK_OK, echoed in the reply.
    pub pk_blob: heapless::Vec<u8, 64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Malformed,
    /// A second service or user after success, or a service other than ssh-connection.
    BadService,
}

impl From<WireError> for AuthError {
    fn from(_: WireError) -> Self {
        AuthError::Malformed
    }
}

impl Auth {
    pub fn new(max_tries: u32) -> Self {
        Auth {
            user: heapless::String::new(),
            done: false,
            failures: 0,
            max_tries,
            pk_blob: heapless::Vec::new(),
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
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
        if self.failures >= self.max_tries {
            return Ok((Outcome::TooMany, Attempt::None));
        }
        let user_ok = user.len() <= MAX_USERNAME;
        let outcome = match method {
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
                            self.done = true;
                            self.user.clear();
                            // Fits: user_ok checked the length.
                            let _ = self.user.push_str(user);
                            return Ok((Outcome::Success, Attempt::Key));
                        }
                        Attempt::BadSignature
                    }
                    _ => Attempt::UnknownKey,
                }
            }
            "none" => {
                // Asking for the method list is not an attempt.
                return Ok((Outcome::Failure, Attempt::None));
            }
            _ => Attempt::Unsupported,
        };
        self.failures += 1;
        Ok((Outcome::Failure, outcome))
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
