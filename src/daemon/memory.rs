//! The daemon's memory budget: its size (`--max-memory`, or derived from the machine) and the
//! words its refusals are logged with. The accounting itself is `proto::budget::Budget`.

use crate::config::{
    DEFAULT_MAX_MEMORY_AS_SHARE, DEFAULT_MAX_MEMORY_CAP, DEFAULT_MAX_MEMORY_RAM_SHARE,
};
use crate::options::Options;
use crate::proto::budget::{Budget, Shortage};
use crate::proto::conn::Conn;
use crate::sys::memory;

/// The budget for these options, its buffers allocated by `alloc::zeroed`.
pub fn budget(opts: &Options) -> Budget {
    let limit = opts.max_memory.unwrap_or_else(default_limit);
    let mut b = Budget::new(
        usize::try_from(limit).unwrap_or(usize::MAX),
        crate::sys::alloc::zeroed,
    );
    b.set_growth_room(growth_room(b.limit(), opts));
    b
}

/// What grown windows and grown pipes may hold: the budget beyond a full house, `-C`
/// connections with a session each at the starting window. Growth never costs a connection
/// its place, so on a router whose budget a full house already fills, windows and pipes keep
/// their size.
fn growth_room(limit: usize, opts: &Options) -> usize {
    let one = Conn::fixed_bytes(opts.max_channels) + opts.window as usize;
    limit.saturating_sub(opts.max_connections.saturating_mul(one))
}

/// A quarter of physical memory, at most 64 MiB, and at most half of an address-space limit.
pub fn default_limit() -> u64 {
    derive(memory::physical_memory(), memory::address_space_limit())
}

fn derive(ram: Option<u64>, address_space: Option<u64>) -> u64 {
    let from_ram = ram.map_or(DEFAULT_MAX_MEMORY_CAP, |r| r / DEFAULT_MAX_MEMORY_RAM_SHARE);
    let mut limit = from_ram.min(DEFAULT_MAX_MEMORY_CAP);
    if let Some(a) = address_space {
        limit = limit.min(a / DEFAULT_MAX_MEMORY_AS_SHARE);
    }
    limit
}

/// Why `asked` bytes were refused, for the log.
pub fn refusal(why: Shortage, budget: &Budget, asked: usize) -> String {
    match why {
        Shortage::Budget => format!(
            "memory budget of {} bytes reached ({} in use, {asked} more asked)",
            budget.limit(),
            budget.used()
        ),
        Shortage::System => format!("out of memory ({asked} bytes refused)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_the_machine() {
        const M: u64 = 1 << 20;
        // A 64 MB router: a quarter.
        assert_eq!(derive(Some(64 * M), None), 16 * M);
        assert_eq!(derive(Some(128 * M), None), 32 * M);
        // A larger machine: the cap.
        assert_eq!(derive(Some(24 << 30), None), 64 * M);
        // `ulimit -v` of 48 MiB: half of it.
        assert_eq!(derive(Some(24 << 30), Some(48 * M)), 24 * M);
        assert_eq!(derive(Some(32 * M), Some(48 * M)), 8 * M);
        // No answer from sysinfo: the cap.
        assert_eq!(derive(None, None), 64 * M);
        let here = default_limit();
        assert!(here > 0 && here <= 64 * M, "{here}");
    }

    #[test]
    fn windows_grow_only_into_what_a_full_house_leaves() {
        let one =
            Conn::fixed_bytes(crate::config::MAX_CHANNELS) + crate::config::DEFAULT_WINDOW as usize;
        // The x86_64 default: 64 MiB for 64 connections.
        let mut o = Options {
            max_memory: Some(64 << 20),
            ..Options::default()
        };
        assert_eq!(budget(&o).growth_room(), (64 << 20) - 64 * one);
        // A 64 MB router's 16 MiB: 64 connections would not fit, nothing grows ...
        o.max_memory = Some(16 << 20);
        assert_eq!(budget(&o).growth_room(), 0);
        // ... unless fewer connections are allowed.
        o.max_connections = 16;
        assert_eq!(budget(&o).growth_room(), (16 << 20) - 16 * one);
    }

    #[test]
    fn refusals_say_which_limit() {
        let mut b = Budget::new(1000, crate::proto::budget::zeroed);
        b.take(900).unwrap();
        assert_eq!(
            refusal(Shortage::Budget, &b, 200),
            "memory budget of 1000 bytes reached (900 in use, 200 more asked)"
        );
        assert_eq!(
            refusal(Shortage::System, &b, 200),
            "out of memory (200 bytes refused)"
        );
    }
}
