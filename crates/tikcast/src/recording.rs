//! The recording format: every upstream frame of one room, with its arrival time, in an
//! append-only file that survives a crash. `docs/recording.md` is the normative
//! description; in short (version 2, which writers write):
//!
//! ```text
//! header  : "TKCSTREC" (8 bytes) | version u16 LE (= 2) | flags u16 LE (= 0)
//!           | meta_len u32 LE | prefix_crc u32 LE | header_crc u32 LE
//!           | meta (meta_len bytes of UTF-8 JSON)
//! record* : len u32 LE | kind u8 | t_ms u64 LE | crc32 u32 LE | body (len bytes)
//! ```
//!
//! `prefix_crc` (CRC-32/IEEE) covers the first 16 bytes, so `meta_len` (which says where
//! the records start) is checked on its own; `header_crc` covers those 16 bytes and the
//! metadata. Version 1 had neither checksum (`meta` straight after `meta_len`) and is
//! still read.
//!
//! A damaged header never costs the records and never passes off changed metadata as
//! intact: the reader reports the damage in [`Recording::header_error`], withholds
//! metadata that does not verify ([`Recording::meta`] is `None`), and finds the records
//! from `meta_len` when the prefix verifies, else from the first place after the prefix
//! where a record verifies (a bounded scan, see [`scan_for_records`]).
//!
//! `kind` 1 is a binary push frame exactly as the upstream sent it, 2 a text message
//! (the upstream's `roomInfo`). `t_ms` counts milliseconds since the recording started.
//! `crc32` covers `kind`, `t_ms` and the body. A record is written with one `write` call
//! after the previous one, so a crash can only leave a torn last record; the reader stops
//! at the first record that is short, too large or fails its checksum, and reports how
//! many bytes it skipped.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const MAGIC: &[u8; 8] = b"TKCSTREC";
/// The version writers write.
pub const VERSION: u16 = 2;
/// Bytes of a version 2 header before the metadata.
pub const HEADER_PREFIX: usize = 24;
/// Bytes of a version 1 header before the metadata.
const V1_PREFIX: usize = 16;
/// Bytes covered by `prefix_crc`: magic, version, flags and meta_len.
const FIXED: usize = 16;
/// Bytes of a record before its body.
pub const RECORD_HEAD: usize = 4 + 1 + 8 + 4;
/// Largest body a reader accepts (the decoder's frame cap is 4 MiB; text is smaller).
pub const MAX_BODY: usize = 16 << 20;
/// Largest metadata block a writer writes and a reader accepts.
pub const MAX_META: usize = 1 << 20;
/// Most bytes the resynchronising scan checksums before it gives up, so a hostile file
/// (a record head at every offset, each claiming 16 MiB) costs milliseconds, not hours.
/// A real file's first candidate is its first record.
const SCAN_BUDGET: usize = 4 * MAX_BODY;

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

/// A header field of the version 2 prefix that was found damaged, with what it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamagedField {
    Magic([u8; 8]),
    Version(u16),
    Flags(u16),
    MetaLen {
        stored: u32,
        actual: usize,
    },
    /// The other fields verify against the header checksum: `prefix_crc` itself is hit.
    PrefixChecksum,
}

impl fmt::Display for DamagedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamagedField::Magic(m) => write!(f, "magic (stored \"{}\")", m.escape_ascii()),
            DamagedField::Version(v) => write!(f, "version (stored {v}, is {VERSION})"),
            DamagedField::Flags(x) => write!(f, "flags (stored {x:#06x}, is 0x0000)"),
            DamagedField::MetaLen { stored, actual } => {
                write!(f, "meta_len (stored {stored}, is {actual})")
            }
            DamagedField::PrefixChecksum => f.write_str("prefix_crc itself"),
        }
    }
}

