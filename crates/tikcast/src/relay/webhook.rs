//! Webhooks: `live.start` and `live.end` of the rooms the relay has open (because a
//! viewer watches them, or `--watch NAME`), POSTed to every `--webhook URL`.
//!
//! * **Detection.** A room goes live when its upstream describes it (connect success,
//!   the first `roomInfo`); it ends when the upstream says so: closed with 4404 (not live
//!   any more) or 4005 (stream end, also a control stream-end message). A room closed for
//!   another reason (no viewers left, relay shutdown, upstream failure, 4006 idle) did
//!   not end: no `live.end`. The hub calls [`Notes::live`] and [`Notes::ended`]; the
//!   session totals come from the room's events ([`Totals::observe`]).
//! * **At least once.** Each event is written to a SQLite file ([`Queue`], `rusqlite`
//!   bundled, WAL, `synchronous=FULL`) before any attempt, one row per (event, url),
//!   and marked delivered on a 2xx answer only, so a crash or SIGKILL at any point loses
//!   nothing: the next start delivers what is pending. Failed attempts are retried with
//!   exponential backoff (`--webhook-backoff-ms`, doubling, at most an hour) and jitter
//!   (each delay drawn from its upper half) until `--webhook-retry-for` (24 h) after the
//!   event.
//! * **Idempotency.** An event's id is derived from its type, handle and room id (a
//!   random one when the room id is unknown), sent as `Tikcast-Event-Id` and
//!   `Idempotency-Key` and in the body's `id`; seeing the same live room again (a viewer
//!   reopening it, a relay restart) makes the same id, which the queue keeps once.
//! * **Signature.** `Tikcast-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is
//!   HMAC-SHA256 of `t + "." + body` with the secret from `--webhook-secret-env VAR`
//!   (`t` is the time of the attempt, so receivers can refuse stale replays). The secret
//!   is never logged; logs name a webhook by its host only (a URL may hold a key).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::event_text::{EventText, Figures};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, Notify};

use super::http_client;
use crate::clock::now_ms;

/// Longest wait between two attempts.
/// The events [`Totals`] counts: a relay with webhooks decodes them even when no JSON
/// viewer asks for them (`Hub::wanted_events`).
pub(crate) const TOTALS_NEED: &[&str] = &["chat", "like", "gift", "roomUser"];

const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long one attempt may take (connect, send, answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts in flight at once.
const PARALLEL: usize = 8;
/// Delivered and abandoned rows are kept this long (so a replayed event stays deduplicated).
const KEEP_DONE_MS: i64 = 7 * 86_400 * 1000;
/// Shortest accepted secret, in bytes.
const MIN_SECRET: usize = 16;

/// What a room's upstream told the relay about the session, for `live.end`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Likes in the like events the relay saw.
    pub(crate) likes: u64,
    /// TikTok's running like total of the room (the largest seen).
    pub(crate) total_likes: Option<u64>,
    /// Gifts (a streak of N counts N).
    pub(crate) gifts: u64,
    /// Diamonds of those gifts.
    pub(crate) diamonds: u64,
    pub(crate) chats: u64,
    /// The largest viewer count seen.
    pub(crate) viewer_peak: Option<u64>,
    /// TikTok's cumulative viewers of the stream (the largest seen).
    pub(crate) total_viewers: Option<u64>,
}

impl Totals {
    /// Adds a batch of session events (one `gift` per finished streak, as the session
    /// emits them).
    pub(crate) fn observe(&mut self, events: &[EventText]) {
        let max = |slot: &mut Option<u64>, v: i64| {
            let v = v.max(0) as u64;
            *slot = Some(slot.map_or(v, |s| s.max(v)));
        };
        for e in events {
            match e.figures {
                Figures::Chat => self.chats += 1,
                Figures::Like { count, total } => {
                    self.likes = self.likes.saturating_add(count.max(0) as u64);
                    max(&mut self.total_likes, total);
                }
                Figures::Gift { repeat, diamonds } => {
                    let n = repeat.max(1) as u64;
                    self.gifts = self.gifts.saturating_add(n);
                    self.diamonds = self
                        .diamonds
                        .saturating_add(n.saturating_mul(diamonds.max(0) as u64));
                }
                Figures::RoomUser { viewers, total } => {
                    max(&mut self.viewer_peak, viewers);
                    max(&mut self.total_viewers, total);
                }
                Figures::None => {}
            }
        }
    }
}

