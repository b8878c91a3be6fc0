//! What a close code means and how long to wait before the next attempt.

use alloc::vec;
use alloc::vec::Vec;

/// How a close code is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum CloseClass {
    /// The request itself is wrong (bad options, bad credential, no permission): retrying
    /// cannot help, so the session gives up with a typed reason.
    Terminal,
    /// The creator is not live or the stream ended: retry slowly (or stop, if asked).
    Waiting,
    /// Too many connections: back off for long, honouring a retry-after hint.
    Throttled,
    /// Everything else (1006 abnormal, 1011, 4500, 4006, liveness timeouts, ...):
    /// exponential backoff with full jitter.
    Transient,
}

/// Reconnect rules by close-code class. Every field is configurable; see
/// [`ReconnectPolicy::default`] for the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Default 4400 (invalid options), 4401 (invalid auth), 4403 (no permission).
    pub terminal_codes: Vec<u16>,
    /// Default 4404 (not live), 4005 (stream ended).
    pub waiting_codes: Vec<u16>,
    /// Default 4429 (too many connections).
    pub throttled_codes: Vec<u16>,
    /// Wait between attempts while the creator is offline. Default 60 s.
    pub waiting_delay_ms: u64,
    /// Give up instead of waiting when the creator is offline or the stream ends.
    /// Default false.
    pub stop_when_offline: bool,
    /// First throttled wait, doubled per consecutive failure. Default 30 s.
    pub throttled_base_ms: u64,
    /// Longest throttled wait (a larger retry-after hint still wins). Default 10 min.
    pub throttled_cap_ms: u64,
    /// Transient backoff ceiling for the first retry, doubled per consecutive failure.
    /// Default 1 s.
    pub transient_base_ms: u64,
    /// Largest transient ceiling. Default 30 s.
    pub transient_cap_ms: u64,
    /// Reconnect at once (fetching a fresh credential: `Output::Connect` asks for one)
    /// when a connection that delivered messages is closed with 4401 and a reason that
    /// says the token expired: a relay ends sockets whose short-lived token runs out. A
    /// 4401 on a connection that never delivered stays terminal. Default true.
    pub reauth_on_expiry: bool,
    /// Give up at once with `unreachable` when the session's first socket closes before
    /// it ever opened (connection refused, no route, a handshake the server refused such
    /// as HTTP 403 for the page's origin, or the connect timeout): that is almost always
    /// a wrong URL or a server that refuses this client, and retrying only delays the
    /// error. Once a socket has opened, drops are retried as usual. Default false (the
    /// browser SDK turns it on).
    pub fail_fast: bool,
    /// Consecutive transient or throttled failures allowed before giving up; `None`
    /// retries forever. The count resets once a connection delivers a message frame.
    /// Default 10.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            terminal_codes: vec![4400, 4401, 4403],
            waiting_codes: vec![4404, 4005],
            throttled_codes: vec![4429],
            waiting_delay_ms: 60_000,
            stop_when_offline: false,
            throttled_base_ms: 30_000,
            throttled_cap_ms: 600_000,
            transient_base_ms: 1_000,
            transient_cap_ms: 30_000,
            reauth_on_expiry: true,
            fail_fast: false,
            max_attempts: Some(10),
        }
    }
}

impl ReconnectPolicy {
    /// The class of a close code.
    pub fn classify(&self, code: u16) -> CloseClass {
        if self.terminal_codes.contains(&code) {
            CloseClass::Terminal
        } else if self.waiting_codes.contains(&code) {
            CloseClass::Waiting
        } else if self.throttled_codes.contains(&code) {
            CloseClass::Throttled
        } else {
            CloseClass::Transient
        }
    }

    /// The wait before retry number `failures` (1 for the first retry) of `class`.
    /// Transient: uniform in `0..=min(cap, base * 2^(failures-1))` (full jitter).
    /// Throttled: `max(hint, min(cap, base * 2^(failures-1)))` plus up to a quarter more,
    /// so that many throttled clients do not come back in step. Waiting: fixed.
    /// Terminal: never retried, returns 0.
    pub fn delay_ms(
        &self,
        class: CloseClass,
        failures: u32,
        retry_after_ms: Option<u64>,
        jitter: &mut Jitter,
    ) -> u64 {
        match class {
            CloseClass::Terminal => 0,
            CloseClass::Waiting => self.waiting_delay_ms,
            CloseClass::Throttled => {
                let base = exponential(self.throttled_base_ms, self.throttled_cap_ms, failures);
                let wait = base.max(retry_after_ms.unwrap_or(0));
                wait.saturating_add(jitter.up_to(wait / 4))
            }
            CloseClass::Transient => jitter.up_to(exponential(
                self.transient_base_ms,
                self.transient_cap_ms,
                failures,
            )),
        }
    }
}

fn exponential(base: u64, cap: u64, failures: u32) -> u64 {
    let shift = failures.saturating_sub(1).min(40);
    base.saturating_mul(1u64 << shift).min(cap)
}

/// True when a close reason says the credential expired (`token expired`, `jwt
/// expired`, `expired token`, any case).
pub fn says_expired(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    lower.contains("expired") && (lower.contains("token") || lower.contains("jwt"))
}

/// Reads a retry-after hint from a close reason: the number after "retry-after",
/// "retry_after", "retryAfter" or "retry after" (`retry-after: 120`, `retryAfter=120`,
/// `retry after 90s`), in seconds, or in milliseconds when followed by `ms`. Hints
/// above one day are ignored as bogus.
pub fn retry_after_ms(reason: &str) -> Option<u64> {
    let lower = reason.to_ascii_lowercase();
    let at = lower.find("retry")?;
    let rest = lower.get(at + 5..)?.trim_start_matches(['-', '_', ' ']);
    let rest = rest
        .strip_prefix("after")?
        .trim_start_matches([':', '=', ' ']);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let value: u64 = rest.get(..end)?.parse().ok()?;
    let unit = rest.get(end..).unwrap_or("").trim_start();
    let ms = if unit.starts_with("ms") {
        value
    } else {
        value.checked_mul(1000)?
    };
    (ms <= 86_400_000).then_some(ms)
}

/// A small seeded generator (SplitMix64) for backoff jitter: deterministic for a given
/// seed, so tests can pin every delay; drivers seed it from a real random source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        let span = u128::from(max) + 1;
        ((u128::from(self.next_u64()) * span) >> 64) as u64
    }
}
