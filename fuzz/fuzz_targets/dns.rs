//! The musl resolver's DNS reply parser, host name checks and query building, resolv.conf and
//! hosts text (`quoll::daemon::resolve::fuzz_input`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quoll::daemon::resolve::fuzz_input(data));
