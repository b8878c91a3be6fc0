//! `tikcast mock`: a local Webcast upstream for tests, benchmarks and the demo. One TCP
//! listener serves three things, told apart by peeking at the HTTP request:
//!
//! * `GET /webcast/im/...` (any path under it) — a TikTok-style push socket (protocol
//!   §1–§3, §6). The client sends `im_enter_room` first and gets `im_enter_room_resp`;
//!   then `msg` frames follow, each a gzipped (`--gzip`) fetch result of up to `--batch`
//!   messages with `need_ack` set. Heartbeats (`hb`, seq 1, 2, 3, … for our room) and acks
//!   (`ack` with the frame's log id and its `internal_ext` as payload) are enforced.
//! * `GET /ws?uniqueId=…&jwtKey=…` — a relay-style socket like Euler's (§8.1): optional
//!   HS256 JWT auth (`--jwt-secret`), one `{"type":"roomInfo",…}` text message (with the
//!   requested `uniqueId`: the mock has one room and serves it under any handle), then
//!   the same push frames with `need_ack` false; nothing is enforced.
//! * `GET /api-live/user/room/` and `GET /webcast/gift/list/` (plain HTTP) — TikTok's
//!   web API for a creator's profile and live room, and the gift catalog ([`web`]);
//!   `--offline NAME` and `--missing NAME` make a handle not live or unknown (its relay
//!   socket is then closed with 4404).
//! * `GET /stats` (plain HTTP) — the counters as JSON. Anything else is a 404.
//!
//! Output: the first stdout line is `{"listening":"ADDR"}`, the last `{"stats":{…}}`;
//! one lowercase line per connection event goes to stderr. Secrets (the JWT secret and
//! tokens) are never printed.
//!
//! # Messages, cursors, resuming
//!
//! One global list of messages (from `--corpus`, a `--script` in the session-script
//! format of [`crate::script`], or the generator; see [`source`]); message `i` has msg id `7400000000000000001 + i`. Every frame's cursor is
//! `mock-<n>`, `n` being the index of the next message that connection would send, and
//! its `internal_ext` is `internal_src:mock|wss_push_room_id:<room>|next:<n>|conn:<id>`.
//! A connection starts at the cursor of its enter-room payload when non-empty, else at
//! the `cursor` query parameter, else at 0. Unparseable cursors start at 0 (logged).
//! The `room_id`, `internal_ext` and `compress` query parameters are accepted unchecked:
//! the enter-room payload must name `--room-id`, and `--gzip` decides compression.
//!
//! # Faults (deterministic for a `--seed`)
//!
//! * `--drop-after M`: counting first transmissions of each message across all
//!   connections, whenever that count crosses a multiple of M and messages remain, the
//!   connection is dropped right after that frame is flushed: no close frame, a FIN, so
//!   the client sees 1006 having received the frame.
//! * `--duplicate-rate P`: message `i` is, with probability P (a seeded hash of `i`),
//!   sent once more in the connection's next frame (same msg id and payload).
//! * `--stall-after M`: once per run, when the first-transmission count reaches M, that
//!   connection goes silent while staying open; heartbeats and acks are no longer checked
//!   on it. The next connection resumes normally.
//! * `--close-code C`: after a connection has sent the last message (right after the
//!   handshake or enter-room when nothing is left) it is closed with C.
//!
//! # Close codes
//!
//! Direct endpoint, all 1000 as TikTok does for heartbeats (§6.4): `payload_handler_hb`
//! (no valid heartbeat within `--hb-timeout-ms` of connecting, entering or the previous
//! heartbeat; a heartbeat before entering; wrong room or sequence), `payload_handler_ack`
//! (unknown log id, wrong `internal_ext`, or a frame unacked for `--ack-timeout-ms`: our
//! assumption, TikTok's ack enforcement is undocumented), `payload_handler_enter_room`
//! (undecodable enter-room or another room: ours), `invalid_frame` (not a push frame:
//! ours). Relay endpoint, Euler's codes (§8.1): 4401 `invalid auth`, 4403 `no permission`,
//! 4400 `invalid options`. `--close-code` uses Euler's or the web player's name for known
//! codes (4404 `not live`, 4005 `stream end`, …) and `mock close` otherwise.

mod conn;
mod jwt;
mod source;
mod state;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::clock::now_ms;
use crate::http_head::Query;
use source::{Room, Source};
use state::{Config, Shared};

/// How each message frame is compressed.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipMode {
    /// Gzip, announced by a `compress_type: gzip` header.
    On,
    /// Plain protobuf.
    Off,
    /// Per frame, a seeded choice of gzip with header, gzip without header, or plain.
    Mixed,
}

