//! Token minting: `POST /api/jwt` on the relay (for a backend holding the admin API key)
//! and `tikcast token` offline. Both sign the same claims with the relay's HS256 secret
//! (`jsonwebtoken`), in the camelCase spelling the verifier (`auth.rs`) reads:
//! `allowedCreators` (handles, or `"*"`), optional `maxWebSockets`, `iat`, `exp`, a
//! random `jti` (so per-token limits tell two minted tokens apart) and `aud` when the
//! relay requires one.
//!
//! The admin key comes from an environment variable named at start-up
//! (`--admin-key-env VAR`), is compared in constant time (SHA-256 of both sides, then
//! `subtle`), and is never logged or echoed; a refused key gets the same 401 whatever
//! was wrong with it. `exp` is capped by `--max-token-ttl`.

use std::net::IpAddr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth::{token_hash, MAX_WEB_SOCKETS};
use super::server::{api_quota, json_error, valid_handle, Server, HANDLE_RULES};
use crate::http_head::Head;

/// Default of `--max-token-ttl`: minted tokens are short-lived.
pub(crate) const DEFAULT_MAX_TTL: Duration = Duration::from_secs(3600);
/// A token's lifetime when the request names none (capped by the maximum).
const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// The longest lifetime `tikcast token` accepts (a viewer socket lives 30 days at most).
const OFFLINE_MAX_TTL: Duration = Duration::from_secs(30 * 86_400);
/// Most creators one minted token may name.
const MAX_CREATORS: usize = 1000;
/// Largest `POST /api/jwt` body read.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// Shortest accepted admin key and HS256 secret, in bytes.
const MIN_KEY_LEN: usize = 16;

/// What a minted token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Normalised handles, or `["*"]`.
    pub(crate) creators: Vec<String>,
    pub(crate) max_websockets: Option<u32>,
    pub(crate) ttl: Duration,
}

/// Signs tokens with the relay's HS256 secret.
pub(crate) struct Minter {
    key: EncodingKey,
    audience: Option<String>,
}

impl Minter {
    pub(crate) fn new(secret: &[u8], audience: Option<String>) -> Result<Minter, String> {
        if secret.len() < MIN_KEY_LEN {
            return Err(format!(
                "the HS256 secret must be at least {MIN_KEY_LEN} bytes"
            ));
        }
        Ok(Minter {
            key: EncodingKey::from_secret(secret),
            audience,
        })
    }

    /// A signed token for `scope`, valid from `now` (unix seconds); returns it with `exp`.
    pub(crate) fn mint(&self, scope: &Scope, now: u64) -> Result<(String, u64), String> {
        let exp = now.saturating_add(scope.ttl.as_secs().max(1));
        let mut claims = serde_json::json!({
            "iat": now,
            "exp": exp,
            "jti": random_id()?,
            "allowedCreators": scope.creators,
        });
        if let Some(n) = scope.max_websockets {
            claims["maxWebSockets"] = n.into();
        }
        if let Some(aud) = &self.audience {
            claims["aud"] = aud.as_str().into();
        }
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| format!("cannot sign the token: {e}"))?;
        Ok((token, exp))
    }
}

/// 128 random bits in hex, from the operating system (ring's `SystemRandom`).
pub(crate) fn random_id() -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the operating system gave no random bytes".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The admin API: which key opens it, and how long its tokens may live.
pub(crate) struct Admin {
    /// SHA-256 of the admin key (compared in constant time; the key itself is not kept).
    key_digest: [u8; 32],
    pub(crate) minter: Minter,
    pub(crate) max_ttl: Duration,
}

impl Admin {
    /// `key_env`: the name of the environment variable holding the admin key.
    pub(crate) fn from_env(
        key_env: &str,
        jwt_secret: Option<&[u8]>,
        audience: Option<String>,
        max_ttl: Duration,
    ) -> Result<Admin, String> {
        let key = std::env::var(key_env).map_err(|_| {
            format!("--admin-key-env {key_env}: that environment variable is not set (or not utf-8); set it to the admin api key")
        })?;
        Admin::new(key.as_bytes(), jwt_secret, audience, max_ttl)
            .map_err(|e| format!("--admin-key-env {key_env}: {e}"))
    }