/// What the hub reports about a room.
pub(crate) enum Note {
    Live {
        unique_id: String,
        info: serde_json::Map<String, serde_json::Value>,
        at_ms: i64,
    },
    Ended {
        unique_id: String,
        info: serde_json::Map<String, serde_json::Value>,
        live_at_ms: i64,
        at_ms: i64,
        code: u16,
        totals: Totals,
    },
}

/// The hub's side: reports go to the webhook task through an unbounded channel (the
/// hub calls under its locks and must not wait).
#[derive(Clone)]
pub(crate) struct Notes {
    tx: mpsc::UnboundedSender<Note>,
}

impl Notes {
    pub(crate) fn live(&self, unique_id: &str, info: &serde_json::Map<String, serde_json::Value>) {
        let _ = self.tx.send(Note::Live {
            unique_id: unique_id.to_string(),
            info: info.clone(),
            at_ms: now_ms(),
        });
    }

    pub(crate) fn ended(
        &self,
        unique_id: &str,
        info: &serde_json::Map<String, serde_json::Value>,
        live_at_ms: i64,
        code: u16,
        totals: Totals,
    ) {
        let _ = self.tx.send(Note::Ended {
            unique_id: unique_id.to_string(),
            info: info.clone(),
            live_at_ms,
            at_ms: now_ms(),
            code,
            totals,
        });
    }
}

/// Whether a room ended with `code` is over (rather than closed by the relay).
pub(crate) fn ends_the_stream(code: u16) -> bool {
    matches!(code, 4404 | 4005)
}

/// The resolved `--webhook*` settings and the open queue.
pub(crate) struct Webhooks {
    pub(crate) urls: Vec<String>,
    secret: Vec<u8>,
    pub(crate) queue: Arc<Queue>,
    /// First retry delay; each later one doubles (plus jitter).
    pub(crate) backoff: Duration,
    /// Attempts stop this long after the event.
    pub(crate) retry_for: Duration,
}

impl Webhooks {
    /// Checks the URLs, reads the secret from the environment variable `secret_env` and
    /// opens (or creates) the queue at `db`: every mistake here stops the start.
    pub(crate) fn new(
        urls: Vec<String>,
        secret_env: Option<&str>,
        db: &Path,
        backoff: Duration,
        retry_for: Duration,
    ) -> Result<Webhooks, String> {
        for url in &urls {
            http_client::parse_url(url).map_err(|e| format!("--webhook: {e}"))?;
        }
        let var = secret_env.ok_or(
            "--webhook needs a signing secret: --webhook-secret-env VAR (the name of an environment variable holding it)",
        )?;
        let secret = secret_from_env(var).map_err(|e| format!("--webhook-secret-env {e}"))?;
        if backoff.is_zero() {
            return Err("--webhook-backoff-ms must be at least 1".into());
        }
        Ok(Webhooks {
            urls,
            secret,
            queue: Arc::new(Queue::open(db)?),
            backoff,
            retry_for,
        })
    }
}

/// The secret in the environment variable `var` (the error names the variable, never a value).
fn secret_from_env(var: &str) -> Result<Vec<u8>, String> {
    let secret = std::env::var(var)
        .map_err(|_| format!("{var}: that environment variable is not set (or not utf-8)"))?;
    if secret.len() < MIN_SECRET {
        return Err(format!(
            "{var}: the secret must be at least {MIN_SECRET} bytes"
        ));
    }
    Ok(secret.into_bytes())
}

/// `t=…,v1=…` for `body` sent at unix second `t`.
pub(crate) fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// An event's id: derived from what identifies it when the room id is known (the same
/// live room makes the same id), else random.
fn event_id(kind: &str, unique_id: &str, room_id: Option<&str>) -> String {
    match room_id {
        Some(room) => {
            let digest = Sha256::digest(format!("{kind}\n{unique_id}\n{room}").as_bytes());
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("evt_{hex}")
        }
        None => format!(
            "evt_{}",
            super::mint::random_id()
                .unwrap_or_else(|_| format!("{:024x}", super::random_seed()))
                .get(..24)
                .unwrap_or_default()
        ),
    }
}

