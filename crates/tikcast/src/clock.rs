//! Wall-clock time for stamps that leave the process (recordings' `startedAtMs`, webhook
//! event times, the mock's frames), shared by the relay, `record` and the mock. Timers
//! use `tokio::time` / `Instant` instead.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
