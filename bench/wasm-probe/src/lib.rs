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

/// The gzip payload of the frame inflated by our gunzip (tikcast-core: zlib-rs); returns its length.
#[no_mangle]
pub extern "C" fn gunzip_only(at: usize, len: usize) -> u32 {
    with_frame(|f| {
        tikcast_core::gzip::gunzip(&f[at..at + len], 8 << 20).map_or(0, |v| v.len() as u32)
    })
}

// Inflater comparison (bench/README.md): the same RFC 1952 wrapper and checks as
// tikcast-core's gunzip, with the raw deflate body inflated by one library or the other.

/// One gzip member of the frame inflated with `miniz_oxide`; returns its length (0 = error).
#[no_mangle]
pub extern "C" fn gunzip_miniz(at: usize, len: usize) -> u32 {
    with_frame(|f| cmp::gunzip(&f[at..at + len], cmp::Lib::Miniz).map_or(0, |v| v.len() as u32))
}

/// One gzip member of the frame inflated with `zlib-rs`; returns its length (0 = error).
#[no_mangle]
pub extern "C" fn gunzip_zlibrs(at: usize, len: usize) -> u32 {
    with_frame(|f| cmp::gunzip(&f[at..at + len], cmp::Lib::ZlibRs).map_or(0, |v| v.len() as u32))
}

/// As `gunzip_zlibrs` with zlib-rs's CRC-32 (diagnostic).
#[no_mangle]
pub extern "C" fn gunzip_zlibrs_crc(at: usize, len: usize) -> u32 {
    with_frame(|f| cmp::gunzip(&f[at..at + len], cmp::Lib::ZlibRsCrc).map_or(0, |v| v.len() as u32))
}

/// As `gunzip_zlibrs` without the CRC-32 check (diagnostic).
#[no_mangle]
pub extern "C" fn gunzip_zlibrs_nocrc(at: usize, len: usize) -> u32 {
    with_frame(|f| {
        cmp::gunzip(&f[at..at + len], cmp::Lib::ZlibRsNoCrc).map_or(0, |v| v.len() as u32)
    })
}

/// One gzip member inflated (and its CRC-32 and ISIZE checked) by `zune-inflate`.
#[no_mangle]
pub extern "C" fn gunzip_zune(at: usize, len: usize) -> u32 {
    with_frame(|f| {
        let opts = zune_inflate::DeflateOptions::default()
            .set_limit(8 << 20)
            .set_confirm_checksum(true);
        zune_inflate::DeflateDecoder::new_with_options(&f[at..at + len], opts)
            .decode_gzip()
            .map_or(0, |v| v.len() as u32)
    })
}

mod cmp {
    const CAP: usize = 8 << 20;

    #[derive(Clone, Copy)]
    pub enum Lib {
        Miniz,
        ZlibRs,
        /// zlib-rs with its own CRC-32 instead of crc32fast.
        ZlibRsCrc,
        /// zlib-rs without the CRC-32 check: how much of the time the checksum is.
        ZlibRsNoCrc,
    }

    /// A single member with a 10-byte header (what the workload's frames carry), CRC-32
    /// and ISIZE verified as in tikcast-core.
    pub fn gunzip(input: &[u8], lib: Lib) -> Option<Vec<u8>> {
        if !input.starts_with(&[0x1f, 0x8b, 0x08]) || input.get(3)? & 0x1e != 0 {
            return None; // the workload has no optional header fields
        }
        let body = input.get(10..)?;
        let mut out = Vec::new();
        let used = match lib {
            Lib::Miniz => miniz(body, &mut out)?,
            Lib::ZlibRs | Lib::ZlibRsCrc | Lib::ZlibRsNoCrc => zlibrs(body, &mut out)?,
        };
        let trailer: [u8; 8] = body.get(used..used + 8)?.try_into().ok()?;
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let computed = match lib {
            Lib::ZlibRsCrc => zlib_rs::crc32::crc32(0, &out),
            Lib::ZlibRsNoCrc => crc,
            _ => crc32fast::hash(&out),
        };
        (computed == crc && out.len() as u32 == isize).then_some(out)
    }

    fn miniz(input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
        use miniz_oxide::inflate::TINFLStatus;
        let mut state = DecompressorOxide::new();
        let (mut in_pos, mut out_pos) = (0, 0);
        out.resize((input.len() * 8).clamp(1024, CAP), 0);
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        loop {
            let more = if in_pos < input.len() {
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
            } else {
                0
            };
            let (status, read, written) =
                decompress(&mut state, &input[in_pos..], out, out_pos, flags | more);
            in_pos += read;
            out_pos += written;
            match status {
                TINFLStatus::Done => {
                    out.truncate(out_pos);
                    return Some(in_pos);
                }
                TINFLStatus::HasMoreOutput if out.len() < CAP => {
                    out.resize((out.len() * 2).min(CAP), 0)
                }
                _ => return None,
            }
        }
    }

    fn zlibrs(input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        use zlib_rs::{Inflate, InflateFlush, Status};
        let mut z = Inflate::new(false, 15);
        out.resize((input.len() * 8).clamp(1024, CAP), 0);
        loop {
            let (read, written) = (z.total_in() as usize, z.total_out() as usize);
            let status = z
                .decompress(&input[read..], &mut out[written..], InflateFlush::Finish)
                .ok()?;
            let written = z.total_out() as usize;
            match status {
                Status::StreamEnd => {
                    out.truncate(written);
                    return Some(z.total_in() as usize);
                }
                _ if written == out.len() && out.len() < CAP => {
                    out.resize((out.len() * 2).min(CAP), 0)
                }
                _ => return None,
            }
        }
    }
}
