//! Input: one selector byte, then a message payload. The byte picks the method (one of
//! `KNOWN_METHODS` by index modulo their count + 1; the extra value is an unknown
//! method); `write_message` against the oracle's `decode_message_into`, both with the
//! default `EnvelopeInfo`. The rule is in `src/lib.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&selector, payload)) = data.split_first() {
        let method = tikcast_core_fuzz::method_for(selector);
        tikcast_core_fuzz::check_message(method, payload, tikcast_core::EnvelopeInfo::default());
    }
});
