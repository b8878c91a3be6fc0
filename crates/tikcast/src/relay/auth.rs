//! Browser tokens: JWTs minted by the user's backend, verified with `jsonwebtoken`.
//!
//! Keys: an HS256 secret and/or RS256 and ES256 public keys (PEM). The token's header
//! names its algorithm; only keys of that algorithm are tried, and only algorithms with
//! a configured key are accepted (never `none`). `exp` is required, `exp` and `nbf` are
//! checked with a small leeway, `aud` when the relay is configured with an audience.
//!
//! Claims (Euler's JWT shape, protocol §1.6): `allowedCreators` (a list of handles, or
//! `"*"`, at the top level or under `websockets`) and `maxWebSockets` (same places; a
//! whole number from 1 to [`MAX_WEB_SOCKETS`], anything else refuses the token). The
//! grant keeps `exp`, so the relay can close a socket whose token ran out.
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

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Websockets {
    allowed_creators: Option<Creators>,
    max_web_sockets: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    // Typed on purpose (see the module docs); jsonwebtoken checks the values.
    exp: u64,
    #[allow(dead_code)]
    nbf: Option<u64>,
    jti: Option<String>,
    allowed_creators: Option<Creators>,
    /// Any JSON here, so that a bad value gets its own error (see [`max_sockets`]).
    max_web_sockets: Option<serde_json::Value>,
    websockets: Option<Websockets>,
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
        };
        if !v.has_keys() {
            return Err("no JWT key configured: set --jwt-secret (HS256), --rs256-key or --es256-key, or pass --no-auth for a local relay without tokens".into());
        }
        Ok(v)
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
                Ok(data) => return grant(data.claims, token),
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
    match c {
        Creators::One(s) => vec![if s.trim() == "*" {
            "*".into()
        } else {
            normalize_handle(&s)
        }],
        Creators::Many(list) => list
            .iter()
            .map(|s| {
                if s.trim() == "*" {
                    "*".into()
                } else {
                    normalize_handle(s)
                }
            })
            .collect(),
    }
}

/// `maxWebSockets`: a whole number from 1 to [`MAX_WEB_SOCKETS`] (0 is not "unlimited").
fn max_sockets(v: Option<serde_json::Value>) -> Result<Option<u32>, String> {
    match v {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_WEB_SOCKETS).contains(n))
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                format!("maxWebSockets must be a whole number from 1 to {MAX_WEB_SOCKETS}")
            }),
    }
}

fn grant(c: Claims, token: &str) -> Result<Grant, String> {
    let ws = c.websockets.unwrap_or_default();
    Ok(Grant {
        creators: c.allowed_creators.or(ws.allowed_creators).map(creators),
        max_sockets: max_sockets(c.max_web_sockets.or(ws.max_web_sockets))?,
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
