//! RFC 1952 gzip reader: the wrapper is parsed here, the raw deflate body is inflated by
//! `zlib-rs` (its safe `Inflate` API; 1.6-1.8x `miniz_oxide`'s speed in our opt-level "z"
//! wasm build: `gunzip_miniz` / `gunzip_zlibrs` in bench/wasm-probe) or, without the
//! `zlib-rs` feature (no `std`), by `miniz_oxide`; every member's CRC-32 and ISIZE are
//! verified. Output is capped so a small hostile frame cannot make us allocate without
//! bound.

use alloc::vec::Vec;

#[cfg(not(feature = "zlib-rs"))]
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
#[cfg(not(feature = "zlib-rs"))]
use miniz_oxide::inflate::TINFLStatus;
#[cfg(feature = "zlib-rs")]
use zlib_rs::{Inflate, InflateFlush, Status};

use crate::error::DecodeError;

/// Default cap on the inflated size of one payload: 8 MiB.
pub const DEFAULT_MAX_INFLATED: usize = 8 * 1024 * 1024;

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const RESERVED: u8 = 0xe0;

/// True when `bytes` starts like a gzip member (magic `1f 8b`, method 8 = deflate).
pub fn looks_like_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b, 0x08])
}

/// Default cap on the gzip members of one payload. Real frames carry one; every member
/// costs a header parse, an inflater reset and a trailer check, so a payload of many tiny
/// members is a cheap way to make a decoder work. 64 leaves a wide margin.
pub const DEFAULT_MAX_MEMBERS: usize = 64;

/// Inflates one or more concatenated gzip members into one buffer of at most `max_out`
/// bytes, with at most [`DEFAULT_MAX_MEMBERS`] members.
pub fn gunzip(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecodeError> {
    gunzip_capped(input, max_out, DEFAULT_MAX_MEMBERS)
}

/// Like [`gunzip`], with at most `max_members` members. The work is linear in the input
/// and output for any layout of members: the output buffer grows by doubling across
/// members (never zero-filled twice) and one inflater serves every member.
pub fn gunzip_capped(
    input: &[u8],
    max_out: usize,
    max_members: usize,
) -> Result<Vec<u8>, DecodeError> {
    // `out` is initialized up to `out.len()`; the data is `out[..filled]`.
    let mut out = Vec::new();
    let mut filled = 0usize;
    // One inflater (state and 32 KiB window, allocated once) for every member.
    let mut inflater = Inflater::default();
    let mut rest = input;
    let mut members = 0usize;
    loop {
        if members == max_members {
            return Err(DecodeError::TooMany {
                what: "gzip members",
                cap: max_members,
            });
        }
        members += 1;
        rest = gunzip_member(rest, &mut out, &mut filled, max_out, &mut inflater)?;
        // Some encoders pad with zeros after the last member; anything else must be a member.
        if rest.iter().all(|&b| b == 0) {
            out.truncate(filled);
            return Ok(out);
        }
    }
}

/// Parses one member from `input`, appends its data to `out`, and returns what follows it.
fn gunzip_member<'a>(
    input: &'a [u8],
    out: &mut Vec<u8>,
    filled: &mut usize,
    max_out: usize,
    inflater: &mut Inflater,
) -> Result<&'a [u8], DecodeError> {
    let [m1, m2, method, flags, ..] =
        array::<10>(input, 0).ok_or(DecodeError::Gzip("truncated header"))?;
    if [m1, m2] != [0x1f, 0x8b] {
        return Err(DecodeError::Gzip("bad magic bytes"));
    }
    if method != 8 {
        return Err(DecodeError::Gzip("compression method is not deflate"));
    }
    if flags & RESERVED != 0 {
        return Err(DecodeError::Gzip("reserved header flags set"));
    }
    let mut pos = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = array::<2>(input, pos).ok_or(DecodeError::Gzip("truncated extra field"))?;
        let xlen = u16::from_le_bytes(xlen) as usize;
        pos = pos
            .checked_add(2 + xlen)
            .filter(|&p| p <= input.len())
            .ok_or(DecodeError::Gzip("truncated extra field"))?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let tail = input.get(pos..).unwrap_or(&[]);
            let nul = tail
                .iter()
                .position(|&b| b == 0)
                .ok_or(DecodeError::Gzip("unterminated name or comment"))?;
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = array::<2>(input, pos).ok_or(DecodeError::Gzip("truncated header crc"))?;
        let stored = u16::from_le_bytes(stored);
        let computed = (crate::crc32::hash(input.get(..pos).unwrap_or(&[])) & 0xffff) as u16;
        if stored != computed {
            return Err(DecodeError::Gzip("header crc mismatch"));
        }
        pos += 2;
    }
    let body = input
        .get(pos..)
        .ok_or(DecodeError::Gzip("truncated header"))?;
    let start = *filled;
    // The last member's ISIZE ends the input: a size hint only (it is attacker-controlled,
    // and wrong for earlier members), verified below like the rest of the trailer.
    let hint = input
        .len()
        .checked_sub(4)
        .and_then(|at| array::<4>(input, at))
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let consumed = inflate_into(inflater, body, out, filled, max_out, hint)?;
    let [c0, c1, c2, c3, s0, s1, s2, s3] =
        array::<8>(body, consumed).ok_or(DecodeError::Gzip("truncated trailer"))?;
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    let isize = u32::from_le_bytes([s0, s1, s2, s3]);
    let data = out.get(start..*filled).unwrap_or(&[]);
    if crate::crc32::hash(data) != crc {
        return Err(DecodeError::Gzip("crc32 mismatch"));
    }
    if data.len() as u32 != isize {
        return Err(DecodeError::Gzip("length mismatch (isize)"));
    }
    Ok(body.get(consumed + 8..).unwrap_or(&[]))
}

