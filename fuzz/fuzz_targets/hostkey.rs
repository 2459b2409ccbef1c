//! Host key files: openssh-key-v1 (armored) and Dropbear's format from bytes; an accepted key
//! written out again reads back the same (`quoll::hostkey::fuzz_file`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quoll::hostkey::fuzz_file(data));
