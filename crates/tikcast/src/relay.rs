//! `tikcast relay`: a self-hostable JWT relay for browsers (see `docs/relay.md`).
//!
//! Browsers connect to `GET /ws?uniqueId=NAME&jwtKey=JWT[&cursor=C]`, get one
//! `{"type":"roomInfo",…}` text message and then the upstream's push frames as binary,
//! unchanged, decoded in the browser; with `format=json` any client gets one JSON text
//! message per event instead (`json`). One upstream per room is shared by every viewer
//! (`hub`), opened by the first and closed a grace period after the last leaves; a viewer
//! whose bounded queue overflows is cut off with 4008. Upstreams (`upstream`): a
//! relay-style socket such as `tikcast mock` (`mock:URL`), TikTok itself through the
//! core `Session` and a sign server (`tiktok`), or a recording (`replay:FILE`).
//! `--record DIR` tees every upstream frame into a recording (`crate::recording`).
//! `POST /api/rooms/check`, `GET /api/users/NAME` and `GET /api/gifts` answer from the
//! upstream's web side through caches (`rest`).
//! `POST /api/jwt` mints tokens for a backend holding the admin key (`mint`); rooms
//! going live and ending are posted to `--webhook` receivers, `--watch` keeps rooms open
//! without viewers for them (`webhook`).
//!
//! Settings come from flags, then `TIKCAST_RELAY_*`/`TIKCAST_*` environment variables
//! (clap), then the `--config` TOML file, then defaults. Secrets (JWT secret, sign API
//! key, admin key, webhook secret) are never printed; the last three can be read from
//! environment variables named by flags; tokens are logged as a short hash. The sign
//! service (`sign`: ours, Euler Stream's or TikTool's) is picked with `--signer`.
//! `--cluster redis://…` shares rooms between several relay nodes through Redis: one
//! upstream per room cluster-wide, its frames through a Redis stream (`cluster`).

mod auth;
mod cluster;
mod http_client;
mod hub;
pub(crate) mod json;
mod metrics;
pub(crate) mod mint;
mod rest;
mod server;
pub(crate) mod sign;
pub(crate) mod upstream;
pub(crate) mod webhook;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