/// A room id from a room description: a string or a number, not empty or zero.
fn room_id(info: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    match info.get("roomId").or_else(|| info.get("room_id"))? {
        serde_json::Value::String(s) if !s.is_empty() && s != "0" => Some(s.clone()),
        serde_json::Value::Number(n) if n.as_u64().is_some_and(|n| n > 0) => Some(n.to_string()),
        _ => None,
    }
}

/// When the stream started, in unix ms, when the description says (`startedAt` in ms,
/// or TikTok's `create_time`/`createTime` in seconds).
fn started_ms(info: &serde_json::Map<String, serde_json::Value>) -> Option<i64> {
    if let Some(ms) = info.get("startedAt").and_then(|v| v.as_i64()) {
        return Some(ms);
    }
    info.get("createTime")
        .or_else(|| info.get("create_time"))
        .and_then(|v| v.as_i64())
        .map(|s| s.saturating_mul(1000))
}

/// The event (id, type, body) a note becomes.
fn event(note: &Note) -> (String, &'static str, String) {
    let common = |unique_id: &str, info: &serde_json::Map<String, serde_json::Value>| {
        serde_json::json!({
            "uniqueId": unique_id,
            "roomId": room_id(info),
            "title": info.get("title").and_then(|t| t.as_str()),
        })
    };
    let (kind, unique_id, info, created, data) = match note {
        Note::Live {
            unique_id,
            info,
            at_ms,
        } => {
            let mut data = common(unique_id, info);
            data["startedAt"] = started_ms(info).unwrap_or(*at_ms).into();
            data["detectedAt"] = (*at_ms).into();
            ("live.start", unique_id, info, *at_ms, data)
        }
        Note::Ended {
            unique_id,
            info,
            live_at_ms,
            at_ms,
            code,
            totals,
        } => {
            let mut data = common(unique_id, info);
            let started = started_ms(info).unwrap_or(*live_at_ms);
            data["startedAt"] = started.into();
            data["endedAt"] = (*at_ms).into();
            data["durationSeconds"] = ((at_ms - started).max(0) / 1000).into();
            data["reason"] = if *code == 4404 {
                "not live"
            } else {
                "stream end"
            }
            .into();
            data["closeCode"] = (*code).into();
            data["viewerPeak"] = totals.viewer_peak.into();
            data["totalViewers"] = totals.total_viewers.into();
            data["likes"] = totals.likes.into();
            data["totalLikes"] = totals.total_likes.into();
            data["gifts"] = totals.gifts.into();
            data["diamonds"] = totals.diamonds.into();
            data["chats"] = totals.chats.into();
            ("live.end", unique_id, info, *at_ms, data)
        }
    };
    let id = event_id(kind, unique_id, room_id(info).as_deref());
    let body = serde_json::json!({
        "id": id,
        "type": kind,
        "createdAt": created,
        "data": data,
    });
    (id, kind, body.to_string())
}

/// One (event, url) waiting for a successful attempt.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    row: i64,
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) url: String,
    pub(crate) body: String,
    pub(crate) created_ms: i64,
    pub(crate) attempts: i64,
}

/// The delivery queue: one SQLite table of (event, url) rows.
pub(crate) struct Queue {
    conn: Mutex<Connection>,
}

