//! # tikcast-wasm
//!
//! Placeholder for the wasm-bindgen driver of `tikcast-core` (WebSocket, timers, JS
//! values). It holds no protocol logic and, until the browser SDK lands, only checks
//! that the core builds for the browser target through this crate.
#![no_std]

/// The version of the decoder core this module wraps.
pub fn core_version() -> &'static str {
    tikcast_core::VERSION
}
