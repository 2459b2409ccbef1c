//! What the fuzz targets share: a reader that turns the fuzzer's bytes into choices, and the
//! properties every connection must keep whatever it was sent.

use quoll::config::OUTPUT_BUFFER;
use quoll::proto::conn::{Conn, Disconnect};

/// The fuzzer's bytes read as a script of choices; past the end every read gives zeros.
pub struct Ops<'a>(pub &'a [u8]);

impl<'a> Ops<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

/// What must hold of a `Conn` after every call, whatever the peer sent:
/// - its output never exceeds the output buffer;
/// - once closing, it stays closing with the first reason, wants no more input and queues
///   nothing more (the DISCONNECT goes in with the close);
/// - it never runs out of output room for a reply (the core keeps `RESERVE` free for that)
///   nor loses channel output.
#[derive(Default)]
pub struct Watch {
    closed: Option<Disconnect>,
    pending: usize,
}

impl Watch {
    pub fn check(&mut self, conn: &Conn) {
        let pending = conn.output().len();
        assert!(
            pending <= OUTPUT_BUFFER,
            "output {pending} B over its buffer"
        );
        match (self.closed, conn.closing()) {
            (Some(first), now) => {
                assert_eq!(now, Some(first), "a closed connection stays closed");
                assert!(
                    pending <= self.pending,
                    "output queued after close: {} -> {pending} B",
                    self.pending
                );
            }
            (None, Some(d)) => {
                assert!(
                    !matches!(d.text, "output buffer full" | "internal error: output lost"),
                    "connection ended for want of output room: {d:?}"
                );
                self.closed = Some(d);
            }
            (None, None) => {}
        }
        if self.closed.is_some() {
            assert!(!conn.wants_input(), "a closed connection asks for input");
        }
        self.pending = pending;
    }

    pub fn closed(&self) -> bool {
        self.closed.is_some()
    }
}
