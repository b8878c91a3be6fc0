//! Input: one bare batch (a fetch result). `write_batch` (default `DecodeOptions`)
//! against the oracle's `decode_batch_with`; the rule is in `src/lib.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tikcast_core_fuzz::check_batch(data));
