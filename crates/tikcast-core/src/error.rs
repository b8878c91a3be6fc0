//! The decoder's one error type. Messages are lowercase and say what was wrong; they
//! never contain payload bytes, so nothing secret from the wire ends up in a log line.

use core::fmt;

/// Why a frame, batch or message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The protobuf of `what` is malformed (truncated, bad wire type, varint overflow, too deep).
    Protobuf {
        what: &'static str,
        reason: alloc::string::String,
    },
    /// The gzip wrapper or deflate stream is malformed.
    Gzip(&'static str),
    /// Inflating would exceed the configured cap.
    InflatedTooLarge { cap: usize },
    /// The input is larger than the configured cap.
    TooLarge {
        what: &'static str,
        len: usize,
        cap: usize,
    },
    /// The input holds more parts (gzip members, messages) than the configured cap.
    TooMany { what: &'static str, cap: usize },
    /// Decoding the input would take more memory than the configured budget allows
    /// (see [`crate::DecodeOptions::max_expansion`]).
    TooExpensive { what: &'static str, cap: usize },
    /// The frame names a compression we do not implement.
    UnsupportedCompression(alloc::string::String),
}

impl DecodeError {
    /// A stable machine-readable code for the error class (used by the JS layer).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Protobuf { .. } => "protobuf",
            DecodeError::Gzip(_) => "gzip",
            DecodeError::InflatedTooLarge { .. } => "inflated_too_large",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::TooMany { .. } => "too_many",
            DecodeError::TooExpensive { .. } => "too_expensive",
            DecodeError::UnsupportedCompression(_) => "unsupported_compression",
        }
    }

    pub(crate) fn protobuf(what: &'static str, err: prost::DecodeError) -> Self {
        use alloc::string::ToString;
        DecodeError::Protobuf {
            what,
            reason: err.to_string(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Protobuf { what, reason } => {
                // prost's text starts with "failed to decode Protobuf message: "; keep only the
                // cause. Its text is ASCII: ASCII lowercasing keeps Unicode's case tables
                // (about 7 kB gzip) out of the wasm build.
                let reason = reason
                    .strip_prefix("failed to decode Protobuf message: ")
                    .unwrap_or(reason);
                write!(
                    f,
                    "{what}: malformed protobuf ({})",
                    reason.to_ascii_lowercase()
                )
            }
            DecodeError::Gzip(why) => write!(f, "gzip: {why}"),
            DecodeError::InflatedTooLarge { cap } => {
                write!(
                    f,
                    "gzip: output exceeds {} cap; raise max_inflated if this is legitimate",
                    human(*cap)
                )
            }
            DecodeError::TooLarge { what, len, cap } => {
                write!(f, "{what}: {len} bytes exceeds {} cap", human(*cap))
            }
            DecodeError::TooMany { what, cap } => {
                write!(
                    f,
                    "too many {what}: more than {cap}; real traffic stays far below this cap"
                )
            }
            DecodeError::TooExpensive { what, cap } => write!(
                f,
                "{what}: decoding would need more than {} of memory; real traffic stays far below this cap",
                human(*cap)
            ),
            DecodeError::UnsupportedCompression(name) => {
                // Printable ASCII only: the name comes from the wire and ends up in logs
                // (and `{:?}`'s escaping would pull 3 kB of Unicode tables into the wasm).
                f.write_str("frame: unsupported compress_type \"")?;
                for c in truncate(name, 32).chars() {
                    let ok = c == ' ' || c.is_ascii_graphic();
                    fmt::Write::write_char(f, if ok { c } else { '?' })?;
                }
                f.write_str("\"; only gzip and none are known")
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

struct Human(usize);

fn human(bytes: usize) -> Human {
    Human(bytes)
}

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1024 * 1024 && b % (1024 * 1024) == 0 {
            write!(f, "{} MiB", b / (1024 * 1024))
        } else if b >= 1024 && b % 1024 == 0 {
            write!(f, "{} KiB", b / 1024)
        } else {
            write!(f, "{b} bytes")
        }
    }
}

impl core::error::Error for DecodeError {}