#[derive(clap::Args)]
pub struct MockArgs {
    /// Address to listen on; port 0 picks a free port (the first stdout line names it).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Directory of method-keyed JSON message logs (like ../shared/corpus/*.json).
    #[arg(long, conflicts_with = "script")]
    corpus: Option<PathBuf>,
    /// Session script to send (JSON Lines, one event a line, e.g.
    /// {"type":"chat","user":"alice","comment":"hi"}; the format of `tikcast
    /// demo-recording`, in docs/recording.md "Session scripts"). Messages go out in `t`
    /// order, paced by --rate and --batch; a `room` line is ignored (--room-id,
    /// --unique-id); gift lines use the gift list the mock serves unless they name the gift.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Gift catalog of the script's gift lines (`[{id, name, diamondCount, imageUrl}]`, as
    /// demo-recording's --gifts) [default: the gift list the mock serves].
    #[arg(long, value_name = "FILE", requires = "script")]
    gifts: Option<PathBuf>,
    /// Number of messages [default: 1000 generated, or every corpus/script sample;
    /// corpus and script samples repeat when N is larger].
    #[arg(long)]
    messages: Option<usize>,
    /// Messages per second on each connection; 0 sends as fast as possible.
    #[arg(long, default_value_t = 50.0, value_parser = parse_rate)]
    rate: f64,
    /// Messages per frame.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch: u32,
    /// Frame compression.
    #[arg(long, value_enum, default_value_t = GzipMode::On)]
    gzip: GzipMode,
    /// Drop the connection (no close frame) each time M more messages went out for the first time.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    drop_after: Option<u64>,
    /// Probability (0 to 1) that a message is sent twice.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    duplicate_rate: f64,
    /// Once, go silent (socket left open) when M messages went out for the first time.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    stall_after: Option<u64>,
    /// Close with this code after the last message (e.g. 4404 not live, 4005 stream end).
    #[arg(long, value_name = "C", value_parser = parse_close_code)]
    close_code: Option<u16>,
    /// Seed of every fault decision.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Require an HS256 JWT (`jwtKey` query parameter) on the relay endpoint.
    #[arg(
        long,
        value_name = "SECRET",
        env = "TIKCAST_JWT_SECRET",
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
    /// Room id of the mock room.
    #[arg(long, default_value_t = 7_300_000_000_000_000_001)]
    room_id: u64,
    /// Handle of the mock room's host (receiver of generated gifts). The relay endpoint
    /// serves whichever uniqueId is asked for and echoes it in roomInfo.
    #[arg(long, default_value = "mock.host")]
    unique_id: String,
    /// Close 1000 "payload_handler_hb" when no valid heartbeat arrives for this long.
    #[arg(long, default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_MS))]
    hb_timeout_ms: u64,
    /// Close 1000 "payload_handler_ack" when a frame stays unacked for this long.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_MS))]
    ack_timeout_ms: u64,
    /// Exit by itself after this many seconds [default: run until Ctrl-C].
    #[arg(long, value_name = "N", value_parser = parse_seconds)]
    max_seconds: Option<f64>,
    /// Exit once every message has been sent and no client is connected.
    #[arg(long)]
    exit_when_done: bool,
    /// A creator who exists but is not live (repeatable): its relay socket is closed with
    /// 4404 and `/api-live/user/room/` shows no room.
    #[arg(long = "offline", value_name = "NAME")]
    offline: Vec<String>,
    /// A handle that names no user (repeatable): 4404 on the relay socket,
    /// `user_not_found` from `/api-live/user/room/`.
    #[arg(long = "missing", value_name = "NAME")]
    missing: Vec<String>,
}

impl std::fmt::Debug for MockArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hand-written so the JWT secret can never reach a log through `{:?}`.
        f.debug_struct("MockArgs")
            .field("listen", &self.listen)
            .field("corpus", &self.corpus)
            .field("script", &self.script)
            .field("gifts", &self.gifts)
            .field("messages", &self.messages)
            .field("rate", &self.rate)
            .field("batch", &self.batch)
            .field("gzip", &self.gzip)
            .field("drop_after", &self.drop_after)
            .field("duplicate_rate", &self.duplicate_rate)
            .field("stall_after", &self.stall_after)
            .field("close_code", &self.close_code)
            .field("seed", &self.seed)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("room_id", &self.room_id)
            .field("unique_id", &self.unique_id)
            .field("hb_timeout_ms", &self.hb_timeout_ms)
            .field("ack_timeout_ms", &self.ack_timeout_ms)
            .field("max_seconds", &self.max_seconds)
            .field("exit_when_done", &self.exit_when_done)
            .field("offline", &self.offline)
            .field("missing", &self.missing)
            .finish()
    }
}

