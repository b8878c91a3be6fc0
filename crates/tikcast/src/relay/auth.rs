//! Browser tokens: JWTs minted by the user's backend, verified with `jsonwebtoken`.
//!
//! Keys: an HS256 secret and/or RS256 and ES256 public keys (PEM). The token's header
//! names its algorithm; only keys of that algorithm are tried, and only algorithms with
//! a configured key are accepted (never `none`). `exp` is required, `exp` and `nbf` are
//! checked with a small leeway, `aud` when the relay is configured with an audience.
//!
//! Scope claims ([`SCOPE_CLAIMS`]), in both spellings the hosted relays document (Euler's
//! camelCase, TikTool's snake_case), at the top level or under `websockets`:
//! `allowedCreators`/`allowed_creators` (a list of handles, or `"*"`) and
//! `maxWebSockets`/`max_websockets` (a whole number from 1 to [`MAX_WEB_SOCKETS`],
//! anything else refuses the token). Because a scope the relay misreads would leave the
//! token unscoped, a token is refused when one claim is given twice with different values
//! (two spellings, or top level and `websockets`), and when it carries a claim we do not
//! understand that looks like a scope ([`looks_like_scope`]). With `require_scope` a
//! token must carry `allowedCreators`. The grant keeps `exp`, so the relay can close a
//! socket whose token ran out.
//! Claims are typed: a claim of the wrong JSON type (`"nbf": "soon"`) refuses the token
//! instead of being skipped. Errors never contain the token; logs use [`token_hash`].

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::normalize_handle;

/// The verifier's keys and rules.
pub(crate) struct Verifier {
    hs256: Option<DecodingKey>,
    rs256: Vec<DecodingKey>,
    es256: Vec<DecodingKey>,
    audience: Option<String>,
    leeway_s: u64,
    /// Refuse tokens without an `allowedCreators` claim (`--require-scope`).
    require_scope: bool,
}

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// Normalised handles; `None` = every creator.
    pub(crate) creators: Option<Vec<String>>,
    /// Concurrent sockets this token may hold (the relay's default when absent).
    pub(crate) max_sockets: Option<u32>,
    /// Identity for per-token limits: `jti` when present, else a hash of the token.
    pub(crate) key: String,
    /// The token's `exp` (unix seconds); its socket is closed then (plus the leeway).
    pub(crate) exp: Option<u64>,
}

/// Largest `maxWebSockets` a token may claim.
pub(crate) const MAX_WEB_SOCKETS: u64 = 10_000;

