//! HS256 JWT checks for the relay endpoint, modelled on what Euler's relay documents
//! (protocol §1.6, §8.1): a short-lived token a backend mints for one browser, limited
//! to some creators.
//!
//! Only `alg: HS256` is accepted (never `none`, never another algorithm named by the
//! token). The signature is checked in constant time (`Mac::verify_slice`) before any
//! claim is trusted. `exp` (seconds since the epoch) is required and must be in the
//! future; `nbf`, when present, must not be. `allowedCreators` is read at the top level
//! or under `websockets` (the shape of Euler's JWT-create request); when absent the
//! token is valid for every creator. Errors never contain the token.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Why a token was refused, for the server log (never contains the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    Missing,
    Malformed(&'static str),
    Algorithm,
    Signature,
    Expired,
    NotYetValid,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Missing => write!(f, "no jwtKey given"),
            JwtError::Malformed(what) => write!(f, "malformed token ({what})"),
            JwtError::Algorithm => write!(f, "token algorithm is not HS256"),
            JwtError::Signature => write!(f, "bad token signature"),
            JwtError::Expired => write!(f, "token expired or has no exp"),
            JwtError::NotYetValid => write!(f, "token not valid yet (nbf)"),
        }
    }
}

/// The claims the relay uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// Normalised handles (lowercase, no leading `@`); `None` = every creator.
    pub(crate) allowed_creators: Option<Vec<String>>,
}

impl Claims {
    /// Whether the token may watch `unique_id` (already normalised).
    pub(crate) fn allows(&self, unique_id: &str) -> bool {
        match &self.allowed_creators {
            None => true,
            Some(list) => list.iter().any(|c| c == unique_id),
        }
    }
}

/// Lowercase, trimmed, without a leading `@`: how handles are compared.
pub(crate) fn normalize_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("not base64url"))
}

fn json_part(part: &str, what: &'static str) -> Result<serde_json::Map<String, Value>, JwtError> {
    match serde_json::from_slice(&b64(part)?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(what)),
    }
}

/// Verifies `token` with `secret` at `now_secs` (seconds since the epoch).
pub(crate) fn verify(token: &str, secret: &[u8], now_secs: i64) -> Result<Claims, JwtError> {
    if token.is_empty() {
        return Err(JwtError::Missing);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("expected three dot-separated parts"));
    };
    let header_json = json_part(header, "header is not a JSON object")?;
    if header_json.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let signature = b64(signature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| JwtError::Malformed("unusable secret"))?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    let claims = json_part(payload, "payload is not a JSON object")?;
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    match number("exp") {
        Some(exp) if exp > now_secs as f64 => {}
        _ => return Err(JwtError::Expired),
    }
    if claims.contains_key("nbf") {
        match number("nbf") {
            Some(nbf) if nbf <= now_secs as f64 => {}
            _ => return Err(JwtError::NotYetValid),
        }
    }
    let list = claims.get("allowedCreators").or_else(|| {
        claims
            .get("websockets")
            .and_then(|w| w.get("allowedCreators"))
    });
    let allowed_creators = match list {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(normalize_handle)
                .collect(),
        ),
        Some(_) => return Err(JwtError::Malformed("allowedCreators is not a list")),
    };
    Ok(Claims { allowed_creators })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(header: &str, claims: &str, secret: &[u8]) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signing = format!("{}.{}", e.encode(header), e.encode(claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(signing.as_bytes());
        format!("{signing}.{}", e.encode(mac.finalize().into_bytes()))
    }

    const HS: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn accepts_a_valid_token_and_reads_creators() {
        let t = sign(HS, r#"{"exp":2000,"allowedCreators":["@Mock.Host"]}"#, b"k");
        let c = verify(&t, b"k", 1000).unwrap();
        assert!(c.allows("mock.host"));
        assert!(!c.allows("other"));
        let t = sign(
            HS,
            r#"{"exp":2000,"websockets":{"allowedCreators":["a"]}}"#,
            b"k",
        );
        assert!(verify(&t, b"k", 1000).unwrap().allows("a"));
        let t = sign(HS, r#"{"exp":2000}"#, b"k");
        assert!(verify(&t, b"k", 1000).unwrap().allows("anyone"));
    }

    #[test]
    fn refuses_bad_tokens() {
        let good = sign(HS, r#"{"exp":2000}"#, b"k");
        assert_eq!(verify(&good, b"other", 1000), Err(JwtError::Signature));
        assert_eq!(verify(&good, b"k", 2000), Err(JwtError::Expired));
        let no_exp = sign(HS, r#"{}"#, b"k");
        assert_eq!(verify(&no_exp, b"k", 1000), Err(JwtError::Expired));
        let nbf = sign(HS, r#"{"exp":3000,"nbf":1500}"#, b"k");
        assert_eq!(verify(&nbf, b"k", 1000), Err(JwtError::NotYetValid));
        assert!(verify(&nbf, b"k", 1600).is_ok());
        let none = sign(r#"{"alg":"none"}"#, r#"{"exp":2000}"#, b"k");
        assert_eq!(verify(&none, b"k", 1000), Err(JwtError::Algorithm));
        assert_eq!(verify("", b"k", 1000), Err(JwtError::Missing));
        assert!(matches!(
            verify("a.b", b"k", 1000),
            Err(JwtError::Malformed(_))
        ));
        assert!(verify("!!.??.**", b"k", 1000).is_err());
    }
}
