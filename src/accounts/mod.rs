//! Accounts: who a user is (`users`: passwd and group lookups), whether a password is
//! theirs (`passwd`: the shadow entry and its check), and the password hashes quoll computes
//! itself (`pwhash`, pure code). The C library calls behind them are in `crate::sys`
//! (`sys::pwd`, `sys::crypt`).

pub mod passwd;
pub mod pwhash;
pub mod users;