impl Queue {
    pub(crate) fn open(path: &Path) -> Result<Queue, String> {
        let fail = |e: rusqlite::Error| format!("webhook queue {}: {e}", path.display());
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS deliveries (
                 row INTEGER PRIMARY KEY,
                 event_id TEXT NOT NULL,
                 event_type TEXT NOT NULL,
                 url TEXT NOT NULL,
                 body TEXT NOT NULL,
                 created_ms INTEGER NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 next_at_ms INTEGER NOT NULL,
                 state TEXT NOT NULL DEFAULT 'pending',
                 last_error TEXT,
                 done_ms INTEGER,
                 UNIQUE (event_id, url)
             );
             CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at_ms);",
        )
        .map_err(fail)?;
        Ok(Queue {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `body` for every url; an (event, url) already known is kept as it is.
    /// Returns how many rows are new.
    pub(crate) fn enqueue(
        &self,
        event_id: &str,
        event_type: &str,
        body: &str,
        urls: &[String],
        now_ms: i64,
    ) -> Result<usize, String> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        let mut added = 0;
        for url in urls {
            added += tx
                .execute(
                    "INSERT OR IGNORE INTO deliveries (event_id, event_type, url, body, created_ms, next_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![event_id, event_type, url, body, now_ms],
                )
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(added)
    }

    /// Rows due at `now_ms`, oldest first.
    pub(crate) fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Pending>, String> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT row, event_id, event_type, url, body, created_ms, attempts FROM deliveries
                 WHERE state = 'pending' AND next_at_ms <= ?1 ORDER BY next_at_ms, row LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map(params![now_ms, limit as i64], |r| {
                Ok(Pending {
                    row: r.get(0)?,
                    event_id: r.get(1)?,
                    event_type: r.get(2)?,
                    url: r.get(3)?,
                    body: r.get(4)?,
                    created_ms: r.get(5)?,
                    attempts: r.get(6)?,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// When the next pending row is due (`None`: nothing pending).
    pub(crate) fn next_due(&self) -> Result<Option<i64>, String> {
        self.conn()
            .query_row(
                "SELECT MIN(next_at_ms) FROM deliveries WHERE state = 'pending'",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| e.to_string())
    }

    fn finish(&self, row: i64, state: &str, attempts: i64, error: Option<&str>, now_ms: i64) {
        let r = self.conn().execute(
            "UPDATE deliveries SET state = ?2, attempts = ?3, last_error = ?4, done_ms = ?5 WHERE row = ?1",
            params![row, state, attempts, error, now_ms],
        );
        if let Err(e) = r {
            eprintln!("relay: webhook queue: cannot record an attempt: {e}");
        }
    }

    fn retry_at(&self, row: i64, attempts: i64, next_at_ms: i64, error: &str) {
        let r = self.conn().execute(
            "UPDATE deliveries SET attempts = ?2, next_at_ms = ?3, last_error = ?4 WHERE row = ?1",
            params![row, attempts, next_at_ms, error],
        );
        if let Err(e) = r {
            eprintln!("relay: webhook queue: cannot record an attempt: {e}");
        }
    }

    /// Forgets delivered and abandoned rows finished before `before_ms`.
    fn prune(&self, before_ms: i64) {
        let _ = self.conn().execute(
            "DELETE FROM deliveries WHERE state != 'pending' AND done_ms < ?1",
            params![before_ms],
        );
    }

    /// (state, attempts) of every row of `event_id`, for tests.
    #[cfg(test)]
    fn states(&self, event_id: &str) -> Vec<(String, i64)> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT state, attempts FROM deliveries WHERE event_id = ?1 ORDER BY row")
            .unwrap();
        st.query_map(params![event_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

/// The delay before attempt `attempts + 1` after `attempts` failures: `base` doubled per
/// failure, capped at [`MAX_BACKOFF`], then drawn uniformly from its upper half
/// (`jitter` in [0, 1)).
pub(crate) fn backoff(base: Duration, attempts: i64, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 40) as u32;
    let full = base
        .checked_mul(1u32 << exp.min(31))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) from the operating system (a fixed 0.5 if it gives none).
fn jitter() -> f64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    match ring::rand::SystemRandom::new().fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

/// The host of a webhook URL, for logs.
fn host_of(url: &str) -> String {
    http_client::parse_url(url)
        .map(|t| format!("{}:{}", t.host, t.port))
        .unwrap_or_else(|_| "?".into())
}

/// One signed POST of `body`; `Ok` on a 2xx answer, else why not.
pub(crate) async fn post_signed(
    url: &str,
    secret: &[u8],
    event_id: &str,
    event_type: &str,
    body: &str,
    attempt: i64,
) -> Result<u16, String> {
    let t = now_ms() / 1000;
    let sig = signature(secret, t, body.as_bytes());
    let attempt = attempt.to_string();
    let headers = [
        ("tikcast-signature", sig.as_str()),
        ("tikcast-event", event_type),
        ("tikcast-event-id", event_id),
        ("idempotency-key", event_id),
        ("tikcast-delivery-attempt", attempt.as_str()),
    ];
    let answer = http_client::post(
        url,
        &headers,
        "application/json",
        body.as_bytes(),
        ATTEMPT_TIMEOUT,
    )
    .await?;
    if (200..300).contains(&answer.status) {
        Ok(answer.status)
    } else {
        Err(format!("answered {}", answer.status))
    }
}

/// Starts the webhook tasks: events from `notes` are queued, and the queue delivered.
/// Returns the hub's side.
pub(crate) fn start(hooks: Arc<Webhooks>) -> Notes {
    let (tx, mut rx) = mpsc::unbounded_channel::<Note>();
    let wake = Arc::new(Notify::new());
    {
        let hooks = Arc::clone(&hooks);
        let wake = Arc::clone(&wake);
        tokio::spawn(async move {
            while let Some(note) = rx.recv().await {
                let (id, kind, body) = event(&note);
                let (queue, urls) = (Arc::clone(&hooks.queue), hooks.urls.clone());
                let (id2, body2) = (id.clone(), body);
                let added = tokio::task::spawn_blocking(move || {
                    queue.enqueue(&id2, kind, &body2, &urls, now_ms())
                })
                .await
                .unwrap_or_else(|_| Err("the queue task failed".into()));
                let unique_id = match &note {
                    Note::Live { unique_id, .. } | Note::Ended { unique_id, .. } => unique_id,
                };
                match added {
                    Ok(0) => eprintln!("relay: webhook {kind} {id} ({unique_id}) already queued"),
                    Ok(n) => {
                        eprintln!("relay: webhook {kind} {id} ({unique_id}) queued for {n} url(s)");
                        wake.notify_one();
                    }
                    Err(e) => eprintln!("relay: webhook {kind} {id}: cannot queue it: {e}"),
                }
            }
        });
    }
    tokio::spawn(deliver(hooks, wake));
    Notes { tx }
}

/// Delivers due rows, then sleeps until the next is due or a new event arrives.
async fn deliver(hooks: Arc<Webhooks>, wake: Arc<Notify>) {
    use futures_util::StreamExt;
    let mut last_prune = 0i64;
    loop {
        let queue = Arc::clone(&hooks.queue);
        let due = tokio::task::spawn_blocking(move || queue.due(now_ms(), 64))
            .await
            .unwrap_or_else(|_| Err("the queue task failed".into()));
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                eprintln!("relay: webhook queue: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if !due.is_empty() {
            futures_util::stream::iter(due)
                .for_each_concurrent(PARALLEL, |p| attempt(&hooks, p))
                .await;
            continue;
        }
        let now = now_ms();
        if now - last_prune > 3_600_000 {
            hooks.queue.prune(now - KEEP_DONE_MS);
            last_prune = now;
        }
        let queue = Arc::clone(&hooks.queue);
        let next = tokio::task::spawn_blocking(move || queue.next_due())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        // Wake for the next due row (a minute at most, in case the clock jumps).
        let sleep_ms = next.map_or(60_000, |at| (at - now_ms()).clamp(0, 60_000)) as u64;
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
        }
    }
}

/// One attempt of one row, and its bookkeeping.
async fn attempt(hooks: &Webhooks, p: Pending) {
    let attempts = p.attempts + 1;
    let host = host_of(&p.url);
    let result = post_signed(
        &p.url,
        &hooks.secret,
        &p.event_id,
        &p.event_type,
        &p.body,
        attempts,
    )
    .await;
    let now = now_ms();
    let queue = &hooks.queue;
    match result {
        Ok(status) => {
            eprintln!(
                "relay: webhook {} {} delivered to {host} ({status}, attempt {attempts})",
                p.event_type, p.event_id
            );
            queue.finish(p.row, "delivered", attempts, None, now);
        }
        Err(e) => {
            let delay = backoff(hooks.backoff, attempts, jitter());
            let next = now + delay.as_millis() as i64;
            if next > p.created_ms + hooks.retry_for.as_millis() as i64 {
                eprintln!(
                    "relay: webhook {} {} to {host}: giving up after {attempts} attempts ({e})",
                    p.event_type, p.event_id
                );
                queue.finish(p.row, "failed", attempts, Some(&e), now);
            } else {
                eprintln!(
                    "relay: webhook {} {} to {host}: attempt {attempts} failed ({e}), next in {} ms",
                    p.event_type,
                    p.event_id,
                    delay.as_millis()
                );
                queue.retry_at(p.row, attempts, next, &e);
            }
        }
    }
}

/// `tikcast webhooks …`.
#[derive(clap::Subcommand)]
pub enum WebhooksCommand {
    /// Send one signed `webhook.test` event to URL and print the answer's status.
    Test {
        /// The receiver (http:// or https://).
        #[arg(long)]
        url: String,
        /// Name of the environment variable holding the signing secret (as the relay's
        /// --webhook-secret-env).
        #[arg(long, value_name = "VAR")]
        secret_env: String,
    },
}

pub fn run_command(cmd: WebhooksCommand) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let WebhooksCommand::Test { url, secret_env } = cmd;
    http_client::parse_url(&url).map_err(|e| format!("--url: {e}"))?;
    let secret = secret_from_env(&secret_env).map_err(|e| format!("--secret-env {e}"))?;
    let id = event_id("webhook.test", "", None);
    let body = serde_json::json!({
        "id": id,
        "type": "webhook.test",
        "createdAt": now_ms(),
        "data": {"message": "a test event from tikcast webhooks test"},
    })
    .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let status = runtime.block_on(post_signed(&url, &secret, &id, "webhook.test", &body, 1))?;
    println!(
        "{}",
        serde_json::json!({"delivered": true, "status": status, "id": id})
    );
    Ok(())
}

/// Keeps an upstream open for each `--watch` creator: opens its room (or marks a room
/// viewers opened as watched, so it outlives them), and when the room closes (the stream
/// ended, the creator is offline, the upstream failed), opens it again `interval` after.
pub(crate) fn watch(hub: Arc<super::hub::Hub>, names: Vec<String>, interval: Duration) {
    let poll = interval.min(Duration::from_millis(500));
    for name in names {
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            let mut was_open = false;
            let mut next_open = tokio::time::Instant::now();
            loop {
                let now = tokio::time::Instant::now();
                if hub.room(&name).is_some() {
                    was_open = true;
                    // Idempotent: marks a room a viewer opened as watched.
                    let _ = hub.watch(&name);
                } else {
                    if was_open {
                        was_open = false;
                        next_open = now + interval;
                    }
                    if now >= next_open {
                        match hub.watch(&name) {
                            Ok(()) => was_open = true,
                            Err((_, why)) => {
                                eprintln!("relay: cannot watch {name}: {why}");
                                next_open = now + interval;
                            }
                        }
                    }
                }
                tokio::time::sleep(poll).await;
            }
        });
    }
}

/// The default queue file, in the working directory.
pub(crate) fn default_db() -> PathBuf {
    PathBuf::from("tikcast-webhooks.sqlite3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // Checked against an independent computation (Python: hmac.new(b"secret-0123456789",
        // b"1700000000.{}", hashlib.sha256).hexdigest()).
        let s = signature(b"secret-0123456789", 1_700_000_000, b"{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret-0123456789").unwrap();
        mac.update(b"1700000000.{}");
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(s, format!("t=1700000000,v1={want}"));
        assert_ne!(s, signature(b"secret-0123456789", 1_700_000_001, b"{}"));
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let base = Duration::from_secs(5);
        let top = backoff(base, 1, 0.999);
        assert!(top <= base && top > Duration::from_millis(4990), "{top:?}");
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(2500));
        assert_eq!(backoff(base, 3, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(base, 100, 0.0), MAX_BACKOFF / 2);
        assert!(backoff(base, 100, 0.999) <= MAX_BACKOFF);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn totals_count_what_the_session_delivered() {
        let ev = |name: &'static str, figures| EventText {
            name,
            message: "{}".into(),
            figures,
        };
        let like = |count, total| ev("like", Figures::Like { count, total });
        let gift = |diamonds, repeat| ev("gift", Figures::Gift { repeat, diamonds });
        let viewers = |viewers, total| ev("roomUser", Figures::RoomUser { viewers, total });
        let mut t = Totals::default();
        t.observe(&[like(5, 100), viewers(12, 20), ev("chat", Figures::Chat)]);
        t.observe(&[
            gift(1, 10),
            gift(500, 1),
            viewers(40, 55),
            viewers(25, 60),
            like(2, 90),
            like(-3, 0),
            // A running streak is not a gift yet (the session sends `gift` at its end).
            ev("giftStreak", Figures::None),
            ev("chat", Figures::Chat),
        ]);
        assert_eq!(
            t,
            Totals {
                likes: 7,
                total_likes: Some(100),
                gifts: 11,
                diamonds: 510,
                chats: 2,
                viewer_peak: Some(40),
                total_viewers: Some(60),
            }
        );
    }

    #[test]
    fn ids_are_stable_for_a_known_room() {
        let a = event_id("live.start", "ada", Some("42"));
        assert_eq!(a, event_id("live.start", "ada", Some("42")));
        assert_ne!(a, event_id("live.end", "ada", Some("42")));
        assert_ne!(a, event_id("live.start", "ada", Some("43")));
        assert_ne!(
            event_id("live.start", "ada", None),
            event_id("live.start", "ada", None)
        );
        assert!(a.starts_with("evt_") && a.len() == 28);
    }

    #[test]
    fn the_queue_survives_reopening_and_keeps_an_event_once() {
        let dir = std::env::temp_dir().join(format!("tikcast-webhook-q-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("q.sqlite3");
        let urls = vec![
            "http://127.0.0.1:9/a".to_string(),
            "http://127.0.0.1:9/b".to_string(),
        ];
        {
            let q = Queue::open(&path).unwrap();
            assert_eq!(
                q.enqueue("evt_1", "live.start", "{}", &urls, 1000).unwrap(),
                2
            );
            assert_eq!(
                q.enqueue("evt_1", "live.start", "{}", &urls, 2000).unwrap(),
                0
            );
            let due = q.due(1000, 10).unwrap();
            assert_eq!(due.len(), 2);
            q.retry_at(due[0].row, 1, 5000, "answered 500");
            q.finish(due[1].row, "delivered", 1, None, 1000);
        }
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.due(4999, 10).unwrap().len(), 0);
        assert_eq!(q.next_due().unwrap(), Some(5000));
        let due = q.due(5000, 10).unwrap();
        assert_eq!(
            (due.len(), due[0].attempts, due[0].url.as_str()),
            (1, 1, "http://127.0.0.1:9/a")
        );
        assert_eq!(
            q.states("evt_1"),
            vec![("pending".to_string(), 1), ("delivered".to_string(), 1)]
        );
        // A delivered event queued again stays delivered.
        assert_eq!(
            q.enqueue("evt_1", "live.start", "{}", &urls, 9000).unwrap(),
            0
        );
        q.prune(2000);
        assert_eq!(q.states("evt_1"), vec![("pending".to_string(), 1)]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn events_carry_their_facts() {
        let mut info = serde_json::Map::new();
        info.insert("roomId".into(), "7300".into());
        info.insert("title".into(), "hello".into());
        info.insert("startedAt".into(), 1_000_000.into());
        let (id, kind, body) = event(&Note::Ended {
            unique_id: "ada".into(),
            info,
            live_at_ms: 1_500_000,
            at_ms: 1_061_000,
            code: 4005,
            totals: Totals {
                likes: 7,
                total_likes: Some(100),
                gifts: 3,
                diamonds: 30,
                chats: 2,
                viewer_peak: Some(40),
                total_viewers: None,
            },
        });
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["id"].as_str(), kind), (Some(id.as_str()), "live.end"));
        assert_eq!(
            v["data"],
            serde_json::json!({
                "uniqueId": "ada", "roomId": "7300", "title": "hello",
                "startedAt": 1_000_000, "endedAt": 1_061_000, "durationSeconds": 61,
                "reason": "stream end", "closeCode": 4005, "viewerPeak": 40,
                "totalViewers": null, "likes": 7, "totalLikes": 100, "gifts": 3,
                "diamonds": 30, "chats": 2
            })
        );
    }
}
