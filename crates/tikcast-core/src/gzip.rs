//! RFC 1952 gzip reader: the wrapper is parsed here, the deflate body is inflated by
//! `miniz_oxide`, and every member's CRC-32 and ISIZE are verified. Output is capped so
//! a small hostile frame cannot make us allocate without bound.

use alloc::vec::Vec;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

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

/// Inflates one or more concatenated gzip members into one buffer of at most `max_out` bytes.
pub fn gunzip(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = gunzip_member(rest, &mut out, max_out)?;
        // Some encoders pad with zeros after the last member; anything else must be a member.
        if rest.iter().all(|&b| b == 0) {
            return Ok(out);
        }
    }
}

/// Parses one member from `input`, appends its data to `out`, and returns what follows it.
fn gunzip_member<'a>(
    input: &'a [u8],
    out: &mut Vec<u8>,
    max_out: usize,
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
        let computed = (crc32fast::hash(input.get(..pos).unwrap_or(&[])) & 0xffff) as u16;
        if stored != computed {
            return Err(DecodeError::Gzip("header crc mismatch"));
        }
        pos += 2;
    }
    let body = input
        .get(pos..)
        .ok_or(DecodeError::Gzip("truncated header"))?;
    let start = out.len();
    let consumed = inflate_into(body, out, max_out)?;
    let [c0, c1, c2, c3, s0, s1, s2, s3] =
        array::<8>(body, consumed).ok_or(DecodeError::Gzip("truncated trailer"))?;
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    let isize = u32::from_le_bytes([s0, s1, s2, s3]);
    let data = out.get(start..).unwrap_or(&[]);
    if crc32fast::hash(data) != crc {
        return Err(DecodeError::Gzip("crc32 mismatch"));
    }
    if data.len() as u32 != isize {
        return Err(DecodeError::Gzip("length mismatch (isize)"));
    }
    Ok(body.get(consumed + 8..).unwrap_or(&[]))
}

/// Inflates a raw deflate stream into `out` (appending), never letting `out` exceed
/// `max_out` bytes. Returns the number of input bytes the deflate stream used.
fn inflate_into(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<usize, DecodeError> {
    let mut state = DecompressorOxide::new();
    let mut in_pos = 0usize;
    let mut out_pos = out.len();
    // Start with a guess from the compressed size (typical ratio is about 6x), grow by doubling.
    let want = out_pos.saturating_add(input.len().saturating_mul(8).max(1024));
    out.resize(want.min(max_out.max(out_pos)), 0);
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    loop {
        let more = if in_pos < input.len() {
            inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
        } else {
            0
        };
        let (status, read, written) = decompress(
            &mut state,
            input.get(in_pos..).unwrap_or(&[]),
            out,
            out_pos,
            flags | more,
        );
        in_pos += read;
        out_pos += written;
        match status {
            TINFLStatus::Done => {
                out.truncate(out_pos);
                return Ok(in_pos);
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= max_out {
                    out.truncate(out_pos);
                    return Err(DecodeError::InflatedTooLarge { cap: max_out });
                }
                let grown = out.len().saturating_mul(2).clamp(1024, max_out);
                out.resize(grown, 0);
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                out.truncate(out_pos);
                return Err(DecodeError::Gzip("deflate stream is truncated"));
            }
            _ => {
                out.truncate(out_pos);
                return Err(DecodeError::Gzip("corrupt deflate stream"));
            }
        }
    }
}

/// The `N` bytes at `at`, or `None` when the input is too short.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}
