//! The login policy's rules (`login.rs`): how many checks of each kind may run at once, and
//! which kinds share a cap. The checks themselves run in helper processes and are exercised
//! end to end by tests/containment.rs and tests/password.rs.

use super::authcheck::Kind;
use super::login::{may_start, same_class};
use crate::config::{MAX_KEY_CHECKS, MAX_PASSWORD_CHECKS};

const _: () = assert!(MAX_PASSWORD_CHECKS < MAX_KEY_CHECKS);

#[test]
fn password_checks_have_the_smaller_cap() {
    for running in 0..MAX_PASSWORD_CHECKS {
        assert!(may_start(Kind::Password, running));
    }
    assert!(!may_start(Kind::Password, MAX_PASSWORD_CHECKS));
    assert!(!may_start(Kind::Password, MAX_KEY_CHECKS));
}

#[test]
fn key_and_blank_checks_share_the_larger_cap() {
    for kind in [Kind::Key, Kind::Blank] {
        assert!(may_start(kind, MAX_PASSWORD_CHECKS));
        assert!(may_start(kind, MAX_KEY_CHECKS - 1));
        assert!(!may_start(kind, MAX_KEY_CHECKS));
    }
}

/// A flood of password guesses never holds up a key login: they are counted apart.
#[test]
fn passwords_are_a_class_of_their_own() {
    assert!(same_class(Kind::Password, Kind::Password));
    assert!(same_class(Kind::Key, Kind::Blank));
    assert!(same_class(Kind::Blank, Kind::Key));
    assert!(!same_class(Kind::Password, Kind::Key));
    assert!(!same_class(Kind::Blank, Kind::Password));
}