/// What is wrong with a recording's header. The records are read all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The prefix verifies but the header checksum does not: the metadata (or the stored
    /// checksum) is damaged, so the metadata is withheld.
    ChecksumMismatch { stored: u32, computed: u32 },
    /// The metadata is intact (version 2) or unprotected (version 1) but is not JSON.
    MetaNotJson,
    /// The prefix verifies but its `meta_len` is over the cap (never written by a
    /// writer); the records were looked for by scanning.
    MetaTooLong { meta_len: u32 },
    /// The prefix fails its checksum, but the header checksum verifies once `damaged` are
    /// restored (magic, version 2, flags 0, meta_len where the records start): the
    /// metadata is intact.
    PrefixRepaired {
        stored: u32,
        computed: u32,
        damaged: Vec<DamagedField>,
    },
    /// The prefix fails its checksum and so does every restoration of the header: the
    /// metadata is withheld; `records_at` is where the scan found the first record.
    PrefixDamaged {
        stored: u32,
        computed: u32,
        records_at: Option<usize>,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("recording header: ")?;
        match self {
            HeaderError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): \
                 the metadata is damaged and not used"
            ),
            HeaderError::MetaNotJson => f.write_str("metadata is not valid JSON"),
            HeaderError::MetaTooLong { meta_len } => write!(
                f,
                "meta_len {meta_len} over the {} MiB cap; the metadata is not used",
                MAX_META >> 20
            ),
            HeaderError::PrefixRepaired {
                stored,
                computed,
                damaged,
            } => {
                let fields = if damaged.len() == 1 {
                    "field"
                } else {
                    "fields"
                };
                write!(
                    f,
                    "prefix checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): \
                     damaged {fields}: "
                )?;
                for (i, d) in damaged.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("; the metadata is intact (its checksum verifies)")
            }
            HeaderError::PrefixDamaged {
                stored,
                computed,
                records_at,
            } => {
                write!(
                    f,
                    "prefix checksum mismatch (stored {stored:#010x}, computed {computed:#010x}) \
                     and the metadata does not verify, so it is not used; "
                )?;
                match records_at {
                    Some(at) => write!(f, "records found by scanning from byte {at}"),
                    None => f.write_str("no record found after it"),
                }
            }
        }
    }
}

fn checksum(kind: u8, t_ms: u64, body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(&t_ms.to_le_bytes());
    h.update(body);
    h.finalize()
}

/// `header_crc`: over the 16 fixed bytes (magic, version, flags, meta_len) and the metadata.
fn header_checksum(fixed: &[u8], meta: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(fixed);
    h.update(meta);
    h.finalize()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut x = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        x.copy_from_slice(s);
    }
    u16::from_le_bytes(x)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        x.copy_from_slice(s);
    }
    u32::from_le_bytes(x)
}