// No `Debug`: the arguments hold secrets.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// Address to listen on (port 0 picks a free port; the first stdout line names it).
    #[arg(long, env = "TIKCAST_RELAY_LISTEN")]
    listen: Option<String>,
    /// TOML settings file (flags and environment variables win over it).
    #[arg(long, env = "TIKCAST_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Where rooms come from: `mock:ws://HOST:PORT/ws`, `tiktok` (through a sign service,
    /// see --signer) or `replay:FILE`.
    #[arg(long, env = "TIKCAST_RELAY_UPSTREAM")]
    upstream: Option<String>,
    /// HS256 secret that browser tokens are signed with (at least 16 bytes).
    #[arg(long, env = "TIKCAST_RELAY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// PEM file of an RS256 public key tokens may be signed for (repeatable).
    #[arg(long = "rs256-key")]
    rs256_keys: Vec<PathBuf>,
    /// PEM file of an ES256 (P-256) public key (repeatable).
    #[arg(long = "es256-key")]
    es256_keys: Vec<PathBuf>,
    /// Require this `aud` claim.
    #[arg(long)]
    audience: Option<String>,
    /// Accept every browser without a token (local development only).
    #[arg(long)]
    no_auth: bool,
    /// Refuse tokens without an `allowedCreators` (or `allowed_creators`) claim.
    #[arg(long)]
    require_scope: bool,
    /// Origins allowed to open sockets and call the API (repeatable; `*` = any).
    #[arg(long = "allow-origin")]
    allowed_origins: Vec<String>,
    /// Sign service of the tiktok upstream: `custom` (our contract, needs --signer-url),
    /// `euler` (Euler Stream) or `tiktool` (TikTool) [default: custom].
    #[arg(long, env = "TIKCAST_SIGNER", value_name = "NAME")]
    signer: Option<String>,
    /// The sign service's URL: for `custom` its endpoint (our contract, docs/relay.md); for
    /// `euler` and `tiktool` a base URL replacing the service's own
    /// (https://api.eulerstream.com, https://api.tik.tools).
    #[arg(
        long = "signer-url",
        visible_alias = "sign-url",
        env = "TIKCAST_SIGN_URL",
        value_name = "URL"
    )]
    sign_url: Option<String>,
    /// Name of the environment variable holding the sign service's API key (needed by
    /// `euler` and `tiktool`; never logged).
    #[arg(long, value_name = "VAR")]
    signer_key_env: Option<String>,
    /// The sign service's API key itself (prefer --signer-key-env: a flag's value shows in
    /// the process list).
    #[arg(long, env = "TIKCAST_SIGN_API_KEY", hide_env_values = true)]
    sign_api_key: Option<String>,
    /// HS256 secret of a relay-style upstream that wants tokens (e.g. `tikcast mock --jwt-secret`).
    #[arg(long, env = "TIKCAST_UPSTREAM_JWT_SECRET", hide_env_values = true)]
    upstream_jwt_secret: Option<String>,
    /// Replay speed for `replay:FILE` (2 = twice as fast).
    #[arg(long)]
    speed: Option<f64>,
    /// Start a `replay:FILE` upstream over when it ends.
    #[arg(long = "loop")]
    looped: bool,
    /// Record every upstream frame of each room into this directory.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Gift catalog served at /api/gifts when the upstream's cannot be fetched (TikTok's
    /// gift-list JSON or our own shape).
    #[arg(long)]
    gifts: Option<PathBuf>,
    /// How long /api/gifts serves the catalog fetched from the upstream before fetching
    /// it again (90s, 10m, 1h, 2d; 0 = every time; default 1h).
    #[arg(long, value_name = "DURATION")]
    gift_cache_ttl: Option<String>,
    /// Base URL of TikTok's web API (user and live lookups, gift list) for the REST
    /// helpers [default: TikTok's hosts for `tiktok`, the mock's host for `mock:URL`].
    #[arg(long, value_name = "URL")]
    web_api_url: Option<String>,
    /// JSON object of uniqueId → room info served by /api/rooms before asking the upstream.
    #[arg(long)]
    rooms: Option<PathBuf>,
    /// Serve /api/* without a token.
    #[arg(long)]
    public_api: bool,
    /// Frames queued per viewer before it counts as slow and is cut off with 4008.
    #[arg(long)]
    client_queue: Option<usize>,
    /// Recent frames kept per room so a reconnecting viewer can resume from its cursor.
    #[arg(long)]
    resume_frames: Option<usize>,
    /// Keep a room's upstream this long after its last viewer left.
    #[arg(long)]
    grace_ms: Option<u64>,
    /// Close viewers with 4555 after this many seconds.
    #[arg(long)]
    max_lifetime_seconds: Option<u64>,
    /// Sockets per token when the token has no maxWebSockets claim (1 to 10000).
    #[arg(long)]
    max_sockets_per_token: Option<u32>,
    /// Distinct rooms one token may hold sockets in at once.
    #[arg(long)]
    max_rooms_per_token: Option<usize>,
    /// Connections per client IP still sending their request head; more are closed at once.
    #[arg(long)]
    max_pending_heads_per_ip: Option<u32>,
    /// Upstream lookups of unknown creators (/api/rooms) per minute per token (0 = unlimited).
    #[arg(long)]
    lookups_per_minute_per_token: Option<u32>,
    /// Upstream lookups of unknown creators (/api/rooms) per minute per client IP (0 = unlimited).
    #[arg(long)]
    lookups_per_minute_per_ip: Option<u32>,
    /// Concurrent sockets per client IP (0 = unlimited).
    #[arg(long)]
    max_sockets_per_ip: Option<u32>,
    /// New sockets (and API calls) per minute per client IP (0 = unlimited).
    #[arg(long)]
    connects_per_minute_per_ip: Option<u32>,
    /// New sockets per minute per token (0 = unlimited).
    #[arg(long)]
    connects_per_minute_per_token: Option<u32>,
    /// Rooms open at once.
    #[arg(long)]
    max_rooms: Option<usize>,
    /// Kernel send buffer of each viewer socket, in bytes (the kernel may double it).
    #[arg(long)]
    viewer_send_buffer: Option<usize>,
    /// An upstream silent this long is reconnected.
    #[arg(long)]
    upstream_liveness_ms: Option<u64>,
    /// Close a room's viewers with 4006 when its upstream delivered nothing for this many
    /// seconds (default 60, as the hosted relays, and 0 for a `replay:` upstream, whose
    /// silences are the recording's; 0 = never).
    #[arg(long, value_name = "SECS")]
    upstream_idle_close: Option<u64>,
    /// Name of the environment variable holding the admin API key that opens
    /// `POST /api/jwt` (token minting; needs --jwt-secret). The key is never logged.
    #[arg(long, value_name = "VAR")]
    admin_key_env: Option<String>,
    /// Longest lifetime of a token minted by `POST /api/jwt` (90s, 10m, 1h, 2d; default 1h).
    #[arg(long, value_name = "DURATION")]
    max_token_ttl: Option<String>,
    /// POST `live.start` and `live.end` events to this URL (repeatable; see docs/relay.md).
    #[arg(long = "webhook", value_name = "URL")]
    webhooks: Vec<String>,
    /// Name of the environment variable holding the webhook signing secret (at least 16
    /// bytes; never logged).
    #[arg(long, value_name = "VAR")]
    webhook_secret_env: Option<String>,
    /// SQLite file of the webhook delivery queue (created if missing; survives restarts).
    #[arg(long, value_name = "PATH")]
    webhook_db: Option<PathBuf>,
    /// Delay before the first webhook retry; each later one doubles, plus jitter (default 5000).
    #[arg(long, value_name = "MS")]
    webhook_backoff_ms: Option<u64>,
    /// Stop retrying a webhook event this long after it (90s, 10m, 1h, 2d; default 24h).
    #[arg(long, value_name = "DURATION")]
    webhook_retry_for: Option<String>,
    /// Keep an upstream open for this creator without viewers, so its webhooks fire
    /// (repeatable).
    #[arg(long = "watch", value_name = "NAME")]
    watch: Vec<String>,
    /// A watched creator whose room closed (offline, ended) is tried again after this many
    /// seconds (default 60).
    #[arg(long, value_name = "SECS")]
    watch_interval: Option<u64>,
    /// Share rooms with other relay nodes through this Redis (redis://HOST:PORT[/DB]; a
    /// password in it is never printed): one upstream per room across all nodes.
    #[arg(
        long,
        env = "TIKCAST_RELAY_CLUSTER",
        hide_env_values = true,
        value_name = "URL"
    )]
    cluster: Option<String>,
    /// This node's name in the cluster (letters, digits, `.`, `_`, `-`; default: random).
    #[arg(long, env = "TIKCAST_RELAY_NODE_ID", value_name = "ID")]
    node_id: Option<String>,
    /// How long a room's lease lasts without renewal; a dead holder is replaced after
    /// this plus a quarter of it (default 10000, at least 500).
    #[arg(long, value_name = "MS")]
    lease_ms: Option<u64>,
    /// Records kept in each room's Redis stream (approximate trim; default twice
    /// --resume-frames, at least 64).
    #[arg(long, value_name = "N")]
    stream_maxlen: Option<usize>,
    /// Exit by itself after this many seconds.
    #[arg(long)]
    max_seconds: Option<f64>,
}