    fn new(
        key: &[u8],
        jwt_secret: Option<&[u8]>,
        audience: Option<String>,
        max_ttl: Duration,
    ) -> Result<Admin, String> {
        if key.len() < MIN_KEY_LEN {
            return Err(format!(
                "the admin api key must be at least {MIN_KEY_LEN} bytes"
            ));
        }
        let secret = jwt_secret.ok_or(
            "minting tokens needs the relay's HS256 secret: set --jwt-secret (or auth.jwt_secret)",
        )?;
        if max_ttl.is_zero() || max_ttl > OFFLINE_MAX_TTL {
            return Err("--max-token-ttl must be from 1s to 30d".into());
        }
        Ok(Admin {
            key_digest: Sha256::digest(key).into(),
            minter: Minter::new(secret, audience)?,
            max_ttl,
        })
    }

    /// Whether `presented` is the admin key, in time independent of where they differ.
    pub(crate) fn accepts(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        bool::from(digest.ct_eq(&self.key_digest))
    }
}

/// The admin key of a request: `authorization: Bearer KEY` or `x-api-key: KEY`.
pub(crate) fn presented_key(head: &Head) -> Option<&str> {
    let bearer = head.authorization.as_deref().and_then(|a| {
        let (scheme, rest) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    bearer.or(head.api_key.as_deref())
}

/// Parses a duration: a whole number with an optional unit `s`, `m`, `h` or `d`
/// (`90`, `90s`, `10m`, `1h`, `2d`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{t:?} is not a duration (write 90s, 10m, 1h or 2d)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{t:?} is not a duration (write 90s, 10m, 1h or 2d)"
            ))
        }
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{t:?} is too long"))
}

/// Normalises a creator list: handles (lowercase, no `@`) or the single `"*"`.
fn creators(list: &[String]) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Err("allowedCreators must name at least one creator (or \"*\")".into());
    }
    if list.len() > MAX_CREATORS {
        return Err(format!(
            "allowedCreators may name at most {MAX_CREATORS} creators"
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        if c.trim() == "*" {
            out.push("*".to_string());
            continue;
        }
        let h = super::normalize_handle(c);
        if !valid_handle(&h) {
            let shown: String = c.chars().take(32).collect();
            return Err(format!("allowedCreators: {shown:?} is {HANDLE_RULES}"));
        }
        out.push(h);
    }
    out.sort();
    out.dedup();
    if out.len() > 1 && out.iter().any(|c| c == "*") {
        return Err("allowedCreators: \"*\" (every creator) cannot be mixed with handles".into());
    }
    Ok(out)
}

/// The value of the one spelling of a field that is present (camelCase or snake_case);
/// both present is an error.
fn field<'a>(
    body: &'a serde_json::Map<String, serde_json::Value>,
    camel: &str,
    snake: &str,
) -> Result<Option<&'a serde_json::Value>, String> {
    match (body.get(camel), body.get(snake)) {
        (Some(_), Some(_)) => Err(format!("give {camel} or {snake}, not both")),
        (a, b) => Ok(a.or(b)),
    }
}