impl Grant {
    pub(crate) fn allows(&self, unique_id: &str) -> bool {
        match &self.creators {
            None => true,
            Some(list) => list.iter().any(|c| c == "*" || c == unique_id),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Creators {
    One(String),
    Many(Vec<String>),
}

/// What a scope claim restricts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeClaim {
    Creators,
    Sockets,
}

/// Every spelling of every scope claim we understand: the one table both the parser and
/// the unknown-claim check read, so they cannot disagree.
const SCOPE_CLAIMS: [(&str, ScopeClaim); 4] = [
    ("allowedCreators", ScopeClaim::Creators),
    ("allowed_creators", ScopeClaim::Creators),
    ("maxWebSockets", ScopeClaim::Sockets),
    ("max_websockets", ScopeClaim::Sockets),
];

/// Whether a claim name we do not understand could be meant as a scope (it matches
/// `/allow|creator|scope|max_?web|max_?conn/i`): such a claim refuses the token instead
/// of being ignored, so a misspelt scope never silently means "every creator".
fn looks_like_scope(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "allow", "creator", "scope", "maxweb", "max_web", "maxconn", "max_conn",
    ]
    .iter()
    .any(|w| n.contains(w))
}

#[derive(Deserialize)]
struct Claims {
    // Typed on purpose (see the module docs); jsonwebtoken checks the values.
    exp: u64,
    #[allow(dead_code)]
    nbf: Option<u64>,
    jti: Option<String>,
    /// Every other claim; the scope claims are read from here by [`scope`].
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// A short, stable, non-reversible name for a credential, for logs.
pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("tok:{hex}")
}

impl Verifier {
    pub(crate) fn new(
        hs256_secret: Option<&[u8]>,
        rs256_pems: &[std::path::PathBuf],
        es256_pems: &[std::path::PathBuf],
        audience: Option<String>,
        leeway_s: u64,
    ) -> Result<Verifier, String> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| format!("cannot read key file {}: {e}", p.display()))
        };
        let mut rs256 = Vec::new();
        for p in rs256_pems {
            rs256
                .push(DecodingKey::from_rsa_pem(&read(p)?).map_err(|e| {
                    format!("{} is not an RSA public key in PEM: {e}", p.display())
                })?);
        }
        let mut es256 = Vec::new();
        for p in es256_pems {
            es256.push(
                DecodingKey::from_ec_pem(&read(p)?).map_err(|e| {
                    format!("{} is not a P-256 public key in PEM: {e}", p.display())
                })?,
            );
        }
        if hs256_secret.is_some_and(|s| s.len() < 16) {
            return Err("the HS256 secret must be at least 16 bytes".into());
        }
        let v = Verifier {
            hs256: hs256_secret.map(DecodingKey::from_secret),
            rs256,
            es256,
            audience,
            leeway_s,
            require_scope: false,
        };
        if !v.has_keys() {
            return Err("no JWT key configured: set --jwt-secret (HS256), --rs256-key or --es256-key, or pass --no-auth for a local relay without tokens".into());
        }
        Ok(v)
    }

    /// Refuses tokens that carry no `allowedCreators` claim (in any spelling or place).
    pub(crate) fn require_scope(mut self, on: bool) -> Verifier {
        self.require_scope = on;
        self
    }

    /// Seconds of leeway on `exp` and `nbf`.
    pub(crate) fn leeway_s(&self) -> u64 {
        self.leeway_s
    }

    pub(crate) fn has_keys(&self) -> bool {
        self.hs256.is_some() || !self.rs256.is_empty() || !self.es256.is_empty()
    }

    /// Verifies `token`; `Err` is a short reason for the log (never the token).
    pub(crate) fn verify(&self, token: &str) -> Result<Grant, String> {
        if token.is_empty() {
            return Err("no jwtKey".into());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        let keys: Vec<&DecodingKey> = match header.alg {
            Algorithm::HS256 => self.hs256.iter().collect(),
            Algorithm::RS256 => self.rs256.iter().collect(),
            Algorithm::ES256 => self.es256.iter().collect(),
            other => return Err(format!("algorithm {other:?} is not accepted")),
        };
        if keys.is_empty() {
            return Err(format!("no {:?} key configured", header.alg));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_s;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.set_required_spec_claims(&["exp", "aud"]);
            }
            None => validation.validate_aud = false,
        }
        let mut last = String::from("bad signature");
        for key in keys {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => return grant(data.claims, token, self.require_scope),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::InvalidSignature => "bad signature".into(),
                        ErrorKind::ExpiredSignature => "expired".into(),
                        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
                        ErrorKind::InvalidAudience => "wrong audience".into(),
                        ErrorKind::MissingRequiredClaim(c) => format!("no {c} claim"),
                        ErrorKind::Json(_) => "claims of the wrong type".into(),
                        _ => "invalid token".into(),
                    };
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        // The signature matched this key; another key will not help.
                        break;
                    }
                }
            }
        }
        Err(last)
    }
}

fn creators(c: Creators) -> Vec<String> {
    let one = |s: &str| {
        if s.trim() == "*" {
            "*".to_string()
        } else {
            normalize_handle(s)
        }
    };
    match c {
        Creators::One(s) => vec![one(&s)],
        Creators::Many(list) => list.iter().map(|s| one(s)).collect(),
    }
}