/// The 16 fixed bytes of a version 2 header.
fn fixed_prefix(magic: &[u8; 8], version: u16, flags: u16, meta_len: u32) -> [u8; FIXED] {
    let mut p = [0u8; FIXED];
    p[..8].copy_from_slice(magic);
    p[8..10].copy_from_slice(&version.to_le_bytes());
    p[10..12].copy_from_slice(&flags.to_le_bytes());
    p[12..16].copy_from_slice(&meta_len.to_le_bytes());
    p
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

/// Encodes the version 2 file header with `meta` (a JSON object).
pub fn encode_header(meta: &serde_json::Value) -> Vec<u8> {
    let meta = meta.to_string();
    let fixed = fixed_prefix(MAGIC, VERSION, 0, meta.len() as u32);
    let mut out = Vec::with_capacity(HEADER_PREFIX + meta.len());
    out.extend_from_slice(&fixed);
    out.extend_from_slice(&crc32fast::hash(&fixed).to_le_bytes());
    out.extend_from_slice(&header_checksum(&fixed, meta.as_bytes()).to_le_bytes());
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
        let header = encode_header(meta);
        if header.len() - HEADER_PREFIX > MAX_META {
            return Err(format!(
                "recording metadata of {} bytes is over the {} MiB cap",
                header.len() - HEADER_PREFIX,
                MAX_META >> 20
            ));
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| format!("cannot create recording {}: {e}", path.display()))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
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
    /// The version the file was read as (a damaged version field reads as 2).
    pub version: u16,
    /// The metadata; `None` when the header is damaged so that it cannot be trusted.
    pub meta: Option<serde_json::Value>,
    /// What is wrong with the header, when something is. `meta` is `Some` only if it
    /// verified; `records` are complete either way.
    pub header_error: Option<HeaderError>,
    pub records: Vec<Record>,
    /// Bytes after the last good record (a torn or corrupt tail), 0 for a clean file.
    pub torn_bytes: usize,
    /// Why reading stopped early, when it did.
    pub torn_reason: Option<&'static str>,
}

/// Reads `path`. A file that is not a recording, of an unsupported version or cut inside
/// its header is an error; a damaged header and a bad tail are reported in the result.
pub fn read(path: &Path) -> Result<Recording, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read recording {}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads only as much of `path` as its header and first record can need, for a warning
/// about the header before something else plays the file.
pub fn read_header(
    path: &Path,
) -> Result<(Option<serde_json::Value>, Option<HeaderError>), String> {
    let limit = (HEADER_PREFIX + MAX_META + RECORD_HEAD + MAX_BODY) as u64;
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read recording {}: {e}", path.display()))?;
    let rec = parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((rec.meta, rec.header_error))
}

/// Parses a recording held in memory.
pub fn parse(bytes: &[u8]) -> Result<Recording, String> {
    let magic_ok = bytes.get(..8) == Some(&MAGIC[..]);
    if magic_ok && bytes.len() >= V1_PREFIX && u16_at(bytes, 8) == 1 {
        return parse_v1(bytes);
    }
    parse_v2(bytes, magic_ok)
}

/// Version 1, read as it always was, except that metadata that is not JSON is reported
/// in `header_error` instead of refusing the whole file.
fn parse_v1(bytes: &[u8]) -> Result<Recording, String> {
    let meta_len = u32_at(bytes, 12) as usize;
    if meta_len > MAX_META || V1_PREFIX + meta_len > bytes.len() {
        return Err("recording header is truncated".into());
    }
    let meta_bytes = bytes
        .get(V1_PREFIX..V1_PREFIX + meta_len)
        .unwrap_or_default();
    let (meta, header_error) = match serde_json::from_slice(meta_bytes) {
        Ok(m) => (Some(m), None),
        Err(_) => (None, Some(HeaderError::MetaNotJson)),
    };
    Ok(finish(1, meta, header_error, bytes, V1_PREFIX + meta_len))
}

fn parse_v2(bytes: &[u8], magic_ok: bool) -> Result<Recording, String> {
    if bytes.len() < HEADER_PREFIX {
        return Err(if magic_ok {
            "recording header is truncated".into()
        } else {
            "not a tikcast recording (bad magic)".into()
        });
    }
    let fixed = bytes.get(..FIXED).unwrap_or_default();
    let version = u16_at(bytes, 8);
    let meta_len = u32_at(bytes, 12);
    let stored_prefix = u32_at(bytes, 16);
    let stored_header = u32_at(bytes, 20);
    let computed_prefix = crc32fast::hash(fixed);
    let unsupported = || {
        format!("recording version {version} is not supported (this build reads versions 1 and {VERSION})")
    };

    if magic_ok && computed_prefix == stored_prefix {
        // The prefix is as written: its version and meta_len are the writer's.
        if version != VERSION {
            return Err(unsupported());
        }
        let len = meta_len as usize;
        if len > MAX_META {
            let at = scan_for_records(bytes).unwrap_or(HEADER_PREFIX);
            return Ok(finish(
                VERSION,
                None,
                Some(HeaderError::MetaTooLong { meta_len }),
                bytes,
                at,
            ));
        }
        let Some(meta_bytes) = bytes.get(HEADER_PREFIX..HEADER_PREFIX + len) else {
            return Err(format!(
                "recording header is truncated (meta_len {len}, but the file ends {} bytes into the metadata)",
                bytes.len() - HEADER_PREFIX
            ));
        };
        let computed = header_checksum(fixed, meta_bytes);
        let (meta, header_error) = if computed != stored_header {
            (
                None,
                Some(HeaderError::ChecksumMismatch {
                    stored: stored_header,
                    computed,
                }),
            )
        } else {
            match serde_json::from_slice(meta_bytes) {
                Ok(m) => (Some(m), None),
                Err(_) => (None, Some(HeaderError::MetaNotJson)),
            }
        };
        return Ok(finish(
            VERSION,
            meta,
            header_error,
            bytes,
            HEADER_PREFIX + len,
        ));
    }

    // Something in the first 20 bytes is damaged, so meta_len cannot be trusted: the
    // header ends where the first record starts (found by scanning), or at the end of a
    // file without records. A file with a wrong magic is not scanned: it is only taken
    // for a damaged recording when, at its stored meta_len, its header verifies with the
    // magic restored.
    let found = if magic_ok {
        scan_for_records(bytes)
    } else {
        None
    };
    let header_end = match (magic_ok, found) {
        (false, _) => HEADER_PREFIX + meta_len as usize,
        (true, Some(at)) => at,
        (true, None) => bytes.len(),
    };
    let repaired = repair_prefix(bytes, header_end);
    match repaired {
        Some((meta_bytes, damaged)) => {
            let (meta, header_error) = match serde_json::from_slice(meta_bytes) {
                Ok(m) => (
                    Some(m),
                    HeaderError::PrefixRepaired {
                        stored: stored_prefix,
                        computed: computed_prefix,
                        damaged,
                    },
                ),
                Err(_) => (None, HeaderError::MetaNotJson),
            };
            Ok(finish(VERSION, meta, Some(header_error), bytes, header_end))
        }
        None if !magic_ok => Err("not a tikcast recording (bad magic)".into()),
        // An unknown version whose prefix does not verify is only taken for a damaged
        // version 2 file when version 2 records were found after it.
        None if version != VERSION && found.is_none() => Err(unsupported()),
        None => Ok(finish(
            VERSION,
            None,
            Some(HeaderError::PrefixDamaged {
                stored: stored_prefix,
                computed: computed_prefix,
                records_at: found,
            }),
            bytes,
            found.unwrap_or(HEADER_PREFIX),
        )),
    }
}

/// When the header ends at `header_end`, the metadata and which prefix fields were
/// damaged, if the header checksum verifies over the prefix with the fields a reader
/// knows restored (magic, version 2, meta_len = `header_end - HEADER_PREFIX`; the stored
/// flags, else 0, the only flags version 2 writes).
fn repair_prefix(bytes: &[u8], header_end: usize) -> Option<(&[u8], Vec<DamagedField>)> {
    let meta_bytes = bytes.get(HEADER_PREFIX..header_end)?;
    if meta_bytes.len() > MAX_META {
        return None;
    }
    let actual = meta_bytes.len() as u32;
    let stored_magic: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let version = u16_at(bytes, 8);
    let flags = u16_at(bytes, 10);
    let meta_len = u32_at(bytes, 12);
    let stored_header = u32_at(bytes, 20);
    let flags_restored = [flags, 0].into_iter().find(|&f| {
        header_checksum(&fixed_prefix(MAGIC, VERSION, f, actual), meta_bytes) == stored_header
    })?;
    let mut damaged = Vec::new();
    if stored_magic != *MAGIC {
        damaged.push(DamagedField::Magic(stored_magic));
    }
    if version != VERSION {
        damaged.push(DamagedField::Version(version));
    }
    if flags != flags_restored {
        damaged.push(DamagedField::Flags(flags));
    }
    if meta_len != actual {
        damaged.push(DamagedField::MetaLen {
            stored: meta_len,
            actual: meta_bytes.len(),
        });
    }
    if damaged.is_empty() {
        damaged.push(DamagedField::PrefixChecksum);
    }
    Some((meta_bytes, damaged))
}

/// Where the records of a version 2 file start when its meta_len cannot be trusted: the
/// first offset from `HEADER_PREFIX` to `HEADER_PREFIX + MAX_META` where a record
/// verifies. Inside intact metadata no offset even looks like a record head (its fourth
/// byte is 0 or 1, as `len` is at most 16 MiB, and JSON text has no byte under 0x20);
/// elsewhere the record checksum decides. Checksumming is capped by `SCAN_BUDGET`.
fn scan_for_records(bytes: &[u8]) -> Option<usize> {
    let mut budget = SCAN_BUDGET;
    for at in HEADER_PREFIX..=HEADER_PREFIX + MAX_META {
        let head = bytes.get(at..at + RECORD_HEAD)?;
        let len = u32_at(head, 0) as usize;
        let kind = head.get(4).copied().and_then(Kind::from_u8);
        // Cheap tests first; the checksum only for a plausible head.
        if len > MAX_BODY || kind.is_none() || at + RECORD_HEAD + len > bytes.len() {
            continue;
        }
        budget = budget.checked_sub(RECORD_HEAD + len)?;
        if record_at(bytes, at).is_ok() {
            return Some(at);
        }
    }
    None
}

/// The record at `at` and where the next one starts, or why there is none.
fn record_at(bytes: &[u8], at: usize) -> Result<(Record, usize), &'static str> {
    let rest = bytes.get(at..).unwrap_or_default();
    let Some(head) = rest.first_chunk::<RECORD_HEAD>() else {
        return Err("short record head");
    };
    let [l0, l1, l2, l3, kind, t @ .., c0, c1, c2, c3] = *head;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let Some(kind) = Kind::from_u8(kind) else {
        return Err("unknown record kind");
    };
    let t_ms = u64::from_le_bytes(t);
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    if len > MAX_BODY {
        return Err("record length over the cap");
    }
    let Some(body) = rest.get(RECORD_HEAD..RECORD_HEAD + len) else {
        return Err("short record body");
    };
    if checksum(kind as u8, t_ms, body) != crc {
        return Err("record checksum mismatch");
    }
    Ok((
        Record {
            kind,
            t_ms,
            body: body.to_vec(),
        },
        at + RECORD_HEAD + len,
    ))
}

