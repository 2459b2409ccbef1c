//! User key and signature blobs: every kind's parser, the signature verifiers and the
//! certificate checks (`quoll::proto::userkey::fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quoll::proto::userkey::fuzz(data));