/// The TOML file (every key optional; see docs/relay.md for an example).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    upstream: Option<String>,
    allowed_origins: Option<Vec<String>>,
    record: Option<PathBuf>,
    gifts: Option<PathBuf>,
    gift_cache_ttl: Option<String>,
    web_api_url: Option<String>,
    rooms: Option<PathBuf>,
    public_api: Option<bool>,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    sign: FileSign,
    #[serde(default)]
    replay: FileReplay,
    #[serde(default)]
    admin: FileAdmin,
    #[serde(default)]
    webhooks: FileWebhooks,
    #[serde(default)]
    cluster: FileCluster,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileCluster {
    /// redis://HOST:PORT[/DB]
    url: Option<String>,
    node_id: Option<String>,
    lease_ms: Option<u64>,
    stream_maxlen: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileWebhooks {
    urls: Option<Vec<String>>,
    /// Name of the environment variable holding the signing secret (not the secret).
    secret_env: Option<String>,
    db: Option<PathBuf>,
    backoff_ms: Option<u64>,
    retry_for: Option<String>,
    watch: Option<Vec<String>>,
    watch_interval: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileAdmin {
    /// Name of the environment variable holding the admin API key (not the key).
    key_env: Option<String>,
    max_token_ttl: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    jwt_secret: Option<String>,
    rs256_keys: Option<Vec<PathBuf>>,
    es256_keys: Option<Vec<PathBuf>>,
    audience: Option<String>,
    leeway_seconds: Option<u64>,
    disabled: Option<bool>,
    require_scope: Option<bool>,
    upstream_jwt_secret: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    client_queue: Option<usize>,
    resume_frames: Option<usize>,
    grace_ms: Option<u64>,
    max_lifetime_seconds: Option<u64>,
    max_sockets_per_token: Option<u32>,
    max_rooms_per_token: Option<usize>,
    max_pending_heads_per_ip: Option<u32>,
    lookups_per_minute_per_token: Option<u32>,
    lookups_per_minute_per_ip: Option<u32>,
    max_sockets_per_ip: Option<u32>,
    connects_per_minute_per_ip: Option<u32>,
    connects_per_minute_per_token: Option<u32>,
    max_rooms: Option<usize>,
    viewer_send_buffer: Option<usize>,
    upstream_liveness_ms: Option<u64>,
    upstream_idle_close: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSign {
    /// `custom`, `euler` or `tiktool`.
    signer: Option<String>,
    url: Option<String>,
    /// Name of the environment variable holding the API key (not the key).
    key_env: Option<String>,
    api_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileReplay {
    speed: Option<f64>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
}

pub(crate) struct Limits {
    pub(crate) client_queue: usize,
    pub(crate) resume_frames: usize,
    pub(crate) grace: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) max_sockets_per_token: u32,
    pub(crate) max_rooms_per_token: usize,
    pub(crate) max_pending_heads_per_ip: u32,
    pub(crate) lookups_per_minute_per_token: u32,
    pub(crate) lookups_per_minute_per_ip: u32,
    pub(crate) max_sockets_per_ip: u32,
    pub(crate) connects_per_minute_per_ip: u32,
    pub(crate) connects_per_minute_per_token: u32,
    pub(crate) max_rooms: usize,
    pub(crate) viewer_send_buffer: usize,
}

pub(crate) enum UpstreamKind {
    /// A relay-style socket (the mock's `/ws`).
    Relay {
        url: String,
        jwt_secret: Option<Vec<u8>>,
    },
    Tiktok {
        signer: sign::Signer,
    },
    Replay {
        file: PathBuf,
        speed: f64,
        looped: bool,
    },
}

/// The resolved settings.
pub(crate) struct Settings {
    pub(crate) listen: String,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) auth: Option<auth::Verifier>,
    pub(crate) limits: Limits,
    pub(crate) upstream: UpstreamKind,
    pub(crate) upstream_liveness_ms: u64,
    /// A room whose upstream delivered nothing this long is closed with 4006 (zero = never).
    pub(crate) upstream_idle_close: Duration,
    pub(crate) record_dir: Option<PathBuf>,
    pub(crate) gifts_json: Option<String>,
    /// How long a gift catalog fetched from the upstream is served again.
    pub(crate) gift_cache_ttl: Duration,
    /// The upstream's web side (user lookups, live checks, gift list), when it has one.
    pub(crate) web_api: Option<rest::WebApi>,
    pub(crate) rooms_cache: Option<HashMap<String, serde_json::Value>>,
    pub(crate) public_api: bool,
    /// The admin API (`POST /api/jwt`), when an admin key is configured.
    pub(crate) admin: Option<mint::Admin>,
    /// Webhook receivers and their delivery queue, when configured.
    pub(crate) webhooks: Option<Arc<webhook::Webhooks>>,
    /// Creators watched without viewers (`--watch`), normalised.
    pub(crate) watch: Vec<String>,
    pub(crate) watch_interval: Duration,
    /// `--cluster`: Redis and this node's part in it.
    pub(crate) cluster: Option<cluster::ClusterSettings>,
}

/// Default of `--upstream-idle-close`: the hosted relays close with 4006 after 60 s
/// without messages, and clients written for them treat 4006 as "stream over, check
/// again later". Twice the default upstream liveness (30 s), so a silent upstream gets a
/// reconnect before its viewers are told.
const DEFAULT_UPSTREAM_IDLE_CLOSE_S: u64 = 60;

/// Lowercase, trimmed, without a leading `@`: how handles are compared.
pub(crate) fn normalize_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

fn settings(a: RelayArgs) -> Result<(Settings, Option<f64>), String> {
    let file: FileConfig = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let fl = &file.limits;
    let limits = Limits {
        client_queue: a
            .client_queue
            .or(fl.client_queue)
            .unwrap_or(256)
            .clamp(1, 65_536),
        resume_frames: a
            .resume_frames
            .or(fl.resume_frames)
            .unwrap_or(512)
            .min(65_536),
        grace: Duration::from_millis(a.grace_ms.or(fl.grace_ms).unwrap_or(10_000)),
        max_lifetime: Duration::from_secs(
            a.max_lifetime_seconds
                .or(fl.max_lifetime_seconds)
                .unwrap_or(8 * 3600)
                .clamp(1, 30 * 86_400),
        ),
        max_sockets_per_token: a
            .max_sockets_per_token
            .or(fl.max_sockets_per_token)
            .unwrap_or(1),
        max_rooms_per_token: a
            .max_rooms_per_token
            .or(fl.max_rooms_per_token)
            .unwrap_or(10),
        max_pending_heads_per_ip: a
            .max_pending_heads_per_ip
            .or(fl.max_pending_heads_per_ip)
            .unwrap_or(32),
        lookups_per_minute_per_token: a
            .lookups_per_minute_per_token
            .or(fl.lookups_per_minute_per_token)
            .unwrap_or(20),
        lookups_per_minute_per_ip: a
            .lookups_per_minute_per_ip
            .or(fl.lookups_per_minute_per_ip)
            .unwrap_or(60),
        max_sockets_per_ip: a
            .max_sockets_per_ip
            .or(fl.max_sockets_per_ip)
            .unwrap_or(100),
        connects_per_minute_per_ip: a
            .connects_per_minute_per_ip
            .or(fl.connects_per_minute_per_ip)
            .unwrap_or(120),
        connects_per_minute_per_token: a
            .connects_per_minute_per_token
            .or(fl.connects_per_minute_per_token)
            .unwrap_or(30),
        max_rooms: a.max_rooms.or(fl.max_rooms).unwrap_or(100).max(1),
        viewer_send_buffer: a
            .viewer_send_buffer
            .or(fl.viewer_send_buffer)
            .unwrap_or(256 * 1024)
            .clamp(4096, 64 << 20),
    };
    if !(1..=auth::MAX_WEB_SOCKETS).contains(&u64::from(limits.max_sockets_per_token)) {
        return Err(format!(
            "--max-sockets-per-token (limits.max_sockets_per_token) must be from 1 to {}; a token's maxWebSockets overrides it",
            auth::MAX_WEB_SOCKETS
        ));
    }
    if limits.max_rooms_per_token == 0 {
        return Err("--max-rooms-per-token (limits.max_rooms_per_token) must be at least 1".into());
    }
    if limits.max_pending_heads_per_ip == 0 {
        return Err(
            "--max-pending-heads-per-ip (limits.max_pending_heads_per_ip) must be at least 1"
                .into(),
        );
    }
    let no_auth = a.no_auth || file.auth.disabled == Some(true);
    let require_scope = a.require_scope || file.auth.require_scope == Some(true);
    if no_auth && require_scope {
        return Err("--require-scope (auth.require_scope) needs tokens: drop it or --no-auth (auth.disabled)".into());
    }
    let secret = a.jwt_secret.or(file.auth.jwt_secret);
    let audience = a.audience.or(file.auth.audience);
    let auth = if no_auth {
        None
    } else {
        let rs = if a.rs256_keys.is_empty() {
            file.auth.rs256_keys.unwrap_or_default()
        } else {
            a.rs256_keys
        };
        let es = if a.es256_keys.is_empty() {
            file.auth.es256_keys.unwrap_or_default()
        } else {
            a.es256_keys
        };
        Some(
            auth::Verifier::new(
                secret.as_deref().map(str::as_bytes),
                &rs,
                &es,
                audience.clone(),
                file.auth.leeway_seconds.unwrap_or(5).min(300),
            )?
            .require_scope(require_scope),
        )
    };
    let admin = match a.admin_key_env.or(file.admin.key_env) {
        Some(var) => {
            if auth.is_none() {
                return Err("--admin-key-env mints tokens for a relay that checks them: drop --no-auth (auth.disabled)".into());
            }
            let max_ttl = match a.max_token_ttl.or(file.admin.max_token_ttl) {
                Some(text) => {
                    mint::parse_duration(&text).map_err(|e| format!("--max-token-ttl: {e}"))?
                }
                None => mint::DEFAULT_MAX_TTL,
            };
            Some(mint::Admin::from_env(
                &var,
                secret.as_deref().map(str::as_bytes),
                audience,
                max_ttl,
            )?)
        }
        None if a.max_token_ttl.is_some() => {
            return Err(
                "--max-token-ttl needs --admin-key-env VAR (the admin api it limits)".into(),
            )
        }
        None => None,
    };
    let upstream_text = a.upstream.or(file.upstream).ok_or(
        "no upstream: pass --upstream mock:ws://HOST:PORT/ws, --upstream tiktok --signer euler|tiktool|custom, or --upstream replay:FILE",
    )?;
    // A misspelt signer is refused whatever the upstream.
    let service = match a.signer.as_deref().or(file.sign.signer.as_deref()) {
        Some(name) => sign::Service::parse(name)?,
        None => sign::Service::Custom,
    };
    let upstream = if let Some(url) = upstream_text.strip_prefix("mock:") {
        check_ws_url(url).map_err(|e| format!("--upstream mock:URL: {e}"))?;
        UpstreamKind::Relay {
            url: url.to_string(),
            jwt_secret: a
                .upstream_jwt_secret
                .or(file.auth.upstream_jwt_secret)
                .map(String::into_bytes),
        }
    } else if let Some(path) = upstream_text.strip_prefix("replay:") {
        let file_path = PathBuf::from(path);
        crate::recording::read(&file_path)?;
        let speed = a.speed.or(file.replay.speed).unwrap_or(1.0);
        if !(speed.is_finite() && (0.01..=1000.0).contains(&speed)) {
            return Err("--speed must be between 0.01 and 1000".into());
        }
        UpstreamKind::Replay {
            file: file_path,
            speed,
            looped: a.looped || file.replay.looped == Some(true),
        }
    } else if upstream_text == "tiktok" {
        let key = sign_key(
            service,
            a.signer_key_env.or(file.sign.key_env),
            a.sign_api_key.or(file.sign.api_key),
        )?;
        let url =
            match (a.sign_url.or(file.sign.url), service.default_url()) {
                (Some(url), _) => url,
                (None, Some(default)) => default.to_string(),
                (None, None) => return Err(
                    "the tiktok upstream needs a sign service: --signer euler or --signer tiktool \
                 (with --signer-key-env VAR), or your own sign server with --signer-url URL \
                 (see docs/relay.md for its contract)"
                        .into(),
                ),
            };
        http_client::parse_url(&url).map_err(|e| format!("--signer-url: {e}"))?;
        UpstreamKind::Tiktok {
            signer: sign::Signer {
                service,
                url,
                api_key: key,
                room_lookup: None,
            },
        }
    } else {
        return Err(format!(
            "unknown upstream {:?}: use mock:URL, tiktok or replay:FILE",
            upstream_text.chars().take(40).collect::<String>()
        ));
    };
    let fc = file.cluster;
    let cluster = match a.cluster.or(fc.url) {
        None => {
            if a.node_id.is_some() || a.lease_ms.is_some() || a.stream_maxlen.is_some() {
                return Err(
                    "--node-id, --lease-ms and --stream-maxlen need --cluster redis://HOST:PORT"
                        .into(),
                );
            }
            None
        }
        Some(url) => {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(format!(
                    "--cluster {}: write redis://HOST:PORT[/DB]",
                    cluster::redacted(&url)
                ));
            }
            let node = match a.node_id.or(fc.node_id) {
                Some(n) => n,
                None => format!(
                    "node-{}",
                    mint::random_id()
                        .unwrap_or_else(|_| format!("{:x}", random_seed()))
                        .get(..8)
                        .unwrap_or("0")
                ),
            };
            if node.is_empty()
                || node.len() > 64
                || !node
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err("--node-id: use 1 to 64 letters, digits, '.', '_' or '-'".into());
            }
            let lease_ms = a
                .lease_ms
                .or(fc.lease_ms)
                .unwrap_or(cluster::DEFAULT_LEASE_MS);
            if !(500..=600_000).contains(&lease_ms) {
                return Err("--lease-ms (cluster.lease_ms) must be from 500 to 600000".into());
            }
            let maxlen = a
                .stream_maxlen
                .or(fc.stream_maxlen)
                .unwrap_or(limits.resume_frames * 2)
                .clamp(64, 1_000_000);
            Some(cluster::ClusterSettings {
                url,
                node,
                lease: Duration::from_millis(lease_ms),
                maxlen,
            })
        }
    };
    let fw = file.webhooks;
    let urls = if a.webhooks.is_empty() {
        fw.urls.unwrap_or_default()
    } else {
        a.webhooks
    };
    let secret_env = a.webhook_secret_env.or(fw.secret_env);
    let webhooks = if urls.is_empty() {
        if secret_env.is_some() || a.webhook_db.is_some() {
            return Err(
                "--webhook-secret-env and --webhook-db need at least one --webhook URL".into(),
            );
        }
        None
    } else {
        let db = a.webhook_db.or(fw.db).unwrap_or_else(webhook::default_db);
        let retry_for = match a.webhook_retry_for.or(fw.retry_for) {
            Some(t) => mint::parse_duration(&t).map_err(|e| format!("--webhook-retry-for: {e}"))?,
            None => Duration::from_secs(86_400),
        };
        Some(Arc::new(webhook::Webhooks::new(
            urls,
            secret_env.as_deref(),
            &db,
            Duration::from_millis(a.webhook_backoff_ms.or(fw.backoff_ms).unwrap_or(5000)),
            retry_for,
        )?))
    };
    let watch_names = if a.watch.is_empty() {
        fw.watch.unwrap_or_default()
    } else {
        a.watch
    };
    let mut watch = Vec::new();
    for name in &watch_names {
        let h = normalize_handle(name);
        if !server::valid_handle(&h) {
            return Err(format!(
                "--watch {:?}: {}",
                name.chars().take(32).collect::<String>(),
                server::HANDLE_RULES
            ));
        }
        if !watch.contains(&h) {
            watch.push(h);
        }
    }
    let watch_interval = Duration::from_secs(
        a.watch_interval
            .or(fw.watch_interval)
            .unwrap_or(60)
            .clamp(1, 86_400),
    );
    let gifts_json = match a.gifts.or(file.gifts) {
        Some(p) => Some(load_gifts(&p)?),
        None => None,
    };
    let gift_cache_ttl = match a.gift_cache_ttl.or(file.gift_cache_ttl) {
        Some(t) => mint::parse_duration(&t).map_err(|e| format!("--gift-cache-ttl: {e}"))?,
        None => Duration::from_secs(3600),
    };
    let web_api = match a.web_api_url.or(file.web_api_url) {
        Some(url) => {
            http_client::parse_url(&url).map_err(|e| format!("--web-api-url: {e}"))?;
            Some(rest::WebApi::under(&url))
        }
        None => match &upstream {
            UpstreamKind::Relay { url, .. } => rest::WebApi::of_socket(url),
            UpstreamKind::Tiktok { .. } => Some(rest::WebApi::tiktok()),
            UpstreamKind::Replay { .. } => None,
        },
    };
    // Euler is asked by room id, found on the web API first (see `sign.rs`).
    let mut upstream = upstream;
    if let UpstreamKind::Tiktok { signer } = &mut upstream {
        if signer.service == sign::Service::Euler {
            signer.room_lookup = web_api.clone().map(Arc::new);
        }
    }
    let rooms_cache = match a.rooms.or(file.rooms) {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let map: HashMap<String, serde_json::Value> =
                serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "{}: expected an object of uniqueId → room info: {e}",
                        p.display()
                    )
                })?;
            Some(
                map.into_iter()
                    .map(|(k, v)| (normalize_handle(&k), v))
                    .collect(),
            )
        }
        None => None,
    };
    let record_dir = a.record.or(file.record);
    if let Some(dir) = &record_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create the recording directory {}: {e}",
                dir.display()
            )
        })?;
    }
    let mut allowed_origins = if a.allowed_origins.is_empty() {
        file.allowed_origins.unwrap_or_default()
    } else {
        a.allowed_origins
    };
    if allowed_origins.is_empty() {
        allowed_origins.push("*".into());
    }
    // A recording's silences are real (a quiet stretch of the stream), not a dead
    // upstream: no idle close for replays unless asked for.
    let idle_default = if matches!(upstream, UpstreamKind::Replay { .. }) {
        0
    } else {
        DEFAULT_UPSTREAM_IDLE_CLOSE_S
    };
    Ok((
        Settings {
            listen: a
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            allowed_origins,
            auth,
            limits,
            upstream,
            upstream_liveness_ms: a
                .upstream_liveness_ms
                .or(fl.upstream_liveness_ms)
                .unwrap_or(30_000)
                .max(100),
            upstream_idle_close: Duration::from_secs(
                a.upstream_idle_close
                    .or(fl.upstream_idle_close)
                    .unwrap_or(idle_default)
                    .min(86_400),
            ),
            record_dir,
            gifts_json,
            gift_cache_ttl,
            web_api,
            rooms_cache,
            public_api: a.public_api || file.public_api == Some(true),
            admin,
            webhooks,
            watch,
            watch_interval,
            cluster,
        },
        a.max_seconds,
    ))
}

