//! The recording format: every upstream frame of one room, with its arrival time, in an
//! append-only file that survives a crash. `docs/recording.md` is the normative
//! description; in short:
//!
//! ```text
//! header  : "TKCSTREC" (8 bytes) | version u16 LE (= 1) | flags u16 LE (= 0)
//!           | meta_len u32 LE | meta (meta_len bytes of UTF-8 JSON)
//! record* : len u32 LE | kind u8 | t_ms u64 LE | crc32 u32 LE | body (len bytes)
//! ```
//!
//! `kind` 1 is a binary push frame exactly as the upstream sent it, 2 a text message
//! (the upstream's `roomInfo`). `t_ms` counts milliseconds since the recording started.
//! `crc32` (IEEE) covers `kind`, `t_ms` and the body. A record is written with one
//! `write` call after the previous one, so a crash can only leave a torn last record; the
//! reader stops at the first record that is short, too large or fails its checksum, and
//! reports how many bytes it skipped.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const MAGIC: &[u8; 8] = b"TKCSTREC";
pub const VERSION: u16 = 1;
/// Bytes of a record before its body.
pub const RECORD_HEAD: usize = 4 + 1 + 8 + 4;
/// Largest body a reader accepts (the decoder's frame cap is 4 MiB; text is smaller).
pub const MAX_BODY: usize = 16 << 20;
/// Largest metadata block a reader accepts.
const MAX_META: usize = 1 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A binary push frame, unchanged.
    Frame = 1,
    /// A text message from the upstream (its `roomInfo` JSON).
    Text = 2,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Frame),
            2 => Some(Kind::Text),
            _ => None,
        }
    }
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: Kind,
    pub t_ms: u64,
    pub body: Vec<u8>,
}

fn checksum(kind: u8, t_ms: u64, body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(&t_ms.to_le_bytes());
    h.update(body);
    h.finalize()
}

