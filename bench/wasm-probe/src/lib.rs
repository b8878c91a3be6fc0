//! Raw exports over tikcast-core for bench/ (see Cargo.toml). The host writes a frame
//! into the buffer from `buf(len)` and calls one of the functions.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;

thread_local! { static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) }; }

/// A buffer of `len` bytes the host fills before the next call.
#[no_mangle]
pub extern "C" fn buf(len: usize) -> *mut u8 {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        b.resize(len, 0);
        b.as_mut_ptr()
    })
}

fn with_frame<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    BUF.with(|b| f(&b.borrow()))
}

/// decode_frame: every message into typed events (no JS objects); returns the event count.
#[no_mangle]
pub extern "C" fn decode_full() -> u32 {
    with_frame(|f| tikcast_core::decode_frame(f).map_or(0, |d| d.events.len() as u32))
}

/// Only chat and gift messages decoded.
#[no_mangle]
pub extern "C" fn decode_chat_gift() -> u32 {
    let opts = tikcast_core::DecodeOptions::default();
    with_frame(|f| {
        tikcast_core::decode_frame_filtered(f, &opts, |_, m| {
            m == "WebcastChatMessage" || m == "WebcastGiftMessage"
        })
        .map_or(0, |d| d.events.len() as u32)
    })
}

/// The gzip payload of the frame inflated by our gunzip (miniz_oxide); returns its length.
#[no_mangle]
pub extern "C" fn gunzip_only(at: usize, len: usize) -> u32 {
    with_frame(|f| {
        tikcast_core::gzip::gunzip(&f[at..at + len], 8 << 20).map_or(0, |v| v.len() as u32)
    })
}