/// The sign service's API key: from the environment variable `key_env` names, or given
/// directly (`--sign-api-key`, `TIKCAST_SIGN_API_KEY`, `sign.api_key`). The public
/// services need one; ours may do without. The key is never echoed.
fn sign_key(
    service: sign::Service,
    key_env: Option<String>,
    direct: Option<String>,
) -> Result<Option<String>, String> {
    let key = match (key_env, direct) {
        (Some(_), Some(_)) => {
            return Err("the sign api key is given twice: keep --signer-key-env VAR (sign.key_env) and drop --sign-api-key (TIKCAST_SIGN_API_KEY, sign.api_key)".into())
        }
        (Some(var), None) => {
            let key = std::env::var(&var).ok().filter(|k| !k.trim().is_empty());
            Some(key.ok_or_else(|| {
                format!("--signer-key-env {var}: that environment variable is not set, empty or not utf-8; set it to the {} api key", service.name())
            })?)
        }
        (None, direct) => direct,
    }
    .map(|k| k.trim().to_string());
    if key.is_none() && service != sign::Service::Custom {
        return Err(format!(
            "the {} signer needs an api key: put it in an environment variable and pass --signer-key-env VAR (or sign.key_env)",
            service.name()
        ));
    }
    if key
        .as_deref()
        .is_some_and(|k| k.chars().any(char::is_control))
    {
        return Err("the sign api key holds a line break or another control character: check the variable's value".into());
    }
    Ok(key)
}