/// Encodes one record (head and body) into a single buffer.
pub fn encode_record(kind: Kind, t_ms: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEAD + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&t_ms.to_le_bytes());
    out.extend_from_slice(&checksum(kind as u8, t_ms, body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Encodes the file header with `meta` (a JSON object).
pub fn encode_header(meta: &serde_json::Value) -> Vec<u8> {
    let meta = meta.to_string();
    let mut out = Vec::with_capacity(16 + meta.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta.as_bytes());
    out
}

/// Appends records to a new recording file. Records are buffered for at most
/// `flush_every` and synced to disk at most every `sync_every`, so a crash loses at most
/// that much and never corrupts what came before.
pub struct Writer {
    out: BufWriter<File>,
    path: PathBuf,
    started: Instant,
    last_flush: Instant,
    last_sync: Instant,
    bytes: u64,
}

const FLUSH_EVERY: Duration = Duration::from_millis(200);
const SYNC_EVERY: Duration = Duration::from_secs(2);

impl Writer {
    /// Creates `path` (it must not exist yet) and writes the header.
    pub fn create(path: &Path, meta: &serde_json::Value) -> Result<Writer, String> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| format!("cannot create recording {}: {e}", path.display()))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        let header = encode_header(meta);
        out.write_all(&header)
            .and_then(|_| out.flush())
            .and_then(|_| out.get_ref().sync_data())
            .map_err(|e| format!("cannot write recording {}: {e}", path.display()))?;
        let now = Instant::now();
        Ok(Writer {
            out,
            path: path.to_path_buf(),
            started: now,
            last_flush: now,
            last_sync: now,
            bytes: header.len() as u64,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far, header included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends one record stamped with the time since the recording started.
    pub fn append(&mut self, kind: Kind, body: &[u8]) -> Result<(), String> {
        let t_ms = self.started.elapsed().as_millis() as u64;
        self.append_at(kind, t_ms, body)
    }

    /// Appends one record with an explicit timestamp.
    pub fn append_at(&mut self, kind: Kind, t_ms: u64, body: &[u8]) -> Result<(), String> {
        if body.len() > MAX_BODY {
            return Err(format!(
                "recording: a {} byte record is over the {} byte cap",
                body.len(),
                MAX_BODY
            ));
        }
        let record = encode_record(kind, t_ms, body);
        // A record larger than the buffer is written straight through in one call, so
        // it is never split across two writes of the buffer.
        self.out
            .write_all(&record)
            .map_err(|e| format!("cannot write recording {}: {e}", self.path.display()))?;
        self.bytes += record.len() as u64;
        let now = Instant::now();
        if now.duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush()?;
        }
        if now.duration_since(self.last_sync) >= SYNC_EVERY {
            self.last_sync = now;
            let _ = self.out.get_ref().sync_data();
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), String> {
        self.last_flush = Instant::now();
        self.out
            .flush()
            .map_err(|e| format!("cannot write recording {}: {e}", self.path.display()))
    }

    /// Flushes and syncs; the file stays valid without this, it only makes the tail durable.
    pub fn finish(mut self) -> Result<u64, String> {
        self.flush()?;
        let _ = self.out.get_ref().sync_all();
        Ok(self.bytes)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// A whole recording read back.
#[derive(Debug, Clone)]
pub struct Recording {
    pub version: u16,
    pub meta: serde_json::Value,
    pub records: Vec<Record>,
    /// Bytes after the last good record (a torn or corrupt tail), 0 for a clean file.
    pub torn_bytes: usize,
    /// Why reading stopped early, when it did.
    pub torn_reason: Option<&'static str>,
}

/// Reads `path`. A bad header is an error; a bad tail is reported in the result.
pub fn read(path: &Path) -> Result<Recording, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read recording {}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a recording held in memory.
pub fn parse(bytes: &[u8]) -> Result<Recording, String> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err("not a tikcast recording (bad magic)".into());
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(format!(
            "recording version {version} is not supported (this build reads version {VERSION})"
        ));
    }
    let meta_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    if meta_len > MAX_META || 16 + meta_len > bytes.len() {
        return Err("recording header is truncated".into());
    }
    let meta = serde_json::from_slice(&bytes[16..16 + meta_len])
        .map_err(|_| "recording metadata is not JSON".to_string())?;
    let mut records = Vec::new();
    let mut at = 16 + meta_len;
    let mut torn_reason = None;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < RECORD_HEAD {
            torn_reason = Some("short record head");
            break;
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(kind) = Kind::from_u8(rest[4]) else {
            torn_reason = Some("unknown record kind");
            break;
        };
        let mut t = [0u8; 8];
        t.copy_from_slice(&rest[5..13]);
        let t_ms = u64::from_le_bytes(t);
        let crc = u32::from_le_bytes([rest[13], rest[14], rest[15], rest[16]]);
        if len > MAX_BODY {
            torn_reason = Some("record length over the cap");
            break;
        }
        if rest.len() < RECORD_HEAD + len {
            torn_reason = Some("short record body");
            break;
        }
        let body = &rest[RECORD_HEAD..RECORD_HEAD + len];
        if checksum(kind as u8, t_ms, body) != crc {
            torn_reason = Some("record checksum mismatch");
            break;
        }
        records.push(Record {
            kind,
            t_ms,
            body: body.to_vec(),
        });
        at += RECORD_HEAD + len;
    }
    Ok(Recording {
        version,
        meta,
        records,
        torn_bytes: bytes.len() - at,
        torn_reason,
    })
}

/// A file name for a new recording of `unique_id`: safe characters only, plus the start
/// time in ms since the epoch and a counter, so restarts never collide.
pub fn file_name(unique_id: &str, started_ms: i64, n: u64) -> String {
    let safe: String = unique_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{safe}-{started_ms}-{n}.tkrec")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = encode_header(&serde_json::json!({"uniqueId":"a"}));
        b.extend(encode_record(Kind::Text, 0, b"{\"type\":\"roomInfo\"}"));
        b.extend(encode_record(Kind::Frame, 5, &[1, 2, 3]));
        b.extend(encode_record(Kind::Frame, 9, &[4; 100]));
        b
    }

    #[test]
    fn round_trip() {
        let r = parse(&sample()).unwrap();
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[1].body, vec![1, 2, 3]);
        assert_eq!(r.records[2].t_ms, 9);
        assert_eq!((r.torn_bytes, r.torn_reason), (0, None));
        assert_eq!(r.meta["uniqueId"], "a");
    }

    #[test]
    fn every_truncation_keeps_the_good_prefix() {
        let full = sample();
        let last_start = full.len() - (RECORD_HEAD + 100);
        for cut in last_start..full.len() {
            let r = parse(&full[..cut]).unwrap();
            assert_eq!(r.records.len(), 2, "cut at {cut}");
            assert_eq!(r.torn_bytes, cut - last_start);
        }
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let r = parse(&flipped).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.torn_reason, Some("record checksum mismatch"));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(parse(b"nope").is_err());
        let mut v = sample();
        v[8] = 9;
        assert!(parse(&v).unwrap_err().contains("version 9"));
    }

    #[test]
    fn names_are_safe() {
        assert_eq!(file_name("../a b", 5, 1), ".._a_b-5-1.tkrec");
    }
}