/// A socket count claim: a whole number from 1 to [`MAX_WEB_SOCKETS`] (0 is not
/// "unlimited"). `name` is how the token spelt it, for the error.
fn max_sockets(name: &str, v: &serde_json::Value) -> Result<u32, String> {
    v.as_u64()
        .filter(|n| (1..=MAX_WEB_SOCKETS).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{name} must be a whole number from 1 to {MAX_WEB_SOCKETS}"))
}

/// A claim name from the token, safe to put in a close reason: printable ASCII, short.
fn shown(name: &str) -> String {
    let mut s: String = name
        .chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if name.chars().count() > 32 {
        s.push('~');
    }
    s
}

/// The scope a token's claims give, read from the top level and `websockets`.
#[derive(Debug, PartialEq, Eq)]
struct Scope {
    /// Normalised, sorted and de-duplicated; `None` = the token names no creators.
    creators: Option<Vec<String>>,
    max_sockets: Option<u32>,
}

/// Reads the scope claims in every place and spelling; refuses a claim of the wrong
/// type, the same claim with two different values, and unknown scope-like claims.
fn scope(rest: &serde_json::Map<String, serde_json::Value>) -> Result<Scope, String> {
    type Found<'a> = Vec<(String, ScopeClaim, &'a serde_json::Value)>;
    /// Adds the scope claims of `map` (named with `prefix`) to `found`.
    fn collect<'a>(
        map: &'a serde_json::Map<String, serde_json::Value>,
        prefix: &str,
        found: &mut Found<'a>,
    ) -> Result<(), String> {
        for (name, value) in map {
            if prefix.is_empty() && name == "websockets" {
                continue;
            }
            match SCOPE_CLAIMS.iter().find(|(n, _)| n == name) {
                Some((_, kind)) => found.push((format!("{prefix}{name}"), *kind, value)),
                None if looks_like_scope(name) => {
                    return Err(format!("unknown scope-like claim {prefix}{}", shown(name)))
                }
                None => {}
            }
        }
        Ok(())
    }
    let mut places = Found::new();
    collect(rest, "", &mut places)?;
    match rest.get("websockets") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(ws)) => collect(ws, "websockets.", &mut places)?,
        Some(_) => return Err("websockets must be an object".into()),
    }
    let mut creators: Option<(String, Vec<String>)> = None;
    let mut sockets: Option<(String, u32)> = None;
    for (place, kind, value) in places {
        match kind {
            ScopeClaim::Creators => {
                let list = serde_json::from_value::<Creators>(value.clone())
                    .map_err(|_| format!("{place} must be a handle, a list of handles or \"*\""))?;
                let mut list = self::creators(list);
                list.sort();
                list.dedup();
                match &creators {
                    Some((first, seen)) if *seen != list => {
                        return Err(format!("conflicting claims: {first} and {place} differ"))
                    }
                    Some(_) => {}
                    None => creators = Some((place, list)),
                }
            }
            ScopeClaim::Sockets => {
                let n = max_sockets(&place, value)?;
                match &sockets {
                    Some((first, seen)) if *seen != n => {
                        return Err(format!("conflicting claims: {first} and {place} differ"))
                    }
                    Some(_) => {}
                    None => sockets = Some((place, n)),
                }
            }
        }
    }
    Ok(Scope {
        creators: creators.map(|(_, c)| c),
        max_sockets: sockets.map(|(_, n)| n),
    })
}