/// Validates a `POST /api/jwt` body:
/// `{"allowedCreators": ["ada"] | "*", "maxWebSockets"?: 1-10000, "ttlSeconds"?: n}`
/// (snake_case spellings accepted too). A ttl over `max_ttl` is capped to it.
pub(crate) fn parse_request(body: &[u8], max_ttl: Duration) -> Result<Scope, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body must be a json object ({})",
            e.to_string().to_lowercase()
        )
    })?;
    let serde_json::Value::Object(map) = v else {
        return Err("the body must be a json object".into());
    };
    const KNOWN: [&str; 6] = [
        "allowedCreators",
        "allowed_creators",
        "maxWebSockets",
        "max_websockets",
        "ttlSeconds",
        "ttl_seconds",
    ];
    if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        let shown: String = unknown.chars().take(32).collect();
        return Err(format!(
            "unknown field {shown:?} (known: allowedCreators, maxWebSockets, ttlSeconds)"
        ));
    }
    let list: Vec<String> = match field(&map, "allowedCreators", "allowed_creators")? {
        None => return Err("allowedCreators is required: a list of handles, or \"*\"".into()),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(String::from))
            .collect::<Option<_>>()
            .ok_or("allowedCreators must be a list of handles (strings), or \"*\"")?,
        Some(_) => return Err("allowedCreators must be a list of handles, or \"*\"".into()),
    };
    let creators = creators(&list)?;
    let max_websockets = match field(&map, "maxWebSockets", "max_websockets")? {
        None => None,
        Some(n) => Some(
            n.as_u64()
                .filter(|n| (1..=MAX_WEB_SOCKETS).contains(n))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    format!("maxWebSockets must be a whole number from 1 to {MAX_WEB_SOCKETS}")
                })?,
        ),
    };
    let ttl = match field(&map, "ttlSeconds", "ttl_seconds")? {
        None => DEFAULT_TTL,
        Some(n) => Duration::from_secs(
            n.as_u64()
                .filter(|n| *n >= 1)
                .ok_or("ttlSeconds must be a whole number of seconds, at least 1")?,
        ),
    };
    Ok(Scope {
        creators,
        max_websockets,
        ttl: ttl.min(max_ttl),
    })
}

fn now_s() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// `POST /api/jwt`: (status line, extra header lines, JSON body). `body` is the request
/// body, or why it could not be read.
pub(crate) fn api_jwt(
    server: &Server,
    head: &Head,
    body: Result<Vec<u8>, (&'static str, &'static str)>,
    ip: IpAddr,
) -> (&'static str, String, String) {
    let m = &server.hub.metrics;
    let quota = match api_quota(server, ip) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    let limits = quota.map(|q| q.headers()).unwrap_or_default();
    let answer = |status, body| (status, limits.clone(), body);
    let Some(admin) = &server.hub.settings.admin else {
        return answer(
            "404 Not Found",
            json_error(
                "minting_disabled",
                "this relay does not mint tokens (start it with --admin-key-env VAR)",
            ),
        );
    };
    if !presented_key(head).is_some_and(|k| admin.accepts(k.as_bytes())) {
        m.count_refusal("invalid_auth");
        eprintln!("relay: POST /api/jwt from {ip}: refused (no valid admin key)");
        return answer(
            "401 Unauthorized",
            json_error(
                "invalid_admin_key",
                "a valid admin api key is required (authorization: Bearer KEY or x-api-key: KEY)",
            ),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err((status, why)) => return answer(status, json_error("bad_request", why)),
    };
    let scope = match parse_request(&body, admin.max_ttl) {
        Ok(s) => s,
        Err(e) => {
            m.count_refusal("bad_request");
            return answer("400 Bad Request", json_error("bad_request", &e));
        }
    };
    match admin.minter.mint(&scope, now_s()) {
        Ok((token, exp)) => {
            eprintln!(
                "relay: minted {} for {ip}: {} creator(s), ttl {} s",
                token_hash(&token),
                scope.creators.len(),
                scope.ttl.as_secs()
            );
            let reply = serde_json::json!({
                "token": token,
                "expiresAt": exp,
                "ttlSeconds": scope.ttl.as_secs(),
                "allowedCreators": scope.creators,
                "maxWebSockets": scope.max_websockets,
            });
            answer("200 OK", reply.to_string())
        }
        Err(e) => answer("500 Internal Server Error", json_error("internal", &e)),
    }
}

/// `tikcast token`: mints a relay token offline with the relay's HS256 secret.
// No `Debug`: it reads a secret.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// Name of the environment variable holding the relay's HS256 secret (the value of
    /// its --jwt-secret; at least 16 bytes).
    #[arg(long, value_name = "VAR")]
    secret_env: String,
    /// A creator the token may watch (repeatable; `*` = every creator).
    #[arg(long = "creator", value_name = "NAME", required = true)]
    creators: Vec<String>,
    /// Sockets the token may hold at once (1 to 10000; the relay's default when absent).
    #[arg(long, value_name = "N")]
    max_websockets: Option<u32>,
    /// How long the token is valid: 90s, 10m, 1h, 2d (at most 30d).
    #[arg(long, default_value = "10m")]
    ttl: String,
    /// The `aud` claim, when the relay requires one (--audience).
    #[arg(long)]
    audience: Option<String>,
}