/// Refuses a socket URL the relay could never dial. The URL is not echoed (its query
/// may hold a credential).
fn check_ws_url(url: &str) -> Result<(), String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err("the url must start with ws:// or wss://".into());
    }
    let request = url
        .into_client_request()
        .map_err(|_| "not a valid url (write ws://HOST:PORT/PATH)".to_string())?;
    let uri = request.uri();
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    if uri.host().is_none_or(str::is_empty) {
        return Err("the url has no host (write ws://HOST:PORT/PATH)".into());
    }
    if authority.ends_with(':') || uri.port_u16() == Some(0) {
        return Err("the url has an empty or zero port (write ws://HOST:PORT/PATH)".into());
    }
    if authority.contains('@') {
        return Err("the url must not carry user:password (use --upstream-jwt-secret)".into());
    }
    Ok(())
}

/// Reads a gift catalog (TikTok's `{"data":{"gifts":[…]}}`, a bare list, or our own
/// shape) and normalises it to `[{id, name, diamondCount, imageUrl}]`.
pub(crate) fn load_gifts(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    Ok(serde_json::Value::Array(normalize_gifts(&v)).to_string())
}

pub(crate) fn normalize_gifts(v: &serde_json::Value) -> Vec<serde_json::Value> {
    let list = v
        .pointer("/data/gifts")
        .or_else(|| v.get("gifts"))
        .unwrap_or(v)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<serde_json::Value> = list
        .iter()
        .filter_map(|g| {
            let id = g.get("id").and_then(|i| {
                i.as_u64()
                    .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
            })?;
            let name = g.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let diamonds = g
                .get("diamond_count")
                .or_else(|| g.get("diamondCount"))
                .and_then(|d| d.as_u64())
                .unwrap_or(0);
            let image = g
                .pointer("/image/url_list/0")
                .or_else(|| g.pointer("/icon/url_list/0"))
                .or_else(|| g.get("imageUrl"))
                .and_then(|u| u.as_str())
                .unwrap_or("");
            Some(serde_json::json!({
                "id": id,
                "name": name,
                "diamondCount": diamonds,
                "imageUrl": image,
            }))
        })
        .collect();
    out.sort_by_key(|g| g["id"].as_u64());
    out.dedup_by_key(|g| g["id"].as_u64());
    out
}

