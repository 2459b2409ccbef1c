//! authorized_keys text: the line and option parser, `from=` patterns, `permitopen`,
//! `permitlisten` (`quoll::authkeys::fuzz_file`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quoll::authkeys::fuzz_file(data));
