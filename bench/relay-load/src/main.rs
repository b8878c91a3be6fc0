//! `relay-load`: a load benchmark of `tikcast relay` (issue 5), not a timed test.
//!
//! One `tikcast mock` upstream sends `--rate` messages/s (`--batch` per gzipped frame) on
//! its relay-style `/ws`; one `tikcast relay --no-auth` holds the room's single upstream
//! and fans it out to `--clients` WebSocket clients (tokio tasks in this process), all on
//! 127.0.0.1. After every client has its `roomInfo` and a warm-up, a window of
//! `--seconds` is measured: delivered/expected messages, latency (client receive time −
//! the frame's `now_ms`, stamped by the mock from the same wall clock), relay CPU (from
//! `/proc/PID/stat`) and memory (`/proc/PID/status`), viewers cut off with 4008, and the
//! relay's `/metrics`. Before that, one client connected straight to a mock of its own
//! (no relay) gives the baseline latency, so the relay's share is relay − direct.
//!
//! The results are printed as a markdown section and appended to `bench/RESULTS.md`.
//! Every child process is killed when the benchmark ends, however it ends.

mod client;
mod sys;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::watch;

use client::{ClientResult, FrameInfo, Shared};
use sys::Proc;

/// The creator handle every client asks for.
const ROOM: &str = "bench.room";
/// After the window, how long frames stamped inside it may still arrive.
const DRAIN: Duration = Duration::from_secs(3);
/// How long, beyond the ramp itself, clients may take to get their `roomInfo`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(
    name = "relay-load",
    about = "Load benchmark of tikcast relay: one mock upstream fanned out to many WebSocket clients on 127.0.0.1"
)]
struct Args {
    /// WebSocket clients connected to the relay (one room).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    clients: u64,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    seconds: u64,
    /// Messages per second sent by the mock upstream.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rate: u64,
    /// Messages per frame (so rate / batch frames per second).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Seconds between the last client getting its roomInfo and the window.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    /// Window of the direct baseline (one client on the mock, no relay), in seconds; 0 skips it.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    direct_seconds: u64,
    /// Milliseconds between two client connects (the ramp).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    ramp_ms: u64,
    /// The tikcast binary [default: `cargo build --release -p tikcast`, then target/release/tikcast].
    #[arg(long)]
    tikcast: Option<PathBuf>,
    /// Markdown file the results section is appended to [default: bench/RESULTS.md].
    #[arg(long)]
    results: Option<PathBuf>,
    /// Only print the results section.
    #[arg(long)]
    no_write: bool,
    /// Directory for the mock's and relay's stderr logs [default: target/relay-load].
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// What the clients ask the relay for: `binary` push frames (the SDK's mode) or
    /// `json` events (`format=json`, decoded and serialized by the relay). In JSON mode
    /// one more client, in binary mode, records the frames' timestamps for the latency.
    #[arg(long, default_value = "binary", value_parser = ["binary", "json"])]
    format: String,
    /// Relay nodes; more than one runs them as a cluster (`--cluster`) on a
    /// `redis-server` the benchmark starts on a free 127.0.0.1 port (no persistence).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
    nodes: u64,
    /// Rooms the clients are spread over (each its own upstream connection to the mock,
    /// at --rate each); client i watches room i % rooms on node (i / rooms) % nodes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    rooms: u64,
}

/// A `redis-server` for a cluster run: free port on 127.0.0.1, no RDB or AOF; killed on drop.
struct RedisServer {
    child: std::process::Child,
    port: u16,
}

impl RedisServer {
    fn start(log: &Path) -> Result<RedisServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let log = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--daemonize", "no"])
            .stdout(log)
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server ({e}): apt-get install -y redis-server")
            })?;
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(5);
        while redis_info(port, "server").is_none() {
            if Instant::now() > deadline {
                return Err("redis-server did not answer within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `INFO section` of the Redis on `port`, as text.
fn redis_info(port: u16, section: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("INFO {section}\r\n").as_bytes()).ok()?;
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        // `$LEN\r\n` + LEN bytes + `\r\n`.
        let head = text.iter().position(|&b| b == b'\n')?;
        let len: usize = std::str::from_utf8(text.get(1..head.saturating_sub(1))?)
            .ok()?
            .parse()
            .ok()?;
        if text.len() >= head + 1 + len {
            return String::from_utf8(text.get(head + 1..head + 1 + len)?.to_vec()).ok();
        }
    }
    None
}

/// One `field:value` of an INFO text.
fn info_field(info: &str, field: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("relay-load: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// `cargo build --release -p tikcast`; the path of the binary.
fn build_tikcast(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("relay-load: cargo build --release -p tikcast");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "tikcast"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release -p tikcast failed ({status})"
        ));
    }
    Ok(target_dir(root).join("release").join("tikcast"))
}

fn log(text: &str) {
    eprintln!("relay-load: {text}");
}

// ------------------------------------------------------------------------------ phases

/// CPU counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Usage {
    at: Instant,
    relay: Option<u64>,
    mock: Option<u64>,
    bench: Option<u64>,
    machine: Option<sys::MachineCpu>,
}

fn usage(relay: Option<u32>, mock: u32) -> Usage {
    Usage {
        at: Instant::now(),
        relay: relay.and_then(sys::cpu_ticks),
        mock: sys::cpu_ticks(mock),
        bench: sys::cpu_ticks(std::process::id()),
        machine: sys::machine_cpu(),
    }
}

