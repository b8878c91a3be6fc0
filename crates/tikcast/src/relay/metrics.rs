//! Counters behind `GET /metrics` (Prometheus text format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) rooms: AtomicU64,
    pub(crate) viewers: AtomicU64,
    pub(crate) upstream_connects: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    /// JSON mode: event text messages written to viewers.
    pub(crate) events_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) slow_viewer_drops: AtomicU64,
    pub(crate) recorded_bytes: AtomicU64,
    pub(crate) resumes_exact: AtomicU64,
    pub(crate) resumes_missed: AtomicU64,
    pub(crate) viewers_accepted: AtomicU64,
    /// Cluster (`--cluster`): this node's id, set when clustered (the figures below are
    /// shown only then).
    pub(crate) cluster_node: std::sync::OnceLock<String>,
    pub(crate) redis_up: AtomicU64,
    pub(crate) redis_errors: AtomicU64,
    pub(crate) leases_held: AtomicU64,
    pub(crate) leases_taken: AtomicU64,
    pub(crate) leases_lost: AtomicU64,
    pub(crate) stream_published: AtomicU64,
    pub(crate) stream_dropped: AtomicU64,
    pub(crate) stream_read: AtomicU64,
    /// The largest follow lag of the rooms this node follows: now minus the newest
    /// entry's time (ms; node clocks are assumed in step).
    pub(crate) stream_lag_ms: AtomicU64,
    /// Refused or closed viewers, by close code.
    closes: Mutex<BTreeMap<u16, u64>>,
    /// Auth and limit refusals, by reason.
    refusals: Mutex<BTreeMap<&'static str, u64>>,
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn sub(c: &AtomicU64, n: u64) {
    c.fetch_sub(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    pub(crate) fn count_close(&self, code: u16) {
        let mut m = self.closes.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(code).or_default() += 1;
    }

    /// `reason`: `invalid_auth`, `no_permission`, `too_many`, `bad_request`, `origin`.
    pub(crate) fn count_refusal(&self, reason: &'static str) {
        let mut m = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(reason).or_default() += 1;
    }

    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        one(
            "tikcast_relay_rooms",
            "gauge",
            "Rooms with an upstream (open or in their grace period).",
            get(&self.rooms),
        );
        one(
            "tikcast_relay_viewers",
            "gauge",
            "Browser sockets currently attached to a room.",
            get(&self.viewers),
        );
        one(
            "tikcast_relay_viewers_accepted_total",
            "counter",
            "Browser sockets that passed auth and limits.",
            get(&self.viewers_accepted),
        );
        one(
            "tikcast_relay_upstream_connects_total",
            "counter",
            "Upstream connection attempts.",
            get(&self.upstream_connects),
        );
        one(
            "tikcast_relay_frames_in_total",
            "counter",
            "Frames received from upstreams.",
            get(&self.frames_in),
        );
        one(
            "tikcast_relay_bytes_in_total",
            "counter",
            "Bytes of frames received from upstreams.",
            get(&self.bytes_in),
        );
        one(
            "tikcast_relay_frames_out_total",
            "counter",
            "Frames written to browser sockets.",
            get(&self.frames_out),
        );
        one(
            "tikcast_relay_json_events_out_total",
            "counter",
            "Event text messages written to JSON-mode viewers (format=json).",
            get(&self.events_out),
        );
        one(
            "tikcast_relay_bytes_out_total",
            "counter",
            "Bytes of frames written to browser sockets.",
            get(&self.bytes_out),
        );
        one(
            "tikcast_relay_slow_viewer_drops_total",
            "counter",
            "Viewers cut off (4008) because their queue was full.",
            get(&self.slow_viewer_drops),
        );
        one(
            "tikcast_relay_recorded_bytes_total",
            "counter",
            "Bytes appended to recordings.",
            get(&self.recorded_bytes),
        );
        let _ = writeln!(
            s,
            "# HELP tikcast_relay_resumes_total Viewers that asked to resume from a cursor.\n# TYPE tikcast_relay_resumes_total counter\ntikcast_relay_resumes_total{{result=\"exact\"}} {}\ntikcast_relay_resumes_total{{result=\"missed\"}} {}",
            get(&self.resumes_exact),
            get(&self.resumes_missed)
        );
        let _ = writeln!(
            s,
            "# HELP tikcast_relay_auth_failures_total Viewers and API calls refused, by reason.\n# TYPE tikcast_relay_auth_failures_total counter"
        );
        let refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        for reason in [
            "invalid_auth",
            "no_permission",
            "too_many",
            "bad_request",
            "origin",
        ] {
            let n = refusals.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "tikcast_relay_auth_failures_total{{reason=\"{reason}\"}} {n}"
            );
        }
        drop(refusals);
        let _ = writeln!(
            s,
            "# HELP tikcast_relay_viewer_closes_total Close codes sent to browser sockets.\n# TYPE tikcast_relay_viewer_closes_total counter"
        );
        for (code, n) in self.closes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                s,
                "tikcast_relay_viewer_closes_total{{code=\"{code}\"}} {n}"
            );
        }
        if let Some(node) = self.cluster_node.get() {
            // The node id is checked at start-up ([A-Za-z0-9._-]), safe in a label.
            for (name, kind, help, v) in [
                (
                    "tikcast_relay_cluster_redis_up",
                    "gauge",
                    "1 when Redis answered last time, else 0.",
                    &self.redis_up,
                ),
                (
                    "tikcast_relay_cluster_redis_errors_total",
                    "counter",
                    "Redis calls that failed.",
                    &self.redis_errors,
                ),
                (
                    "tikcast_relay_cluster_leases_held",
                    "gauge",
                    "Room leases this node holds (rooms whose upstream it runs).",
                    &self.leases_held,
                ),
                (
                    "tikcast_relay_cluster_leases_taken_total",
                    "counter",
                    "Room leases this node took (first viewer or take-over).",
                    &self.leases_taken,
                ),
                (
                    "tikcast_relay_cluster_leases_lost_total",
                    "counter",
                    "Room leases another node took from this one (fenced).",
                    &self.leases_lost,
                ),
                (
                    "tikcast_relay_cluster_stream_published_total",
                    "counter",
                    "Records this node appended to room streams.",
                    &self.stream_published,
                ),
                (
                    "tikcast_relay_cluster_stream_dropped_total",
                    "counter",
                    "Records not appended (queue full or Redis failing).",
                    &self.stream_dropped,
                ),
                (
                    "tikcast_relay_cluster_stream_read_total",
                    "counter",
                    "Records this node read from streams of rooms another node holds.",
                    &self.stream_read,
                ),
                (
                    "tikcast_relay_cluster_stream_lag_ms",
                    "gauge",
                    "Largest age of the newest record read, over the rooms this node follows (ms).",
                    &self.stream_lag_ms,
                ),
            ] {
                let _ = writeln!(
                    s,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{node=\"{node}\"}} {}",
                    get(v)
                );
            }
        }
        s
    }
}