/// Deflate cannot expand more than 1032:1 (258-byte matches in ~2 bits), so a size hint
/// beyond that for the input at hand is a lie and is not allocated up front.
const MAX_DEFLATE_RATIO: usize = 1032;

/// The inflater's state, reused for every member of one payload.
#[cfg(feature = "zlib-rs")]
#[derive(Default)]
struct Inflater(Option<Inflate>);

/// The inflater's state, reused for every member of one payload (boxed: about 11 KB).
#[cfg(not(feature = "zlib-rs"))]
#[derive(Default)]
struct Inflater(Option<alloc::boxed::Box<DecompressorOxide>>);

/// Makes room in `out` (initialized up to `out.len()`, data up to `filled`) for a stream
/// of `input` whose output should be `hint` bytes (from ISIZE; untrusted), never past the
/// cap. The first stream gets the hint when deflate could produce it from this input,
/// else a guess from the compressed size (typical ratio is about 6x); a later stream
/// reuses the room left and grows it by doubling only when little is left, so many small
/// members cost no more than one large one.
fn make_room(out: &mut Vec<u8>, filled: usize, input: &[u8], max_out: usize, hint: usize) {
    let len = if filled == 0 && out.is_empty() {
        let plausible = input
            .len()
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(64);
        if hint > 0 && hint <= plausible {
            hint
        } else {
            input.len().saturating_mul(8).max(1024)
        }
    } else if out.len().saturating_sub(filled) < 1024 {
        out.len().saturating_mul(2).max(1024)
    } else {
        return;
    };
    grow(out, len.min(max_out.max(out.len())));
}