/// CPU use between two samples, in % of one core.
fn core_percent(a: Option<u64>, b: Option<u64>, seconds: f64, ticks: u64) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(b.saturating_sub(a) as f64 / ticks as f64 / seconds * 100.0)
}

/// Mock `/stats`: (messagesSent, framesSent).
async fn mock_sent(mock: &str) -> Result<(u64, u64), String> {
    let body = sys::http_get(mock, "/stats").await?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("mock /stats: {e}"))?;
    let n = |k: &str| v[k].as_u64().ok_or_else(|| format!("mock /stats: no {k}"));
    Ok((n("messagesSent")?, n("framesSent")?))
}

/// Mock `/stats` connections: the upstream sockets the relays opened.
async fn mock_connections(mock: &str) -> Option<u64> {
    let body = sys::http_get(mock, "/stats").await.ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["connections"].as_u64()
}

/// What one phase (direct or through the relay) measured.
struct Phase {
    results: Vec<ClientResult>,
    frames: HashMap<u64, FrameInfo>,
    /// The window, in the mock's wall-clock ms: frames stamped in [start, end) count.
    window: (i64, i64),
    /// From the first connect until every client had its roomInfo (or the timeout).
    ramp: Duration,
    ready: usize,
    /// Mock `/stats` (messagesSent, framesSent) at the start and end of the window.
    sent: ((u64, u64), (u64, u64)),
    start: Usage,
    end: Usage,
    /// Busiest one-second relay CPU (% of one core) and largest RSS (kB) seen in the window.
    relay_busiest: Option<f64>,
    relay_rss_max_kb: Option<u64>,
    /// Cluster runs: per watched process (nodes, Redis) its CPU ticks at the window's start
    /// and end and its largest RSS (kB) sampled each second in the window.
    watched: Vec<(Option<u64>, Option<u64>, Option<u64>)>,
    /// Relay RSS (kB) and `/metrics` after the drain, before the clients leave.
    relay_rss_end_kb: Option<u64>,
    metrics: Option<String>,
    /// Other processes' CPU in the window, by command name: (name, processes, % of one core).
    others: Vec<(String, usize, f64)>,
}

struct PhasePlan<'a> {
    /// Where client `i` connects: `urls[i % urls.len()]`, with its room's index.
    urls: Vec<(String, u8)>,
    /// JSON mode: a binary client in the same room whose frames give the timestamps.
    probe_url: Option<String>,
    /// JSON mode: clients sample the latency of about one message in this many.
    json_sample_every: u64,
    clients: u64,
    ramp_ms: u64,
    warmup: Duration,
    seconds: u64,
    mock: &'a str,
    mock_pid: u32,
    relay_pid: Option<u32>,
    /// The relay's address, for `/metrics` once the clients are done (still connected).
    relay_addr: Option<&'a str>,
    /// Cluster runs: more processes whose CPU and memory the window measures.
    watch_pids: Vec<u32>,
    ticks: u64,
}