/// Reads the records from `at` to the first torn or corrupt one.
fn finish(
    version: u16,
    meta: Option<serde_json::Value>,
    header_error: Option<HeaderError>,
    bytes: &[u8],
    mut at: usize,
) -> Recording {
    let mut records = Vec::new();
    let mut torn_reason = None;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Ok((record, next)) => {
                records.push(record);
                at = next;
            }
            Err(why) => {
                torn_reason = Some(why);
                break;
            }
        }
    }
    Recording {
        version,
        meta,
        header_error,
        records,
        torn_bytes: bytes.len().saturating_sub(at),
        torn_reason,
    }
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
    use serde_json::json;

    fn sample_meta() -> serde_json::Value {
        json!({
            "uniqueId": "ada.lovelace",
            "startedAtMs": 1_764_500_000_000i64,
            "upstream": "mock",
            "recorder": "tikcast 0.1.0",
        })
    }

    fn sample_records() -> Vec<Record> {
        vec![
            Record {
                kind: Kind::Text,
                t_ms: 0,
                body: b"{\"type\":\"roomInfo\"}".to_vec(),
            },
            Record {
                kind: Kind::Frame,
                t_ms: 5,
                body: vec![1, 2, 3],
            },
            Record {
                kind: Kind::Frame,
                t_ms: 9,
                body: vec![4; 100],
            },
        ]
    }

    fn with_records(mut b: Vec<u8>, records: &[Record]) -> Vec<u8> {
        for r in records {
            b.extend(encode_record(r.kind, r.t_ms, &r.body));
        }
        b
    }

    fn sample() -> Vec<u8> {
        with_records(encode_header(&sample_meta()), &sample_records())
    }

    /// A version 1 file, laid out by hand as version 1 writers wrote it.
    fn v1_file(meta: &[u8], records: &[Record]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        b.extend_from_slice(meta);
        with_records(b, records)
    }

    #[test]
    fn round_trip() {
        let r = parse(&sample()).unwrap();
        assert_eq!(r.version, 2);
        assert_eq!(r.records, sample_records());
        assert_eq!((r.torn_bytes, r.torn_reason), (0, None));
        assert_eq!(r.meta, Some(sample_meta()));
        assert_eq!(r.header_error, None);
        let header = encode_header(&sample_meta());
        assert_eq!(&header[..8], MAGIC);
        assert_eq!(u16_at(&header, 8), 2);
        assert_eq!(header.len(), HEADER_PREFIX + u32_at(&header, 12) as usize);
    }

    #[test]
    fn every_truncation_keeps_the_good_prefix() {
        let full = sample();
        let last_start = full.len() - (RECORD_HEAD + 100);
        for cut in last_start..full.len() {
            let r = parse(&full[..cut]).unwrap();
            assert_eq!(r.records.len(), 2, "cut at {cut}");
            assert_eq!(r.torn_bytes, cut - last_start);
            assert_eq!(r.header_error, None);
        }
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let r = parse(&flipped).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.torn_reason, Some("record checksum mismatch"));
        // Cut inside the header: nothing to play, an error.
        let header_len = encode_header(&sample_meta()).len();
        for cut in 8..header_len {
            let e = parse(&full[..cut]).unwrap_err();
            assert!(e.contains("truncated"), "cut at {cut}: {e}");
        }
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(
            parse(b"nope").unwrap_err(),
            "not a tikcast recording (bad magic)"
        );
        let mut not_ours = vec![0u8; 4096];
        not_ours[..8].copy_from_slice(b"GIF89a\0\0");
        assert_eq!(
            parse(&not_ours).unwrap_err(),
            "not a tikcast recording (bad magic)"
        );
        // A later version (its prefix verifies) is refused, not guessed at.
        let mut v3 = sample();
        v3[8] = 3;
        let prefix_crc = crc32fast::hash(&v3[..16]).to_le_bytes();
        v3[16..20].copy_from_slice(&prefix_crc);
        assert_eq!(
            parse(&v3).unwrap_err(),
            "recording version 3 is not supported (this build reads versions 1 and 2)"
        );
        // So is one whose prefix does not verify and that has no version 2 records.
        let mut v9 = v3[..HEADER_PREFIX + 40].to_vec();
        v9[8] = 9;
        v9.extend_from_slice(&[0xee; 64]);
        assert!(parse(&v9)
            .unwrap_err()
            .contains("version 9 is not supported"));
    }

    /// The finding of issue 16: every single-bit flip in the header (prefix and
    /// metadata) of a version 2 file is reported, names the damaged part, keeps every
    /// record, and never yields metadata other than what was written.
    #[test]
    fn every_bit_flip_in_the_header_is_named_and_keeps_the_records() {
        for records in [sample_records(), Vec::new()] {
            let meta = sample_meta();
            let header = encode_header(&meta);
            let file = with_records(header.clone(), &records);
            let meta_len = header.len() - HEADER_PREFIX;
            let (mut unreadable, mut records_lost, mut unreported, mut meta_changed) = (0, 0, 0, 0);
            let mut misnamed = Vec::new();
            for bit in 0..header.len() * 8 {
                let mut b = file.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                let r = match parse(&b) {
                    Ok(r) => r,
                    Err(_) => {
                        unreadable += 1;
                        continue;
                    }
                };
                if r.records != records || r.torn_bytes != 0 {
                    records_lost += 1;
                }
                let Some(e) = &r.header_error else {
                    unreported += 1;
                    continue;
                };
                if r.meta.as_ref().is_some_and(|m| *m != meta) {
                    meta_changed += 1;
                }
                // What the report must say, by where the flip is.
                let text = e.to_string();
                let named = match (bit / 8, e) {
                    (0..=7, HeaderError::PrefixRepaired { damaged, .. }) => {
                        matches!(damaged[..], [DamagedField::Magic(_)]) && text.contains("magic")
                    }
                    (8..=9, HeaderError::PrefixRepaired { damaged, .. }) => {
                        matches!(damaged[..], [DamagedField::Version(_)])
                            && text.contains("version (stored")
                    }
                    (10..=11, HeaderError::PrefixRepaired { damaged, .. }) => {
                        matches!(damaged[..], [DamagedField::Flags(_)]) && text.contains("flags")
                    }
                    (12..=15, HeaderError::PrefixRepaired { damaged, .. }) => {
                        matches!(damaged[..], [DamagedField::MetaLen { actual, .. }] if actual == meta_len)
                            && text.contains(&format!(
                                "meta_len (stored {}, is {meta_len})",
                                u32_at(&b, 12)
                            ))
                    }
                    (16..=19, HeaderError::PrefixRepaired { damaged, .. }) => {
                        damaged[..] == [DamagedField::PrefixChecksum]
                    }
                    (20.., HeaderError::ChecksumMismatch { .. }) => {
                        text.contains("checksum mismatch") && r.meta.is_none()
                    }
                    _ => false,
                };
                // Where only the prefix was hit, the metadata is proven intact.
                let meta_kept = bit / 8 >= 20 || r.meta.as_ref() == Some(&meta);
                if !(named && meta_kept) {
                    misnamed.push((bit, text));
                }
            }
            assert_eq!(
                (unreadable, records_lost, unreported, meta_changed),
                (0, 0, 0, 0),
                "of {} flips ({} records): unreadable, records lost, unreported, metadata changed",
                header.len() * 8,
                records.len()
            );
            assert!(misnamed.is_empty(), "{misnamed:#?}");
        }
    }

    #[test]
    fn meta_len_over_the_cap_is_reported_and_the_records_found() {
        let mut b = sample();
        b[12..16].copy_from_slice(&((MAX_META + 1) as u32).to_le_bytes());
        let prefix_crc = crc32fast::hash(&b[..16]).to_le_bytes();
        b[16..20].copy_from_slice(&prefix_crc);
        let r = parse(&b).unwrap();
        assert_eq!(
            r.header_error.as_ref().map(|e| e.to_string()).as_deref(),
            Some("recording header: meta_len 1048577 over the 1 MiB cap; the metadata is not used")
        );
        assert_eq!((r.meta, r.records), (None, sample_records()));
    }

    #[test]
    fn a_damaged_prefix_and_metadata_still_give_the_records() {
        let mut b = sample();
        b[13] ^= 0x40; // meta_len
        b[30] ^= 0x01; // and the metadata
        let r = parse(&b).unwrap();
        assert_eq!(r.records, sample_records());
        assert_eq!(r.meta, None);
        let at = encode_header(&sample_meta()).len();
        assert!(
            matches!(r.header_error, Some(HeaderError::PrefixDamaged { records_at: Some(a), .. }) if a == at),
            "{:?}",
            r.header_error
        );
    }

    /// A hostile file with a damaged prefix and a plausible record head at every offset,
    /// each claiming a 16 MiB body: the scan gives up after its budget instead of
    /// checksumming terabytes.
    #[test]
    fn the_resync_scan_is_bounded() {
        let mut b = sample()[..HEADER_PREFIX].to_vec();
        b[16] ^= 1;
        let mut head = (MAX_BODY as u32).to_le_bytes().to_vec();
        head.push(1);
        while b.len() < HEADER_PREFIX + MAX_META + RECORD_HEAD + MAX_BODY {
            b.extend_from_slice(&head);
        }
        let started = Instant::now();
        let r = parse(&b).unwrap();
        assert!(r.records.is_empty());
        assert!(matches!(
            r.header_error,
            Some(HeaderError::PrefixDamaged {
                records_at: None,
                ..
            })
        ));
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_version_1_file_still_reads() {
        let meta = br#"{"uniqueId":"a","upstream":"mock"}"#;
        let r = parse(&v1_file(meta, &sample_records())).unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.meta, Some(json!({"uniqueId":"a","upstream":"mock"})));
        assert_eq!(r.header_error, None);
        assert_eq!(r.records, sample_records());
        assert_eq!((r.torn_bytes, r.torn_reason), (0, None));
        // A torn tail reads as before.
        let mut torn = v1_file(meta, &sample_records());
        torn.truncate(torn.len() - 7);
        let r = parse(&torn).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(
            (r.torn_bytes, r.torn_reason),
            (RECORD_HEAD + 93, Some("short record body"))
        );
        // Version 1 has no checksum: metadata that is no longer JSON is reported, and
        // the records are still read.
        let r = parse(&v1_file(b"{\"uniqueId\":\"a\"", &sample_records())).unwrap();
        assert_eq!(r.header_error, Some(HeaderError::MetaNotJson));
        assert_eq!((r.meta, r.records), (None, sample_records()));
        assert_eq!(
            parse(&v1_file(meta, &[])[..20]).unwrap_err(),
            "recording header is truncated"
        );
    }

    #[test]
    fn names_are_safe() {
        assert_eq!(file_name("../a b", 5, 1), ".._a_b-5-1.tkrec");
    }
}
