//! CRC-32 (IEEE 802.3, the gzip trailer's checksum), slice-by-16 over tables built at
//! first use instead of shipped as data.
//!
//! Why not `crc32fast` everywhere: in wasm it has no carry-less multiply and runs the
//! same slice-by-16 loop as this one, over a 16 KiB static table. Random 32-bit words do
//! not compress, so that table was ~13 kB of the `.wasm`'s gzip size (bench/RESULTS.md,
//! "CRC-32 from a table built at start-up"); built here in a few microseconds on the
//! first frame, it costs nothing on the wire and runs at the same speed. Native builds
//! keep `crc32fast` (its SIMD path is several times faster than any table): see
//! [`hash`]. The tests compare both on every length and alignment.

use alloc::boxed::Box;
use once_cell::race::OnceBox;

/// The reflected IEEE polynomial.
const POLY: u32 = 0xedb8_8320;

/// `T[0]` is the byte-at-a-time table; `T[k][b]` is the CRC of byte `b` followed by `k`
/// zero bytes, so 16 input bytes fold into the state with 16 lookups.
type Tables = [[u32; 256]; 16];

static TABLES: OnceBox<Tables> = OnceBox::new();

fn tables() -> &'static Tables {
    TABLES.get_or_init(|| {
        let mut t: Box<Tables> = Box::new([[0; 256]; 16]);
        for (b, slot) in (0u32..).zip(t[0].iter_mut()) {
            let mut c = b;
            for _ in 0..8 {
                c = (c >> 1) ^ (POLY & (c & 1).wrapping_neg());
            }
            *slot = c;
        }
        for k in 1..16 {
            for b in 0..256 {
                let prev = t[k - 1][b];
                t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    })
}

/// CRC-32 of `data` with our tables (the wasm build's implementation; natively it is
/// the reference the tests hold `crc32fast` to, and the other way round).
pub fn table_hash(data: &[u8]) -> u32 {
    let t = tables();
    let mut crc = !0u32;
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let Ok(b) = <&[u8; 16]>::try_from(block) else {
            continue;
        };
        let s = crc ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        crc = t[15][(s & 0xff) as usize]
            ^ t[14][((s >> 8) & 0xff) as usize]
            ^ t[13][((s >> 16) & 0xff) as usize]
            ^ t[12][(s >> 24) as usize]
            ^ t[11][b[4] as usize]
            ^ t[10][b[5] as usize]
            ^ t[9][b[6] as usize]
            ^ t[8][b[7] as usize]
            ^ t[7][b[8] as usize]
            ^ t[6][b[9] as usize]
            ^ t[5][b[10] as usize]
            ^ t[4][b[11] as usize]
            ^ t[3][b[12] as usize]
            ^ t[2][b[13] as usize]
            ^ t[1][b[14] as usize]
            ^ t[0][b[15] as usize];
    }
    for &b in blocks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xff) as usize];
    }
    !crc
}

/// CRC-32 of `data`: our tables in wasm, `crc32fast` (SIMD where the CPU has it) natively.
#[inline]
pub fn hash(data: &[u8]) -> u32 {
    #[cfg(target_arch = "wasm32")]
    {
        table_hash(data)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crc32fast::hash(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn known_values() {
        assert_eq!(table_hash(b""), 0);
        assert_eq!(table_hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(
            table_hash(b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
    }

    #[test]
    fn equals_crc32fast_on_every_length_and_offset() {
        // Pseudo-random bytes (xorshift), so every table entry is exercised.
        let mut x = 0x9e37_79b9u32;
        let data: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for start in 0..17 {
            for len in (0..300).chain([1000, 4000 - start]) {
                let s = &data[start..start + len];
                assert_eq!(table_hash(s), crc32fast::hash(s), "start {start} len {len}");
            }
        }
    }
}
