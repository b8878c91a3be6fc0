//! Input: one bare batch, through the session twice, then its timers and a stop;
//! every batch it delivers written with copies and in full. The rule is in `src/lib.rs`
//! (`check_session`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tikcast_core_fuzz::check_session(data));