/// Inflates a raw deflate stream into `out` after `filled` bytes of data, never letting
/// the data pass `max_out` bytes; `out` may be initialized past the data (room kept for
/// the next member) and `filled` becomes the end of the data. `hint` is the expected size
/// of this stream's output (from ISIZE; untrusted). Returns the number of input bytes the
/// deflate stream used.
#[cfg(feature = "zlib-rs")]
fn inflate_into(
    inflater: &mut Inflater,
    input: &[u8],
    out: &mut Vec<u8>,
    filled: &mut usize,
    max_out: usize,
    hint: usize,
) -> Result<usize, DecodeError> {
    let z = match &mut inflater.0 {
        Some(z) => {
            z.reset(false);
            z
        }
        None => inflater.0.insert(Inflate::new(false, 15)),
    };
    let start = *filled;
    make_room(out, start, input, max_out, hint);
    loop {
        let read = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let written = start.saturating_add(usize::try_from(z.total_out()).unwrap_or(usize::MAX));
        let status = z.decompress(
            input.get(read..).unwrap_or(&[]),
            out.get_mut(written..).unwrap_or(&mut []),
            // Finish: no sliding-window copy when the stream ends within this call.
            InflateFlush::Finish,
        );
        let written = start.saturating_add(usize::try_from(z.total_out()).unwrap_or(usize::MAX));
        *filled = written.min(out.len());
        match status {
            Ok(Status::StreamEnd) => {
                return usize::try_from(z.total_in())
                    .map_err(|_| DecodeError::Gzip("corrupt deflate stream"));
            }
            // Not finished with room left in `out`: the input ran out.
            Ok(Status::Ok | Status::BufError) if written < out.len() => {
                return Err(DecodeError::Gzip("deflate stream is truncated"));
            }
            Ok(Status::Ok | Status::BufError) => {
                if out.len() >= max_out {
                    // Full at the cap. An exactly-cap-sized stream may still owe its
                    // end-of-block code: let it finish without room for one more byte.
                    let read = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
                    let rest = input.get(read..).unwrap_or(&[]);
                    let total_out = z.total_out();
                    return match z.decompress(rest, &mut [], InflateFlush::Finish) {
                        Ok(Status::StreamEnd) if z.total_out() == total_out => {
                            usize::try_from(z.total_in())
                                .map_err(|_| DecodeError::Gzip("corrupt deflate stream"))
                        }
                        _ => Err(DecodeError::InflatedTooLarge { cap: max_out }),
                    };
                }
                grow(out, out.len().saturating_mul(2).clamp(1024, max_out));
            }
            Err(_) => {
                return Err(DecodeError::Gzip("corrupt deflate stream"));
            }
        }
    }
}

/// The same with `miniz_oxide` (builds without `std`).
#[cfg(not(feature = "zlib-rs"))]
fn inflate_into(
    inflater: &mut Inflater,
    input: &[u8],
    out: &mut Vec<u8>,
    filled: &mut usize,
    max_out: usize,
    hint: usize,
) -> Result<usize, DecodeError> {
    let state = match &mut inflater.0 {
        Some(state) => {
            state.init();
            state
        }
        None => inflater.0.insert(alloc::boxed::Box::default()),
    };
    let mut in_pos = 0usize;
    let mut out_pos = *filled;
    make_room(out, out_pos, input, max_out, hint);
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    loop {
        let more = if in_pos < input.len() {
            inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
        } else {
            0
        };
        let (status, read, written) = decompress(
            state,
            input.get(in_pos..).unwrap_or(&[]),
            out,
            out_pos,
            flags | more,
        );
        in_pos += read;
        out_pos += written;
        *filled = out_pos;
        match status {
            TINFLStatus::Done => return Ok(in_pos),
            TINFLStatus::HasMoreOutput => {
                if out.len() >= max_out {
                    return Err(DecodeError::InflatedTooLarge { cap: max_out });
                }
                grow(out, out.len().saturating_mul(2).clamp(1024, max_out));
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err(DecodeError::Gzip("deflate stream is truncated"));
            }
            _ => return Err(DecodeError::Gzip("corrupt deflate stream")),
        }
    }
}