async fn run_phase(plan: PhasePlan<'_>) -> Result<Phase, String> {
    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let probe = plan.probe_url.clone().map(|url| {
        tokio::spawn(client::run(
            url,
            Duration::ZERO,
            Arc::clone(&shared),
            stop_rx.clone(),
            plan.json_sample_every,
            0,
        ))
    });
    let handles: Vec<_> = (0..plan.clients)
        .map(|i| {
            let (url, room) = &plan.urls[i as usize % plan.urls.len()];
            tokio::spawn(client::run(
                url.clone(),
                Duration::from_millis(i * plan.ramp_ms),
                Arc::clone(&shared),
                stop_rx.clone(),
                plan.json_sample_every,
                *room,
            ))
        })
        .collect();
    let ready_by = started + Duration::from_millis(plan.clients * plan.ramp_ms) + READY_TIMEOUT;
    let clients = plan.clients as usize + usize::from(probe.is_some());
    loop {
        let ready = shared.ready.load(Ordering::SeqCst);
        if ready >= clients || Instant::now() > ready_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ramp = started.elapsed();
    let ready = shared.ready.load(Ordering::SeqCst);
    if ready == 0 {
        let _ = stop_tx.send(true);
        return Err(format!(
            "no client got a roomInfo from {} within {ramp:?}",
            plan.urls[0].0
        ));
    }
    log(&format!(
        "{ready} of {clients} clients ready after {:.2} s; warming up for {} s",
        ramp.as_secs_f64(),
        plan.warmup.as_secs()
    ));
    tokio::time::sleep(plan.warmup).await;

    let window_start = tokio::time::Instant::now();
    let t0 = sys::wall_ms();
    let start = usage(plan.relay_pid, plan.mock_pid);
    let watched0: Vec<Option<u64>> = plan.watch_pids.iter().map(|p| sys::cpu_ticks(*p)).collect();
    let mut watched_rss: Vec<Option<u64>> = vec![None; plan.watch_pids.len()];
    let procs0 = sys::all_cpu_ticks();
    let sent0 = mock_sent(plan.mock).await?;
    log(&format!("measuring for {} s", plan.seconds));
    let (mut busiest, mut rss_max) = (None::<f64>, None::<u64>);
    let mut last = start;
    for s in 1..=plan.seconds {
        tokio::time::sleep_until(window_start + Duration::from_secs(s)).await;
        let now = usage(plan.relay_pid, plan.mock_pid);
        let dt = now.at.duration_since(last.at).as_secs_f64();
        if let Some(p) = core_percent(last.relay, now.relay, dt, plan.ticks) {
            busiest = Some(busiest.map_or(p, |b| b.max(p)));
        }
        if let Some(kb) = plan.relay_pid.and_then(|p| sys::status_kb(p, "VmRSS")) {
            rss_max = Some(rss_max.map_or(kb, |m| m.max(kb)));
        }
        for (pid, max) in plan.watch_pids.iter().zip(watched_rss.iter_mut()) {
            if let Some(kb) = sys::status_kb(*pid, "VmRSS") {
                *max = Some(max.map_or(kb, |m| m.max(kb)));
            }
        }
        last = now;
        if s % 10 == 0 && s < plan.seconds {
            log(&format!("{s} s of {}", plan.seconds));
        }
    }
    let t1 = t0 + plan.seconds as i64 * 1000;
    let end = last;
    let watched: Vec<(Option<u64>, Option<u64>, Option<u64>)> = plan
        .watch_pids
        .iter()
        .zip(watched0)
        .zip(watched_rss)
        .map(|((pid, t0), rss)| (t0, sys::cpu_ticks(*pid), rss))
        .collect();
    let procs1 = sys::all_cpu_ticks();
    let sent1 = mock_sent(plan.mock).await?;
    let mut ours = vec![
        Some(plan.mock_pid),
        plan.relay_pid,
        Some(std::process::id()),
    ];
    ours.extend(plan.watch_pids.iter().map(|p| Some(*p)));
    let others = other_processes(
        &procs0,
        &procs1,
        &ours,
        end.at.duration_since(start.at).as_secs_f64(),
        plan.ticks,
    );
    tokio::time::sleep(DRAIN).await;
    // Read the relay while every client is still connected.
    let metrics = match plan.relay_addr {
        Some(addr) => Some(
            sys::http_get(addr, "/metrics")
                .await
                .unwrap_or_else(|e| format!("# not available: {e}\n")),
        ),
        None => None,
    };
    let relay_rss_end_kb = plan.relay_pid.and_then(|p| sys::status_kb(p, "VmRSS"));
    let _ = stop_tx.send(true);
    let mut results = Vec::with_capacity(handles.len());
    for h in handles {
        results.push(h.await.map_err(|e| format!("a client task failed: {e}"))?);
    }
    if let Some(p) = probe {
        p.await
            .map_err(|e| format!("the probe client failed: {e}"))?;
    }
    Ok(Phase {
        results,
        frames: shared.frames(),
        window: (t0, t1),
        ramp,
        ready,
        sent: (sent0, sent1),
        start,
        end,
        relay_busiest: busiest,
        relay_rss_max_kb: rss_max,
        relay_rss_end_kb,
        watched,
        metrics,
        others,
    })
}

/// CPU use of every process but ours between two snapshots, grouped by command name,
/// busiest first. A process that started in between counts from zero; one that ended
/// in between is not seen.
fn other_processes(
    before: &HashMap<u32, (String, u64)>,
    after: &HashMap<u32, (String, u64)>,
    ours: &[Option<u32>],
    seconds: f64,
    ticks: u64,
) -> Vec<(String, usize, f64)> {
    let mut by_name: HashMap<&str, (usize, u64)> = HashMap::new();
    for (pid, (name, t1)) in after {
        if ours.contains(&Some(*pid)) {
            continue;
        }
        let t0 = before
            .get(pid)
            .filter(|(n, _)| n == name)
            .map_or(0, |(_, t)| *t);
        let used = t1.saturating_sub(t0);
        if used > 0 {
            let e = by_name.entry(name).or_default();
            e.0 += 1;
            e.1 += used;
        }
    }
    let mut out: Vec<(String, usize, f64)> = by_name
        .into_iter()
        .map(|(name, (n, used))| {
            (
                name.to_string(),
                n,
                used as f64 / ticks as f64 / seconds * 100.0,
            )
        })
        .collect();
    out.sort_by(|a, b| b.2.total_cmp(&a.2));
    out
}

// ------------------------------------------------------------------------------ analysis

#[derive(Default)]
struct Analysis {
    /// Messages all clients should have had: each room's `expected` times its clients.
    want: u64,
    /// Distinct frames stamped in the window that some client received.
    frames_seen: u64,
    /// Messages the mock sent in the window: those frames plus any cursor gap between them.
    expected: u64,
    /// Messages of window frames that no client received (cursor gaps).
    unseen: u64,
    /// Per client: messages delivered from window frames.
    delivered: Vec<u64>,
    /// Frames that arrived with a log id not above the previous one (repeat or reorder).
    out_of_order: u64,
    /// Latency samples in µs, sorted.
    latency_us: Vec<i64>,
}

/// JSON mode: messages are counted by msg id (each event names its message), latency is
/// sampled about once per frame, against the `now_ms` of the frame holding the message.
fn analyse_json(phase: &Phase) -> Analysis {
    let mut a = analyse(phase);
    let (w0, w1) = phase.window;
    let mut frames: Vec<&FrameInfo> = phase.frames.values().collect();
    frames.sort_by_key(|f| f.first_msg_id);
    let window: Vec<&&FrameInfo> = frames
        .iter()
        .filter(|f| f.now_ms >= w0 && f.now_ms < w1)
        .collect();
    let lo = window.iter().map(|f| f.first_msg_id).min().unwrap_or(0);
    let hi = window
        .iter()
        .map(|f| f.first_msg_id + u64::from(f.messages))
        .max()
        .unwrap_or(0);
    let frame_of = |id: u64| {
        let i = frames.partition_point(|f| f.first_msg_id <= id);
        frames
            .get(i.checked_sub(1)?)
            .filter(|f| id < f.first_msg_id + u64::from(f.messages))
            .copied()
    };
    a.delivered.clear();
    a.latency_us.clear();
    a.out_of_order = 0;
    for r in &phase.results {
        let mut runs = r.json.runs.clone();
        a.out_of_order += runs.windows(2).filter(|p| p[1].0 < p[0].1).count() as u64;
        runs.sort_unstable();
        // Distinct msg ids inside the window, over the merged runs.
        let (mut n, mut upto) = (0u64, lo);
        for (s, e) in runs {
            let (s, e) = (s.max(upto), e.min(hi));
            if e > s {
                n += e - s;
                upto = e;
            }
        }
        a.delivered.push(n);
        for &(id, at) in &r.json.samples {
            if (lo..hi).contains(&id) {
                if let Some(f) = frame_of(id) {
                    a.latency_us.push(at - f.now_ms * 1000);
                }
            }
        }
    }
    a.delivered.sort_unstable();
    a.latency_us.sort_unstable();
    a
}

/// Every room analysed on its own (its frames, its clients), then put together; the
/// `expected` of several rooms is their mean.
fn analyse(phase: &Phase) -> Analysis {
    let rooms: std::collections::BTreeSet<u8> = phase.results.iter().map(|r| r.room).collect();
    let mut all = Analysis::default();
    for &room in &rooms {
        let a = analyse_room(phase, room);
        all.want += a.want;
        all.frames_seen += a.frames_seen;
        all.expected += a.expected;
        all.unseen += a.unseen;
        all.delivered.extend(a.delivered);
        all.out_of_order += a.out_of_order;
        all.latency_us.extend(a.latency_us);
    }
    all.expected /= rooms.len().max(1) as u64;
    all.delivered.sort_unstable();
    all.latency_us.sort_unstable();
    all
}

fn analyse_room(phase: &Phase, room: u8) -> Analysis {
    let (w0, w1) = phase.window;
    let in_window = |f: &FrameInfo| f.now_ms >= w0 && f.now_ms < w1 && f.room == room;
    let mut window: Vec<&FrameInfo> = phase.frames.values().filter(|f| in_window(f)).collect();
    window.sort_by_key(|f| f.cursor);
    let seen: u64 = window.iter().map(|f| u64::from(f.messages)).sum();
    let unseen: u64 = window
        .windows(2)
        .filter_map(|p| {
            let (a, b) = (p[0].cursor?, p[1].cursor?);
            Some((b - u64::from(p[1].messages)).saturating_sub(a))
        })
        .sum();
    let mut latency_us = Vec::new();
    let mut delivered = Vec::with_capacity(phase.results.len());
    let mut out_of_order = 0;
    for r in phase.results.iter().filter(|r| r.room == room) {
        let mut n = 0u64;
        let mut last = None;
        for &(log_id, at) in &r.received {
            if last.is_some_and(|l| log_id <= l) {
                out_of_order += 1;
            }
            last = Some(log_id);
            if let Some(f) = phase.frames.get(&log_id).filter(|f| in_window(f)) {
                n += u64::from(f.messages);
                latency_us.push(at - f.now_ms * 1000);
            }
        }
        delivered.push(n);
    }
    latency_us.sort_unstable();
    delivered.sort_unstable();
    Analysis {
        want: (seen + unseen) * delivered.len() as u64,
        frames_seen: window.len() as u64,
        expected: seen + unseen,
        unseen,
        delivered,
        out_of_order,
        latency_us,
    }
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: i64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn signed_ms(us: i64) -> String {
    format!("{:+.2} ms", us as f64 / 1000.0)
}

/// 1234567 → "1,234,567".
fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct_text(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |p| format!("{p:.1} %"))
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn latency_line(a: &Analysis) -> String {
    let l = &a.latency_us;
    format!(
        "p50 {}, p90 {}, p99 {}, p99.9 {}, max {} ({} samples)",
        ms(pct(l, 50.0)),
        ms(pct(l, 90.0)),
        ms(pct(l, 99.0)),
        ms(pct(l, 99.9)),
        ms(pct(l, 100.0)),
        int(l.len() as u64)
    )
}

/// Close codes and other endings of the clients, e.g. "4008 × 3, connection ended × 1".
fn endings(results: &[ClientResult]) -> (u64, String) {
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    let mut slow = 0;
    for r in results {
        if let Some(e) = &r.connect_error {
            *by.entry(format!("connect failed ({e})")).or_default() += 1;
        } else if let Some(code) = r.close_code {
            if code == 4008 {
                slow += 1;
            }
            *by.entry(format!("closed {code}")).or_default() += 1;
        } else if let Some(e) = &r.ended {
            *by.entry(e.clone()).or_default() += 1;
        }
    }
    let text = if by.is_empty() {
        "none".to_string()
    } else {
        by.iter()
            .map(|(k, n)| format!("{k} × {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (slow, text)
}

// ------------------------------------------------------------------------------ run

async fn run(args: Args) -> Result<(), String> {
    if args.rate < args.batch {
        return Err("--rate must be at least --batch (one frame per second or more)".into());
    }
    if args.format == "json" && (args.rooms > 1 || args.nodes > 1) {
        return Err("--format json measures one room on one node: drop --rooms/--nodes".into());
    }
    let cluster = args.nodes > 1;
    let root = workspace_root();
    let json = args.format == "json";
    let command = {
        let given: Vec<String> = std::env::args().skip(1).collect();
        if given.is_empty() {
            "cargo run --release -p relay-load".to_string()
        } else {
            format!("cargo run --release -p relay-load -- {}", given.join(" "))
        }
    };
    let date = sys::utc_now();
    let machine = sys::machine();
    let load_before = sys::load_average();
    let ticks = sys::clock_ticks();
    let bin = match &args.tikcast {
        Some(p) => p.clone(),
        None => build_tikcast(&root)?,
    };
    if !bin.is_file() {
        return Err(format!("no tikcast binary at {}", bin.display()));
    }
    let log_dir = args
        .log_dir
        .clone()
        .unwrap_or_else(|| target_dir(&root).join("relay-load"));
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
    let version = sys::git_version(&root);
    let warmup = Duration::from_secs(args.warmup);
    let drain = DRAIN.as_secs();
    let mock_args = |seconds: u64| -> Vec<String> {
        // Enough messages that the mock never runs dry, and a deadline of its own.
        let ramp = args.clients * args.ramp_ms / 1000 + READY_TIMEOUT.as_secs();
        let budget = ramp + args.warmup + seconds + drain + 30;
        [
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--messages",
            &(args.rate * budget).to_string(),
            "--rate",
            &args.rate.to_string(),
            "--batch",
            &args.batch.to_string(),
            "--max-seconds",
            &(budget + 30).to_string(),
        ]
        .map(String::from)
        .to_vec()
    };

    // Baseline: one client straight on a mock of its own.
    let direct = if args.direct_seconds > 0 {
        log(&format!(
            "direct baseline: 1 client on the mock for {} s",
            args.direct_seconds
        ));
        let mock = Proc::start(
            &bin,
            "mock (direct)",
            &mock_args(args.direct_seconds),
            &log_dir.join("mock-direct.log"),
        )?;
        let phase = run_phase(PhasePlan {
            urls: vec![(format!("ws://{}/ws?uniqueId={ROOM}", mock.addr), 0)],
            probe_url: None,
            json_sample_every: args.batch,
            clients: 1,
            ramp_ms: 0,
            warmup,
            seconds: args.direct_seconds,
            mock: &mock.addr,
            mock_pid: mock.pid(),
            relay_pid: None,
            relay_addr: None,
            watch_pids: Vec::new(),
            ticks,
        })
        .await?;
        drop(mock);
        Some(phase)
    } else {
        None
    };

    // The load: mock → relay → clients.
    log(&format!(
        "relay: {} clients, {} messages/s in frames of {}, {} s",
        args.clients, args.rate, args.batch, args.seconds
    ));
    let mut mock = Proc::start(
        &bin,
        "mock",
        &mock_args(args.seconds),
        &log_dir.join("mock.log"),
    )?;
    let relay_budget = args.clients * args.ramp_ms / 1000
        + READY_TIMEOUT.as_secs()
        + args.warmup
        + args.seconds
        + drain
        + 60;
    // Every client comes from 127.0.0.1: raise the per-IP limits above what the run needs.
    let sockets_per_ip = (args.clients + 100).max(1000).to_string();
    let connects_per_minute = (args.clients * 2).max(10_000).to_string();
    let pending_heads = args.clients.max(32).to_string();
    let relay_args: Vec<String> = vec![
        "relay".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--upstream".into(),
        format!("mock:ws://{}/ws", mock.addr),
        "--no-auth".into(),
        "--max-sockets-per-ip".into(),
        sockets_per_ip.clone(),
        "--connects-per-minute-per-ip".into(),
        connects_per_minute.clone(),
        // A busy relay may still be reading many heads of the ramp at once.
        "--max-pending-heads-per-ip".into(),
        pending_heads.clone(),
        "--max-seconds".into(),
        relay_budget.to_string(),
    ];
    let redis = if cluster {
        let r = RedisServer::start(&log_dir.join("redis.log"))?;
        log(&format!("redis-server on 127.0.0.1:{}", r.port));
        Some(r)
    } else {
        None
    };
    let mut nodes = Vec::new();
    for n in 0..args.nodes {
        let mut a = relay_args.clone();
        if let Some(r) = &redis {
            a.extend([
                "--cluster".to_string(),
                format!("redis://127.0.0.1:{}", r.port),
                "--node-id".into(),
                format!("n{}", n + 1),
            ]);
        }
        let name = if cluster {
            format!("relay-n{}", n + 1)
        } else {
            "relay".to_string()
        };
        nodes.push(Proc::start(
            &bin,
            &name,
            &a,
            &log_dir.join(format!("{name}.log")),
        )?);
    }
    let room_name = |r: u64| {
        if args.rooms == 1 {
            ROOM.to_string()
        } else {
            format!("{ROOM}{}", r + 1)
        }
    };
    let mut urls = Vec::new();
    for n in &nodes {
        for r in 0..args.rooms {
            urls.push((
                format!(
                    "ws://{}/ws?uniqueId={}{}",
                    n.addr,
                    room_name(r),
                    if json { "&format=json" } else { "" }
                ),
                r as u8,
            ));
        }
    }
    let mut relay = nodes.remove(0);
    let watch_pids: Vec<u32> = nodes
        .iter()
        .map(|n| n.pid())
        .chain(redis.as_ref().map(|r| r.child.id()))
        .collect();
    let redis_before = redis.as_ref().and_then(|r| redis_info(r.port, "memory"));
    let phase = run_phase(PhasePlan {
        urls,
        probe_url: json.then(|| format!("ws://{}/ws?uniqueId={ROOM}", relay.addr)),
        json_sample_every: args.batch,
        clients: args.clients,
        ramp_ms: args.ramp_ms,
        warmup,
        seconds: args.seconds,
        mock: &mock.addr,
        mock_pid: mock.pid(),
        relay_pid: Some(relay.pid()),
        relay_addr: Some(&relay.addr),
        watch_pids,
        ticks,
    })
    .await?;
    let redis_after = redis.as_ref().and_then(|r| redis_info(r.port, "memory"));
    let redis_stats = redis.as_ref().and_then(|r| redis_info(r.port, "stats"));
    let mut node_metrics = Vec::new();
    for n in &nodes {
        node_metrics.push(
            sys::http_get(&n.addr, "/metrics")
                .await
                .unwrap_or_else(|e| format!("# not available: {e}\n")),
        );
    }
    let node_hwm: Vec<Option<u64>> = nodes
        .iter()
        .map(|n| sys::status_kb(n.pid(), "VmHWM"))
        .collect();
    let upstreams = mock_connections(&mock.addr).await;
    drop(nodes);
    drop(redis);
    let relay_hwm = sys::status_kb(relay.pid(), "VmHWM");
    let relay_exited = relay.exited();
    let mock_exited = mock.exited();
    drop(relay);
    drop(mock);
    let load_after = sys::load_average();

    // ------------------------------------------------------------------ report
    let a = if json {
        analyse_json(&phase)
    } else {
        analyse(&phase)
    };
    let d = direct.as_ref().map(analyse);
    let secs = phase.end.at.duration_since(phase.start.at).as_secs_f64();
    let cpu =
        |f: fn(&Usage) -> Option<u64>| core_percent(f(&phase.start), f(&phase.end), secs, ticks);
    let relay_cpu = cpu(|u| u.relay);
    let mock_cpu = cpu(|u| u.mock);
    let bench_cpu = cpu(|u| u.bench);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let ours = match (relay_cpu, mock_cpu, bench_cpu) {
        (Some(r), Some(m), Some(b)) if cores > 0 => Some((r + m + b) / cores as f64),
        _ => None,
    };
    // Machine-wide shares of all cores: (busy, of which irq/softirq, steal).
    let machine_share = match (phase.start.machine, phase.end.machine) {
        (Some(a), Some(b)) if b.total > a.total => {
            let share = |x: u64, y: u64| (y - x) as f64 / (b.total - a.total) as f64 * 100.0;
            Some((
                share(a.busy, b.busy),
                share(a.irq, b.irq),
                share(a.steal, b.steal),
            ))
        }
        _ => None,
    };
    // VmHWM is updated lazily by the kernel and can trail a VmRSS sample a little.
    let relay_peak = [relay_hwm, phase.relay_rss_max_kb, phase.relay_rss_end_kb]
        .into_iter()
        .flatten()
        .max();
    let ((m0, f0), (m1, f1)) = phase.sent;
    let clients = phase.results.len() as u64;
    let total: u64 = a.delivered.iter().sum();
    let want = a.want;
    let ratio = if want > 0 {
        total as f64 / want as f64 * 100.0
    } else {
        0.0
    };
    let median = a.delivered.get(a.delivered.len() / 2).copied().unwrap_or(0);
    let (slow, ends) = endings(&phase.results);
    let undecodable: u64 = phase.results.iter().map(|r| r.undecodable).sum();
    let frames_per_s = args.rate as f64 / args.batch as f64;

    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "## Relay fan-out{}{}: {} clients, {} messages/s{}, {} s ({date})\n",
        if json { ", JSON mode" } else { "" },
        if cluster {
            format!(", cluster of {} nodes", args.nodes)
        } else {
            String::new()
        },
        args.clients,
        args.rate,
        if args.rooms > 1 {
            format!(" in each of {} rooms", args.rooms)
        } else {
            String::new()
        },
        args.seconds
    );
    let _ = writeln!(w, "```sh\n{command}\n```\n");
    let _ = writeln!(w, "- Machine: {machine}; tikcast {version}.");
    let _ = writeln!(
        w,
        "- Load average (1/5/15 min, as `uptime` shows it): {load_before} before, {load_after} after. \
         Other work may have been running on the machine at the time; nothing isolates the benchmark \
         (mock, relay and all clients share the same {cores} cores)."
    );
    let _ = writeln!(
        w,
        "- Setup: `tikcast mock` (release) sends {} messages/s as {frames_per_s:.0} gzipped frames/s of {} \
         generated messages on its relay-style `/ws`; `tikcast relay --no-auth --max-sockets-per-ip {} \
         --connects-per-minute-per-ip {} --max-pending-heads-per-ip {}` (release, other limits at their defaults) holds the one \
         upstream and fans it out to {} WebSocket clients (tokio tasks in the benchmark process) \
         watching `{ROOM}`; everything on 127.0.0.1. Clients connected {} ms apart; {} of {} had their \
         `roomInfo` after {:.2} s; then {} s of warm-up, then the {} s window. Only frames the mock \
         stamped inside the window count; clients kept reading for {drain} s after it.",
        args.rate,
        args.batch,
        sockets_per_ip,
        connects_per_minute,
        pending_heads,
        args.clients,
        args.ramp_ms,
        phase.ready,
        args.clients,
        phase.ramp.as_secs_f64(),
        args.warmup,
        args.seconds,
    );
    if args.rooms > 1 || cluster {
        let _ = writeln!(
            w,
            "- **{} rooms{}**: every room is its own upstream connection to the mock at {} messages/s; \
             client i watches room i mod {} on node (i div {}) mod {}, so each node has each room's \
             viewers in equal shares.{} Delivered and latency are counted per room (its frames, its \
             clients) and added up; \"expected per client\" is the mean over the rooms.",
            args.rooms,
            if cluster {
                format!(", {} relay nodes", args.nodes)
            } else {
                ", one relay".to_string()
            },
            args.rate,
            args.rooms,
            args.rooms,
            args.nodes,
            if cluster {
                " The nodes run with `--cluster redis://127.0.0.1:PORT --node-id nK` on one `redis-server` \
                 (Debian's, started by the benchmark without persistence): one lease holder per room dials \
                 the mock and appends each frame to the room's Redis stream; the other nodes read it \
                 with `XREAD BLOCK`. The table's \"relay\" lines are node n1's; every node and Redis \
                 follow."
            } else {
                ""
            }
        );
    }
    if json {
        let events: u64 = phase.results.iter().map(|r| r.json.events).sum();
        let unreadable: u64 = phase.results.iter().map(|r| r.json.unreadable).sum();
        let _ = writeln!(
            w,
            "- **JSON mode**: the clients connect with `&format=json` (every event, no `events=` filter), \
             so the relay decodes every message once, serializes each event once and writes one text \
             message per event to each client; one more client, in binary mode, records the frames' \
             `now_ms` (the room thus also has one binary viewer). A client counts a message delivered \
             when an event carrying its msg id arrives (derived events repeat it), and samples the \
             latency of about one message per frame against the `now_ms` of the frame that carried it. \
             Events received by all clients over the whole run: {} ({} without a readable msg id).",
            int(events),
            int(unreadable)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "| measure | result |\n|---|---|");
    let _ = writeln!(
        w,
        "| expected per client | {} messages ({:.0} messages/s achieved by the mock) in {} frames stamped in the window ({} messages of them reached no client); mock `/stats` over the window: {} messages, {} frames |",
        int(a.expected),
        a.expected as f64 / args.seconds as f64,
        int(a.frames_seen),
        int(a.unseen),
        int(m1 - m0),
        int(f1 - f0)
    );
    let _ = writeln!(
        w,
        "| delivered | {} of {} ({ratio:.3} %) |",
        int(total),
        int(want)
    );
    let _ = writeln!(
        w,
        "| delivered per client (messages) | min {}, median {}, max {} |",
        int(a.delivered.first().copied().unwrap_or(0)),
        int(median),
        int(a.delivered.last().copied().unwrap_or(0))
    );
    let _ = writeln!(
        w,
        "| viewers cut off (4008) | {slow} of {clients} (all client endings before the stop: {ends}; out-of-order or repeated frames: {}; undecodable: {undecodable}) |",
        a.out_of_order
    );
    let _ = writeln!(
        w,
        "| latency mock → relay → client | {} |",
        latency_line(&a)
    );
    if let Some(da) = &d {
        let _ = writeln!(
            w,
            "| latency mock → client, direct (1 client, no relay, {} s, run just before) | {} |",
            args.direct_seconds,
            latency_line(da)
        );
        let l = &a.latency_us;
        let dl = &da.latency_us;
        let _ = writeln!(
            w,
            "| **added latency** (relay − direct, per percentile) | **p50 {}, p99 {}**; p90 {}, p99.9 {} |",
            signed_ms(pct(l, 50.0) - pct(dl, 50.0)),
            signed_ms(pct(l, 99.0) - pct(dl, 99.0)),
            signed_ms(pct(l, 90.0) - pct(dl, 90.0)),
            signed_ms(pct(l, 99.9) - pct(dl, 99.9)),
        );
    }
    let _ = writeln!(
        w,
        "| relay CPU | {} of one core over the window (busiest second {}) |",
        pct_text(relay_cpu),
        pct_text(phase.relay_busiest)
    );
    let _ = writeln!(
        w,
        "| relay memory | peak RSS {} (largest of VmHWM {}, the per-second VmRSS samples in the window and VmRSS after it {}) |",
        mib(relay_peak),
        mib(relay_hwm),
        mib(phase.relay_rss_end_kb),
    );
    let _ = writeln!(
        w,
        "| for context: mock CPU, clients' CPU | {}, {} of one core |",
        pct_text(mock_cpu),
        pct_text(bench_cpu)
    );
    let _ = writeln!(
        w,
        "| for context: whole machine | {} |",
        match machine_share {
            Some((busy, irq, steal)) => format!(
                "{busy:.1} % of all {cores} cores busy during the window, of which relay + mock + clients {}, irq + softirq {irq:.1} %; steal {steal:.1} %",
                pct_text(ours)
            ),
            None => "n/a".into(),
        }
    );
    if cluster {
        let cpu_of = |(t0, t1, _): &(Option<u64>, Option<u64>, Option<u64>)| {
            core_percent(*t0, *t1, secs, ticks)
        };
        let mut parts = vec![format!(
            "n1 {} CPU, peak RSS {}",
            pct_text(relay_cpu),
            mib(relay_peak)
        )];
        let n = phase.watched.len().saturating_sub(1);
        for (i, wp) in phase.watched.iter().take(n).enumerate() {
            let peak = [wp.2, node_hwm.get(i).copied().flatten()]
                .into_iter()
                .flatten()
                .max();
            parts.push(format!(
                "n{} {} CPU, peak RSS {}",
                i + 2,
                pct_text(cpu_of(wp)),
                mib(peak)
            ));
        }
        let _ = writeln!(
            w,
            "| nodes (CPU of one core over the window) | {} |",
            parts.join("; ")
        );
        if let Some(rp) = phase.watched.last() {
            let used = |i: &Option<String>| {
                i.as_deref()
                    .and_then(|t| info_field(t, "used_memory"))
                    .map(|b| b / 1024)
            };
            let _ = writeln!(
                w,
                "| redis-server | {} of one core; RSS peak {}; `used_memory` {} before the clients, {} after the window; {} commands processed in all |",
                pct_text(cpu_of(rp)),
                mib(rp.2),
                mib(used(&redis_before)),
                mib(used(&redis_after)),
                redis_stats
                    .as_deref()
                    .and_then(|t| info_field(t, "total_commands_processed"))
                    .map_or_else(|| "n/a".to_string(), int)
            );
        }
        let _ = writeln!(
            w,
            "| upstream connections (mock `/stats`) | {} for {} rooms |",
            upstreams.map_or_else(|| "n/a".to_string(), int),
            args.rooms
        );
    }
    let others_total: f64 = phase.others.iter().map(|o| o.2).sum();
    let busiest_others = phase
        .others
        .iter()
        .filter(|o| o.2 >= 1.0)
        .take(6)
        .map(|(name, n, p)| {
            if *n > 1 {
                format!("`{name}` ×{n} {p:.1} %")
            } else {
                format!("`{name}` {p:.1} %")
            }
        })
        .collect::<Vec<_>>();
    let _ = writeln!(
        w,
        "| for context: other processes in the window | {others_total:.1} % of one core in all{} |",
        if busiest_others.is_empty() {
            String::new()
        } else {
            format!("; busiest: {}", busiest_others.join(", "))
        }
    );
    if a.frames_seen == 0 {
        let _ = writeln!(
            w,
            "| **warning** | no frame stamped in the window reached {}: the relay fell behind by more than the window and the drain, so nothing above counts |",
            if json { "the probe client" } else { "any client" }
        );
    }
    if relay_exited.is_some() || mock_exited.is_some() {
        let _ = writeln!(
            w,
            "| **warning** | a child exited early: relay {relay_exited:?}, mock {mock_exited:?} |"
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Latency is the client's receive time (wall clock, µs, taken when the WebSocket message is \
         read) minus the frame's `now_ms` (the mock's wall clock when it built the frame, before gzip \
         and the write); both ends use the same machine's clock. `now_ms` is whole milliseconds \
         (truncated), so every sample reads 0–1 ms high (0.5 ms on average); the relay − direct \
         difference cancels that offset. Client-side samples include the clients' own scheduling on \
         the shared cores. CPU is utime + stime from `/proc/PID/stat` ({ticks} ticks/s) over the \
         window; memory is from `/proc/PID/status`.\n"
    );
    let _ = writeln!(
        w,
        "<details><summary>relay <code>/metrics</code> after the window (clients still connected)</summary>\n\n```text"
    );
    let metrics = phase.metrics.as_deref().unwrap_or("");
    for line in metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(w, "```\n\n</details>\n");
    for (i, m) in node_metrics.iter().enumerate() {
        let cluster_lines: Vec<&str> = m
            .lines()
            .filter(|l| {
                l.starts_with("tikcast_relay_cluster_")
                    || l.starts_with("tikcast_relay_frames_in_total")
            })
            .collect();
        let _ = writeln!(
            w,
            "<details><summary>node n{} <code>/metrics</code> (cluster lines)</summary>\n\n```text\n{}\n```\n\n</details>\n",
            i + 2,
            cluster_lines.join("\n")
        );
    }

    println!("{md}");
    if !args.no_write {
        let path = args
            .results
            .clone()
            .unwrap_or_else(|| root.join("bench").join("RESULTS.md"));
        append(&path, &md)?;
        log(&format!("appended to {}", path.display()));
    }
    Ok(())
}

fn append(path: &Path, section: &str) -> Result<(), String> {
    use std::io::Write;
    let fresh = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::new();
    if fresh {
        text.push_str(
            "# Benchmark results\n\nSections are appended by the benchmarks in `bench/` (newest last); \
             see `bench/README.md` for how to run them.\n\n",
        );
    }
    text.push_str(section);
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_numbers() {
        let v: Vec<i64> = (1..=1000).collect();
        assert_eq!(pct(&v, 50.0), 500);
        assert_eq!(pct(&v, 99.0), 990);
        assert_eq!(pct(&v, 100.0), 1000);
        assert_eq!(pct(&[7], 0.0), 7);
        assert_eq!(pct(&[], 50.0), 0);
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(59_720_000), "59,720,000");
        assert_eq!(ms(1_234), "1.23 ms");
        assert_eq!(signed_ms(-500), "-0.50 ms");
    }
}