/// Longest heartbeat or ack timeout (a day), so deadlines never overflow.
const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// Slowest pacing accepted: one message per 100 s.
const MIN_RATE: f64 = 0.01;

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r == 0.0 || (r.is_finite() && r >= MIN_RATE) => Ok(r),
        _ => {
            Err("expected messages per second: 0 (as fast as possible) or a number >= 0.01".into())
        }
    }
}

fn parse_probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a probability between 0 and 1".into()),
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 1e9 => Ok(s),
        _ => Err("expected a number of seconds, more than 0 and at most 1e9".into()),
    }
}

/// Codes a server may send: 1000–1003, 1007–1014 and the application range 3000–4999
/// (1004–1006 and 1015 are reserved, RFC 6455 §7.4).
fn parse_close_code(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(c @ (1000..=1003 | 1007..=1014 | 3000..=4999)) => Ok(c),
        _ => {
            Err("expected a close code a server may send: 1000-1003, 1007-1014 or 3000-4999".into())
        }
    }
}

pub fn run(args: MockArgs) -> Result<(), String> {
    let source = match (&args.corpus, &args.script) {
        (Some(dir), _) => Source::Corpus(dir.clone()),
        (None, Some(file)) => Source::Script(file.clone(), args.gifts.clone()),
        (None, None) => Source::Generated,
    };
    let started_ms = now_ms();
    let room = Room {
        room_id: args.room_id,
        host: jwt::normalize_handle(&args.unique_id),
        base_ms: started_ms,
    };
    if room.host.is_empty() {
        return Err("--unique-id must not be empty".into());
    }
    let messages = source::build(&source, args.messages, &room)?;
    let cfg = Config {
        room_id: args.room_id,
        unique_id: room.host.clone(),
        seconds_per_message: if args.rate > 0.0 {
            1.0 / args.rate
        } else {
            0.0
        },
        batch: args.batch as usize,
        gzip: args.gzip,
        drop_after: args.drop_after,
        duplicate_rate: args.duplicate_rate,
        stall_after: args.stall_after,
        close_code: args.close_code,
        seed: args.seed,
        jwt_secret: args.jwt_secret.map(String::into_bytes),
        hb_timeout: Duration::from_millis(args.hb_timeout_ms),
        ack_timeout: Duration::from_millis(args.ack_timeout_ms),
        started_ms,
        offline: args
            .offline
            .iter()
            .map(|n| jwt::normalize_handle(n))
            .collect(),
        missing: args
            .missing
            .iter()
            .map(|n| jwt::normalize_handle(n))
            .collect(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let shared = Arc::new(Shared::new(cfg, messages));
    let result = runtime.block_on(serve(
        &args.listen,
        source,
        shared,
        args.max_seconds,
        args.exit_when_done,
    ));
    // Connection tasks still running (clients that stay connected) are cancelled.
    runtime.shutdown_timeout(Duration::from_millis(200));
    result
}

async fn serve(
    listen: &str,
    source: Source,
    shared: Arc<Shared>,
    max_seconds: Option<f64>,
    exit_when_done: bool,
) -> Result<(), String> {
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        format!("cannot listen on {listen}: {e}; choose another --listen address (port 0 picks a free one)")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    print_line(&serde_json::json!({ "listening": addr.to_string() }));
    eprintln!(
        "mock: {} messages ({}), direct ws://{addr}/webcast/im/ws_proxy/ws_reuse_supplement/?room_id={}, relay ws://{addr}/ws?uniqueId={}, stats http://{addr}/stats",
        shared.messages.len(),
        source.describe(),
        shared.cfg.room_id,
        shared.cfg.unique_id,
    );
    let deadline = async {
        match max_seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: rely on --max-seconds or being killed.
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(deadline, interrupted);
    let done = |shared: &Shared| {
        shared.all_sent() && shared.active_connections() == 0 && shared.connections_served() > 0
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move { handle_tcp(stream, peer, shared).await });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    eprintln!("mock: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = &mut deadline => {
                eprintln!("mock: --max-seconds reached, exiting");
                break;
            }
            _ = &mut interrupted => {
                eprintln!("mock: interrupted, exiting");
                break;
            }
            _ = shared.connection_ended.notified(), if exit_when_done => {
                if done(&shared) {
                    eprintln!("mock: every message sent and no client connected, exiting");
                    break;
                }
            }
        }
    }
    print_line(&serde_json::json!({ "stats": shared.stats_json() }));
    Ok(())
}

/// One JSON line on stdout, flushed at once (tests and scripts read it live).
fn print_line(value: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

// ------------------------------------------------------------------------------ http

use crate::http_head::{peek_head, Head};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Direct,
    Relay,
    Stats,
    UserRoom,
    GiftList,
    NotFound,
}

fn route(path: &str) -> Route {
    if path.starts_with("/webcast/im/") {
        Route::Direct
    } else if path == "/ws" || path == "/ws/" {
        Route::Relay
    } else if path == "/stats" {
        Route::Stats
    } else if path == "/api-live/user/room/" || path == "/api-live/user/room" {
        Route::UserRoom
    } else if path == "/webcast/gift/list/" || path == "/webcast/gift/list" {
        Route::GiftList
    } else {
        Route::NotFound
    }
}

/// Reads the request head off the socket, answers with a small HTTP response, closes.
async fn respond(mut stream: TcpStream, head: &Head, status: &str, content_type: &str, body: &str) {
    // Consume what we peeked so closing does not reset the connection under the reply.
    let mut discard = vec![0u8; head.len];
    if stream.read_exact(&mut discard).await.is_err() {
        return;
    }
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\naccess-control-allow-origin: *\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn handle_tcp(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let Some(head) = peek_head(&stream).await else {
        return;
    };
    let route = route(&head.path);
    let text = "text/plain; charset=utf-8";
    if head.method != "GET" {
        respond(
            stream,
            &head,
            "405 Method Not Allowed",
            text,
            "only GET is served\n",
        )
        .await;
        return;
    }
    match (route, head.upgrade) {
        (Route::Stats, false) => {
            let body = format!("{}\n", shared.stats_json());
            respond(stream, &head, "200 OK", "application/json", &body).await;
        }
        (Route::UserRoom, false) => {
            shared.count_user_lookup();
            let (status, body) = web::user_room(&shared.cfg, &Query::parse(&head.query));
            respond(stream, &head, status, "application/json", &body).await;
        }
        (Route::GiftList, false) => {
            shared.count_gift_list();
            respond(
                stream,
                &head,
                "200 OK",
                "application/json",
                &web::gift_list(),
            )
            .await;
        }
        (Route::Direct | Route::Relay, false) => {
            respond(
                stream,
                &head,
                "426 Upgrade Required",
                text,
                "this is a websocket endpoint\n",
            )
            .await;
        }
        (Route::Direct | Route::Relay, true) => {
            let config = WebSocketConfig::default()
                .max_message_size(Some(1 << 20))
                .max_frame_size(Some(1 << 20));
            // The callback's signature is tungstenite's; its error type is what it is.
            #[allow(clippy::result_large_err)]
            let check =
                |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
                    // The head we routed on is the one tungstenite parsed; refuse a mismatch.
                    if request.uri().path() == head.path {
                        Ok(response)
                    } else {
                        let mut refused = ErrorResponse::new(Some("not found".into()));
                        *refused.status_mut() =
                            tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
                        Err(refused)
                    }
                };
            let ws =
                match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config))
                    .await
                {
                    Ok(ws) => ws,
                    Err(e) => {
                        eprintln!("mock: websocket handshake with {peer} failed: {e}");
                        return;
                    }
                };
            let (conn_id, _active) = shared.connection();
            let query = Query::parse(&head.query);
            if route == Route::Direct {
                conn::serve_direct(ws, shared, conn_id, peer, query).await;
            } else {
                conn::serve_relay(ws, shared, conn_id, peer, query).await;
            }
        }
        _ => {
            respond(
                stream,
                &head,
                "404 Not Found",
                text,
                "not found: try /webcast/im/ws_proxy/ws_reuse_supplement/, /ws, /api-live/user/room/, /webcast/gift/list/ or /stats\n",
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("/webcast/im/ws_proxy/ws_reuse_supplement/"),
            Route::Direct
        );
        assert_eq!(route("/ws"), Route::Relay);
        assert_eq!(route("/stats"), Route::Stats);
        assert_eq!(route("/"), Route::NotFound);
    }

    #[test]
    fn close_codes_are_checked() {
        assert_eq!(parse_close_code("4404"), Ok(4404));
        assert!(parse_close_code("1006").is_err());
        assert!(parse_close_code("5000").is_err());
    }
}
