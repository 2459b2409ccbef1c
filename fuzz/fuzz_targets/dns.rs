//! The musl resolver's DNS reply parser, host name checks and query building, resolv.conf and
//! hosts text (`quoll::dns::fuzz_input`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quoll::dns::fuzz_input(data));