fn grant(c: Claims, token: &str, require_scope: bool) -> Result<Grant, String> {
    let scope = scope(&c.rest)?;
    if require_scope && scope.creators.is_none() {
        return Err("token has no creator scope".into());
    }
    Ok(Grant {
        creators: scope.creators,
        max_sockets: scope.max_sockets,
        key: match c.jti {
            Some(j) if !j.is_empty() => format!("jti:{}", token_hash(&j)),
            _ => token_hash(token),
        },
        exp: Some(c.exp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const SECRET: &[u8] = b"0123456789abcdef-secret";

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn hs(claims: serde_json::Value, secret: &[u8]) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn verifier(aud: Option<&str>) -> Verifier {
        Verifier::new(Some(SECRET), &[], &[], aud.map(String::from), 5).unwrap()
    }

    #[test]
    fn valid_tokens_and_grants() {
        let v = verifier(None);
        let t = hs(
            serde_json::json!({"exp": now() + 60, "allowedCreators": ["@Ada"], "maxWebSockets": 2}),
            SECRET,
        );
        let g = v.verify(&t).unwrap();
        assert!(g.allows("ada") && !g.allows("bob"));
        assert_eq!(g.max_sockets, Some(2));
        let t = hs(
            serde_json::json!({"exp": now() + 60, "websockets": {"allowedCreators": "*", "maxWebSockets": 3}}),
            SECRET,
        );
        let g = v.verify(&t).unwrap();
        assert!(g.allows("anyone"));
        assert_eq!(g.max_sockets, Some(3));
    }

    #[test]
    fn both_spellings_scope_a_token() {
        let v = verifier(None);
        let grant = |claims: serde_json::Value| {
            let mut claims = claims;
            claims["exp"] = (now() + 60).into();
            v.verify(&hs(claims, SECRET))
        };
        // TikTool's snake_case, at the top level and under `websockets`.
        let g =
            grant(serde_json::json!({"allowed_creators": ["@Bob"], "max_websockets": 4})).unwrap();
        assert_eq!(g.creators, Some(vec!["bob".to_string()]));
        assert_eq!(g.max_sockets, Some(4));
        assert!(g.allows("bob") && !g.allows("ada"));
        let g = grant(
            serde_json::json!({"websockets": {"allowed_creators": "bob", "max_websockets": 2}}),
        )
        .unwrap();
        assert_eq!(
            (g.creators, g.max_sockets),
            (Some(vec!["bob".to_string()]), Some(2))
        );
        // The same value in two places or spellings is one claim.
        let g = grant(serde_json::json!({
            "allowedCreators": ["bob", "Ada"],
            "allowed_creators": ["@ada", "bob", "bob"],
            "websockets": {"maxWebSockets": 3},
            "max_websockets": 3
        }))
        .unwrap();
        assert_eq!(
            (g.creators, g.max_sockets),
            (Some(vec!["ada".to_string(), "bob".to_string()]), Some(3))
        );
        // An empty list is a scope that allows nobody, not "unscoped".
        let g = grant(serde_json::json!({"allowed_creators": []})).unwrap();
        assert_eq!(g.creators, Some(vec![]));
        assert!(!g.allows("ada"));
        // Claims that are not scopes are still ignored.
        let g = grant(serde_json::json!({"sub": "user-1", "iat": 1, "role": "viewer"})).unwrap();
        assert_eq!((g.creators, g.max_sockets), (None, None));
    }

    #[test]
    fn conflicting_and_unknown_scope_claims_refuse_the_token() {
        let v = verifier(None);
        let refused = |claims: serde_json::Value| {
            let mut claims = claims;
            claims["exp"] = (now() + 60).into();
            v.verify(&hs(claims, SECRET)).unwrap_err()
        };
        assert_eq!(
            refused(serde_json::json!({"allowedCreators": ["ada"], "allowed_creators": ["bob"]})),
            "conflicting claims: allowedCreators and allowed_creators differ"
        );
        assert_eq!(
            refused(
                serde_json::json!({"allowedCreators": "*", "websockets": {"allowedCreators": ["bob"]}})
            ),
            "conflicting claims: allowedCreators and websockets.allowedCreators differ"
        );
        assert_eq!(
            refused(serde_json::json!({"maxWebSockets": 2, "max_websockets": 3})),
            "conflicting claims: maxWebSockets and max_websockets differ"
        );
        for name in [
            "allowed_rooms",
            "allowedUsers",
            "creators",
            "creator_ids",
            "max_connections",
            "maxConnections",
            "maxWebsockets",
            "max_web_sockets",
            "scope",
            "ALLOW",
        ] {
            let mut claims = serde_json::json!({});
            claims[name] = serde_json::json!(["bob"]);
            assert_eq!(
                refused(claims),
                format!("unknown scope-like claim {name}"),
                "{name}"
            );
        }
        assert_eq!(
            refused(serde_json::json!({"websockets": {"allowedRooms": ["bob"]}})),
            "unknown scope-like claim websockets.allowedRooms"
        );
        // A hostile claim name is shown short and printable.
        let long = format!("allow\u{7}{}", "x".repeat(100));
        let mut claims = serde_json::json!({});
        claims[long.as_str()] = true.into();
        let e = refused(claims);
        assert_eq!(
            e,
            format!("unknown scope-like claim allow?{}~", "x".repeat(26))
        );
        // Wrong types are refused, naming the claim.
        assert_eq!(
            refused(serde_json::json!({"allowed_creators": 5})),
            "allowed_creators must be a handle, a list of handles or \"*\""
        );
        assert_eq!(
            refused(serde_json::json!({"websockets": ["ada"]})),
            "websockets must be an object"
        );
        assert_eq!(
            refused(serde_json::json!({"websockets": {"max_websockets": 0}})),
            format!("websockets.max_websockets must be a whole number from 1 to {MAX_WEB_SOCKETS}")
        );
    }

    #[test]
    fn require_scope_wants_allowed_creators() {
        let v = verifier(None).require_scope(true);
        let with = |claims: serde_json::Value| {
            let mut claims = claims;
            claims["exp"] = (now() + 60).into();
            v.verify(&hs(claims, SECRET))
        };
        assert_eq!(
            with(serde_json::json!({"maxWebSockets": 2})).unwrap_err(),
            "token has no creator scope"
        );
        assert_eq!(
            with(serde_json::json!({})).unwrap_err(),
            "token has no creator scope"
        );
        assert!(with(serde_json::json!({"allowedCreators": ["ada"]})).is_ok());
        assert!(with(serde_json::json!({"allowed_creators": "*"})).is_ok());
        assert!(with(serde_json::json!({"websockets": {"allowed_creators": ["ada"]}})).is_ok());
        // Without the option an unscoped token is served (every creator).
        let open = verifier(None)
            .verify(&hs(serde_json::json!({"exp": now() + 60}), SECRET))
            .unwrap();
        assert!(open.allows("anyone"));
    }

    #[test]
    fn max_web_sockets_must_be_a_sane_whole_number() {
        let v = verifier(None);
        let with = |n: serde_json::Value| {
            v.verify(&hs(
                serde_json::json!({"exp": now() + 60, "maxWebSockets": n}),
                SECRET,
            ))
        };
        assert_eq!(with(serde_json::json!(1)).unwrap().max_sockets, Some(1));
        assert_eq!(
            with(serde_json::json!(10_000)).unwrap().max_sockets,
            Some(10_000)
        );
        for bad in [
            serde_json::json!(0),
            serde_json::json!(-1),
            serde_json::json!(2.5),
            serde_json::json!(10_001),
            serde_json::json!(u64::MAX),
            serde_json::json!("2"),
            serde_json::json!([2]),
        ] {
            let e = with(bad.clone()).unwrap_err();
            assert!(e.starts_with("maxWebSockets must be"), "{bad}: {e}");
        }
        // Also under `websockets`.
        let t = hs(
            serde_json::json!({"exp": now() + 60, "websockets": {"maxWebSockets": 0}}),
            SECRET,
        );
        assert!(v.verify(&t).is_err());
    }

    #[test]
    fn refused_tokens() {
        let v = verifier(None);
        let expired = hs(serde_json::json!({"exp": now() - 60}), SECRET);
        assert_eq!(v.verify(&expired).unwrap_err(), "expired");
        // Within the leeway is still fine.
        assert!(v
            .verify(&hs(serde_json::json!({"exp": now() - 2}), SECRET))
            .is_ok());
        let wrong = hs(
            serde_json::json!({"exp": now() + 60}),
            b"another-secret-0123",
        );
        assert_eq!(v.verify(&wrong).unwrap_err(), "bad signature");
        let early = hs(
            serde_json::json!({"exp": now() + 600, "nbf": now() + 300}),
            SECRET,
        );
        assert!(v.verify(&early).is_err());
        // A string nbf is refused, not ignored.
        let typed = hs(
            serde_json::json!({"exp": now() + 600, "nbf": "later"}),
            SECRET,
        );
        assert!(v.verify(&typed).is_err());
        assert!(v.verify(&hs(serde_json::json!({}), SECRET)).is_err());
        assert!(v.verify("").is_err());
        assert!(v.verify("a.b.c").is_err());
        let none = format!("{}.{}.", "eyJhbGciOiJub25lIn0", "eyJleHAiOjk5OTk5OTk5OTl9");
        assert!(v.verify(&none).is_err());
    }

    #[test]
    fn audience_is_checked_when_configured() {
        let v = verifier(Some("overlay"));
        let ok = hs(
            serde_json::json!({"exp": now() + 60, "aud": "overlay"}),
            SECRET,
        );
        assert!(v.verify(&ok).is_ok());
        let other = hs(
            serde_json::json!({"exp": now() + 60, "aud": "other"}),
            SECRET,
        );
        assert_eq!(v.verify(&other).unwrap_err(), "wrong audience");
        let missing = hs(serde_json::json!({"exp": now() + 60}), SECRET);
        assert!(v.verify(&missing).is_err());
    }

    #[test]
    fn es256_public_key() {
        use ring::rand::SystemRandom;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // SubjectPublicKeyInfo for a P-256 key: fixed prefix + the uncompressed point.
        let mut spki = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        spki.extend_from_slice(pair.public_key().as_ref());
        use base64::Engine;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        );
        let dir = std::env::temp_dir().join(format!("tikcast-es256-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("es256.pem");
        std::fs::write(&path, pem).unwrap();
        let v = Verifier::new(None, &[], &[path], None, 5).unwrap();
        let token = encode(
            &Header::new(Algorithm::ES256),
            &serde_json::json!({"exp": now() + 60}),
            &EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
        .unwrap();
        assert!(v.verify(&token).is_ok());
        // An HS256 token is refused when no secret is configured.
        assert!(v
            .verify(&hs(serde_json::json!({"exp": now() + 60}), SECRET))
            .is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hashes_hide_tokens() {
        let h = token_hash("secret.token.value");
        assert!(h.starts_with("tok:") && h.len() == 16 && !h.contains("secret"));
    }
}