pub fn run_token(args: TokenArgs) -> Result<(), String> {
    let secret = std::env::var(&args.secret_env).map_err(|_| {
        format!(
            "--secret-env {}: that environment variable is not set (or not utf-8); set it to the relay's jwt secret",
            args.secret_env
        )
    })?;
    let ttl = parse_duration(&args.ttl).map_err(|e| format!("--ttl: {e}"))?;
    if ttl.is_zero() || ttl > OFFLINE_MAX_TTL {
        return Err("--ttl must be from 1s to 30d".into());
    }
    if let Some(n) = args.max_websockets {
        if !(1..=MAX_WEB_SOCKETS).contains(&u64::from(n)) {
            return Err(format!(
                "--max-websockets must be from 1 to {MAX_WEB_SOCKETS}"
            ));
        }
    }
    let creators =
        creators(&args.creators).map_err(|e| e.replace("allowedCreators", "--creator"))?;
    let minter = Minter::new(secret.as_bytes(), args.audience)
        .map_err(|e| format!("--secret-env {}: {e}", args.secret_env))?;
    let scope = Scope {
        creators,
        max_websockets: args.max_websockets,
        ttl,
    };
    let (token, _) = minter.mint(&scope, now_s())?;
    println!("{token}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef-secret";

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in [
            "",
            "m",
            "10 m",
            "1.5h",
            "-1s",
            "10w",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_validated_with_clear_errors() {
        let max = Duration::from_secs(900);
        let ok = |b: &str| parse_request(b.as_bytes(), max).unwrap();
        let err = |b: &str| parse_request(b.as_bytes(), max).unwrap_err();
        let s = ok(
            r#"{"allowedCreators": ["@Ada", "bob", "ada"], "maxWebSockets": 3, "ttlSeconds": 60}"#,
        );
        assert_eq!(
            s,
            Scope {
                creators: vec!["ada".into(), "bob".into()],
                max_websockets: Some(3),
                ttl: Duration::from_secs(60)
            }
        );
        // Snake case, a single "*", the default ttl, and the cap.
        let s = ok(r#"{"allowed_creators": "*"}"#);
        assert_eq!((s.creators, s.ttl), (vec!["*".to_string()], DEFAULT_TTL));
        assert_eq!(
            ok(r#"{"allowedCreators": "ada", "ttl_seconds": 86400}"#).ttl,
            max
        );
        assert_eq!(err("[]"), "the body must be a json object");
        assert!(err("{").starts_with("the body must be a json object ("));
        assert_eq!(
            err("{}"),
            "allowedCreators is required: a list of handles, or \"*\""
        );
        assert_eq!(
            err(r#"{"allowedCreators": []}"#),
            "allowedCreators must name at least one creator (or \"*\")"
        );
        assert_eq!(
            err(r#"{"allowedCreators": [1]}"#),
            "allowedCreators must be a list of handles (strings), or \"*\""
        );
        assert!(err(r#"{"allowedCreators": ["a/b"]}"#)
            .starts_with("allowedCreators: \"a/b\" is not a valid uniqueId"));
        assert_eq!(
            err(r#"{"allowedCreators": ["*", "ada"]}"#),
            "allowedCreators: \"*\" (every creator) cannot be mixed with handles"
        );
        assert_eq!(
            err(r#"{"allowedCreators": "ada", "allowed_creators": "ada"}"#),
            "give allowedCreators or allowed_creators, not both"
        );
        for n in ["0", "10001", "2.5", "\"2\""] {
            assert_eq!(
                err(&format!(
                    r#"{{"allowedCreators": "ada", "maxWebSockets": {n}}}"#
                )),
                "maxWebSockets must be a whole number from 1 to 10000",
                "{n}"
            );
        }
        assert_eq!(
            err(r#"{"allowedCreators": "ada", "ttlSeconds": 0}"#),
            "ttlSeconds must be a whole number of seconds, at least 1"
        );
        assert_eq!(
            err(r#"{"allowedCreators": "ada", "creators": ["x"]}"#),
            "unknown field \"creators\" (known: allowedCreators, maxWebSockets, ttlSeconds)"
        );
    }

    #[test]
    fn minted_tokens_pass_the_verifier_in_scope_only() {
        let minter = Minter::new(SECRET, Some("overlay".into())).unwrap();
        let scope = Scope {
            creators: vec!["ada".into()],
            max_websockets: Some(2),
            ttl: Duration::from_secs(60),
        };
        let (token, exp) = minter.mint(&scope, now_s()).unwrap();
        assert!(exp >= now_s() + 59 && exp <= now_s() + 60);
        let verifier =
            super::super::auth::Verifier::new(Some(SECRET), &[], &[], Some("overlay".into()), 5)
                .unwrap()
                .require_scope(true);
        let grant = verifier.verify(&token).unwrap();
        assert!(grant.allows("ada") && !grant.allows("bob"));
        assert_eq!(grant.max_sockets, Some(2));
        assert!(grant.key.starts_with("jti:"));
        // Two tokens of one scope are two identities.
        let (again, _) = minter.mint(&scope, now_s()).unwrap();
        assert_ne!(verifier.verify(&again).unwrap().key, grant.key);
        // Another secret's verifier refuses it.
        let other = super::super::auth::Verifier::new(
            Some(b"another-secret-0123"),
            &[],
            &[],
            Some("overlay".into()),
            5,
        )
        .unwrap();
        assert_eq!(other.verify(&token).unwrap_err(), "bad signature");
    }

    #[test]
    fn the_admin_key_is_checked_whole() {
        let admin =
            Admin::new(b"admin-key-0123456789", Some(SECRET), None, DEFAULT_MAX_TTL).unwrap();
        assert!(admin.accepts(b"admin-key-0123456789"));
        for bad in [
            &b""[..],
            b"admin-key-012345678",
            b"admin-key-01234567890",
            b"ADMIN-KEY-0123456789",
        ] {
            assert!(!admin.accepts(bad));
        }
        assert!(Admin::new(b"short", Some(SECRET), None, DEFAULT_MAX_TTL).is_err());
        assert!(Admin::new(b"admin-key-0123456789", None, None, DEFAULT_MAX_TTL).is_err());
        assert!(Admin::new(b"admin-key-0123456789", Some(SECRET), None, Duration::ZERO).is_err());
        let head = |auth: Option<&str>, key: Option<&str>| Head {
            authorization: auth.map(String::from),
            api_key: key.map(String::from),
            ..Head::default()
        };
        assert_eq!(presented_key(&head(Some("Bearer  k1 "), None)), Some("k1"));
        assert_eq!(
            presented_key(&head(Some("bearer k1"), Some("k2"))),
            Some("k1")
        );
        assert_eq!(
            presented_key(&head(Some("Basic k1"), Some("k2"))),
            Some("k2")
        );
        assert_eq!(presented_key(&head(None, None)), None);
    }
}