/// `tikcast replay FILE --listen ADDR`: a relay without tokens whose upstream is the
/// recording (every room name plays it).
pub(crate) fn serve_replay(
    file: PathBuf,
    listen: String,
    speed: f64,
    looped: bool,
    max_seconds: Option<f64>,
) -> Result<(), String> {
    if !(speed.is_finite() && (0.01..=1000.0).contains(&speed)) {
        return Err("--speed must be between 0.01 and 1000".into());
    }
    crate::recording::read(&file)?;
    let settings = Settings {
        listen,
        allowed_origins: vec!["*".into()],
        auth: None,
        limits: Limits {
            client_queue: 1024,
            resume_frames: 0,
            grace: Duration::from_millis(0),
            max_lifetime: Duration::from_secs(30 * 86_400),
            max_sockets_per_token: 1,
            max_rooms_per_token: 1000,
            max_pending_heads_per_ip: 64,
            lookups_per_minute_per_token: 0,
            lookups_per_minute_per_ip: 0,
            max_sockets_per_ip: 0,
            connects_per_minute_per_ip: 0,
            connects_per_minute_per_token: 0,
            max_rooms: 1000,
            viewer_send_buffer: 1 << 20,
        },
        upstream: UpstreamKind::Replay {
            file,
            speed,
            looped,
        },
        upstream_liveness_ms: 30_000,
        // A local replay may hold long pauses of a quiet recording; it is not closed for them.
        upstream_idle_close: Duration::ZERO,
        record_dir: None,
        gifts_json: None,
        gift_cache_ttl: Duration::from_secs(3600),
        web_api: None,
        rooms_cache: None,
        public_api: true,
        admin: None,
        webhooks: None,
        watch: Vec::new(),
        watch_interval: Duration::from_secs(60),
        cluster: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(serve(settings, max_seconds));
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

pub fn run(args: RelayArgs) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (settings, max_seconds) = settings(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(serve(settings, max_seconds));
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn serve(mut settings: Settings, max_seconds: Option<f64>) -> Result<(), String> {
    let metrics = Arc::new(metrics::Metrics::default());
    // Redis first: a cluster that cannot be reached refuses to start.
    let cluster = match settings.cluster.take() {
        Some(c) => Some(cluster::Cluster::connect(c, Arc::clone(&metrics)).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let upstream = match &settings.upstream {
        UpstreamKind::Relay { .. } => "mock".to_string(),
        UpstreamKind::Tiktok { signer } => format!("tiktok (signer {})", signer.service.name()),
        UpstreamKind::Replay { file, .. } => format!("replay {}", file.display()),
    };
    eprintln!(
        "relay: ws://{addr}/ws?uniqueId=NAME&jwtKey=JWT, upstream {upstream}, auth {}, origins {}",
        if settings.auth.is_some() {
            "jwt"
        } else {
            "OFF"
        },
        settings.allowed_origins.join(" ")
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({ "listening": addr.to_string() })
        );
        let _ = out.flush();
    }
    if let Some(c) = &cluster {
        eprintln!(
            "relay: cluster node {} ({} lease {} ms, streams of {} records)",
            c.node,
            c.redis_shown,
            c.lease.as_millis(),
            c.maxlen
        );
    }
    let webhooks = settings.webhooks.clone();
    let (watch, watch_interval) = (settings.watch.clone(), settings.watch_interval);
    let spawn_upstream: Box<dyn Fn(Arc<hub::Hub>, Arc<hub::Room>) + Send + Sync> = match &cluster {
        Some(c) => cluster::spawner(Arc::clone(c)),
        None => Box::new(upstream::spawn),
    };
    let hub = hub::Hub::new(Arc::new(settings), metrics, spawn_upstream);
    if let Some(hooks) = webhooks {
        eprintln!(
            "relay: webhooks to {} url(s), queue in a sqlite file",
            hooks.urls.len()
        );
        hub.set_notes(webhook::start(hooks));
    }
    webhook::watch(Arc::clone(&hub), watch, watch_interval);
    let server = Arc::new(server::Server {
        hub: Arc::clone(&hub),
        limiter: Arc::new(server::Limiter::default()),
        not_live: server::NotLive::default(),
        rest: rest::Rest::default(),
        started: Instant::now(),
        cluster,
    });
    let deadline = async {
        match max_seconds {
            Some(s) if s.is_finite() && s > 0.0 => {
                tokio::time::sleep(Duration::from_secs_f64(s.min(1e9))).await
            }
            _ => std::future::pending().await,
        }
    };
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(deadline, interrupted);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let server = Arc::clone(&server);
                    tokio::spawn(server::handle_tcp(stream, peer, server));
                }
                Err(e) => {
                    eprintln!("relay: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = &mut deadline => {
                eprintln!("relay: --max-seconds reached, exiting");
                break;
            }
            _ = &mut interrupted => {
                eprintln!("relay: interrupted, exiting");
                break;
            }
        }
    }
    hub.end_all(1001, "relay shutting down");
    // Let viewers get their close frames and recordings flush.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gifts_are_normalised() {
        let v = serde_json::json!({"data": {"gifts": [
            {"id": 5655, "name": "Rose", "diamond_count": 1, "image": {"url_list": ["https://x/rose.webp"]}},
            {"id": 1, "name": "A", "diamond_count": 5, "icon": {"url_list": ["https://x/a.png"]}},
            {"name": "no id"}
        ]}});
        let g = normalize_gifts(&v);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[0],
            serde_json::json!({"id": 1, "name": "A", "diamondCount": 5, "imageUrl": "https://x/a.png"})
        );
        assert_eq!(g[1]["imageUrl"], "https://x/rose.webp");
        // Our own shape reads back unchanged.
        assert_eq!(normalize_gifts(&serde_json::Value::Array(g.clone())), g);
    }

    #[test]
    fn toml_config_parses() {
        let c: FileConfig = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            upstream = "mock:ws://127.0.0.1:8090/ws"
            allowed_origins = ["https://overlay.example"]
            [auth]
            jwt_secret = "0123456789abcdef"
            audience = "overlay"
            require_scope = true
            [limits]
            upstream_idle_close = 90
            client_queue = 64
            grace_ms = 500
            [replay]
            speed = 2.0
            loop = true
            [admin]
            key_env = "TIKCAST_ADMIN_KEY"
            max_token_ttl = "15m"
            [sign]
            signer = "tiktool"
            key_env = "TIKTOOL_KEY"
            [cluster]
            url = "redis://127.0.0.1:6379/0"
            node_id = "relay-a"
            lease_ms = 3000
            stream_maxlen = 2048
            "#,
        )
        .unwrap();
        assert_eq!(c.limits.client_queue, Some(64));
        assert_eq!(c.replay.looped, Some(true));
        assert_eq!(c.auth.require_scope, Some(true));
        assert_eq!(c.limits.upstream_idle_close, Some(90));
        assert_eq!(c.admin.key_env.as_deref(), Some("TIKCAST_ADMIN_KEY"));
        assert_eq!(c.sign.signer.as_deref(), Some("tiktool"));
        assert_eq!(c.sign.key_env.as_deref(), Some("TIKTOOL_KEY"));
        assert_eq!(c.cluster.url.as_deref(), Some("redis://127.0.0.1:6379/0"));
        assert_eq!(c.cluster.node_id.as_deref(), Some("relay-a"));
        assert_eq!(
            (c.cluster.lease_ms, c.cluster.stream_maxlen),
            (Some(3000), Some(2048))
        );
        assert!(toml::from_str::<FileConfig>("nope = 1").is_err());
    }

    #[test]
    fn socket_urls_are_checked() {
        for good in [
            "ws://127.0.0.1:8090/ws",
            "wss://relay.example/ws",
            "ws://[::1]:80/ws",
        ] {
            assert_eq!(check_ws_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ws://127.0.0.1:/ws",
            "ws://127.0.0.1:0/ws",
            "ws://:8090/ws",
            "ws:///ws",
            "ws://a b/ws",
            "ws://u:p@host:1/ws",
            "http://127.0.0.1:8090/ws",
        ] {
            assert!(check_ws_url(bad).is_err(), "{bad}");
        }
    }
}
