//! Input: one push frame. `write_frame` (default `DecodeOptions`) against the oracle's
//! `decode_frame_filtered(.., |_, _| true)`; the rule is in `src/lib.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tikcast_core_fuzz::check_frame(data));
