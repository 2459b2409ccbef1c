//! The SSH protocol core: bytes in, bytes and events out. No syscalls, no clock, no files:
//! time and randomness are passed in, decisions go to the edge as events (`conn::Event`).
#![forbid(unsafe_code)]

pub mod auth;
pub mod budget;
pub mod channel;
pub mod cipher;
pub mod conn;
#[cfg(test)]
mod conn_tests;
pub mod crypto;
pub mod kex;
pub mod limits;
pub mod msg;
pub mod packet;
#[cfg(any(test, feature = "fuzzing"))]
pub mod test_client;
#[cfg(any(test, feature = "fuzzing"))]
pub mod test_host;
pub mod userkey;
pub mod wire;