/// Zero-extends `out` to `len` bytes, allocating exactly that (not the amortized doubling
/// of `resize`), so the capacity never passes the cap either. Copies from a block of
/// zeros: at opt-level "z" `resize` stays a byte-at-a-time loop (4 % of a frame's decode
/// time in the wasm build), a copy becomes `memory.copy`.
fn grow(out: &mut Vec<u8>, len: usize) {
    static ZEROS: [u8; 4096] = [0; 4096];
    out.reserve_exact(len.saturating_sub(out.len()));
    while out.len() < len {
        let n = (len - out.len()).min(ZEROS.len());
        out.extend_from_slice(ZEROS.get(..n).unwrap_or(&[]));
    }
}

/// The `N` bytes at `at`, or `None` when the input is too short.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use std::io::Write;

    extern crate std;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7 % 251) as u8 ^ (i >> 9) as u8)
            .collect()
    }

    #[test]
    fn output_of_exactly_the_cap_is_accepted_one_more_byte_is_not() {
        for n in [0, 1, 1000, 70_000, 300_000] {
            let d = data(n);
            let z = gz(&d);
            assert_eq!(gunzip(&z, n).unwrap(), d, "n = {n}");
            assert_eq!(gunzip(&z, n + 1).unwrap(), d);
            if n > 0 {
                assert_eq!(
                    gunzip(&z, n - 1).unwrap_err(),
                    DecodeError::InflatedTooLarge { cap: n - 1 }
                );
            }
        }
        // members share the cap
        let d = data(5000);
        let mut two = gz(&d[..3000]);
        two.extend(gz(&d[3000..]));
        assert_eq!(gunzip(&two, 5000).unwrap(), d);
        assert_eq!(
            gunzip(&two, 4999).unwrap_err(),
            DecodeError::InflatedTooLarge { cap: 4999 }
        );
    }

    #[test]
    fn a_lying_isize_neither_sizes_the_buffer_nor_passes() {
        let d = data(20_000);
        for isize in [0u32, 1, 19_999, 20_001, 1 << 30, u32::MAX] {
            let mut z = gz(&d);
            let n = z.len();
            z[n - 4..].copy_from_slice(&isize.to_le_bytes());
            assert_eq!(
                gunzip(&z, usize::MAX).unwrap_err(),
                DecodeError::Gzip("length mismatch (isize)"),
                "isize = {isize}"
            );
        }
    }

    #[test]
    fn consumed_input_is_exact_so_members_and_padding_follow() {
        let d = data(100_000);
        let mut three = gz(&d[..1]);
        three.extend(gz(&d[1..60_000]));
        three.extend(gz(&d[60_000..]));
        three.extend([0, 0, 0]);
        assert_eq!(gunzip(&three, usize::MAX).unwrap(), d);
        // garbage after a member is not a member
        let mut junk = gz(&d);
        junk.push(1);
        assert_eq!(
            gunzip(&junk, usize::MAX).unwrap_err(),
            DecodeError::Gzip("truncated header")
        );
        // every truncation is an error, never a short success
        let z = gz(&d[..3000]);
        for cut in 0..z.len() {
            assert!(gunzip(&z[..cut], usize::MAX).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn corrupt_deflate_is_an_error() {
        let mut z = gz(&data(1000));
        z[10] = 0xff; // block type 3 (reserved)
        assert_eq!(
            gunzip(&z, usize::MAX).unwrap_err(),
            DecodeError::Gzip("corrupt deflate stream")
        );
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let z = gz(&vec![0u8; 64 << 20]);
        assert_eq!(
            gunzip(&z, 8 << 20).unwrap_err(),
            DecodeError::InflatedTooLarge { cap: 8 << 20 }
        );
        // growth by doubling from a guess never allocates past the cap
        let mut out = Vec::new();
        let mut z = Inflater::default();
        let body = z_body(&gz(&vec![0u8; 64 << 20]));
        let cap = 3_000_001;
        assert_eq!(
            inflate_into(&mut z, &body, &mut out, &mut 0, cap, 0).unwrap_err(),
            DecodeError::InflatedTooLarge { cap }
        );
        assert!(out.capacity() <= cap, "capacity {}", out.capacity());
    }

    fn z_body(member: &[u8]) -> Vec<u8> {
        member[10..].to_vec()
    }
}
