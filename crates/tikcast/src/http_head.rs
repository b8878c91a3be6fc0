//! Reading an HTTP request head, shared by `tikcast mock` and `tikcast relay`: both route
//! plain HTTP (`/stats`, `/api/...`) and WebSocket upgrades on one listener, and read
//! the query string with [`Query`].
//!
//! The relay reads the head with [`read_head`]: ordinary async reads under one deadline,
//! so a client trickling bytes costs nothing until they arrive, and a head that is too
//! long or malformed gets a status ([`HeadError::Refuse`]) instead of a reset. The bytes
//! read past the head are handed back (a WebSocket client may send its first frame
//! before our 101 arrives). The mock, a local test tool, still peeks ([`peek_head`]) so
//! that tungstenite's handshake can read the request itself.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

/// Largest request head (request line and headers) read before answering 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Longest request line before answering 414.
pub(crate) const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Most header fields in one request before answering 400.
pub(crate) const MAX_HEADERS: usize = 100;
/// How long a client may take to send its request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The parts of a request head that route and authorize it.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// Bytes of the head, including the blank line.
    pub(crate) len: usize,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    /// `HTTP/1.1` (or later 1.x), as a WebSocket upgrade needs.
    pub(crate) http11: bool,
    /// `Upgrade: websocket` was present.
    pub(crate) upgrade: bool,
    /// `Connection` names the `upgrade` token.
    pub(crate) connection_upgrade: bool,
    pub(crate) ws_key: Option<String>,
    pub(crate) ws_version: Option<String>,
    pub(crate) origin: Option<String>,
    /// An `x-jwt-key` header.
    pub(crate) jwt_header: Option<String>,
    /// An `authorization` header (`Bearer KEY` for the relay's admin API).
    pub(crate) authorization: Option<String>,
    /// An `x-api-key` header.
    pub(crate) api_key: Option<String>,
    /// `content-length`, when present and a number (`Some(None)`: present but not one).
    pub(crate) content_length: Option<Option<usize>>,
    /// A `transfer-encoding` header was present (bodies are only read with a length).
    pub(crate) transfer_encoding: bool,
}

/// Why no head was routed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The client left, or sent no complete head in time: nothing to answer.
    Gone,
    /// Answer with this status line and plain-text reason, then close.
    Refuse {
        status: &'static str,
        why: &'static str,
    },
}

const fn refuse(status: &'static str, why: &'static str) -> HeadError {
    HeadError::Refuse { status, why }
}

const TOO_LONG_URI: HeadError = refuse("414 URI Too Long", "the request line is too long");
const TOO_LARGE: HeadError = refuse(
    "431 Request Header Fields Too Large",
    "the request head is too large",
);

/// Reads one request head from `stream` within `limit`. Returns it with the bytes that
/// followed it in the same reads.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<(Head, Vec<u8>), HeadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let reading = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Gone)?;
            if n == 0 {
                return Err(HeadError::Gone);
            }
            // The end can straddle two reads: look from 3 bytes before the new ones.
            let from = buf.len().saturating_sub(3);
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if let Some(end) = find(buf.get(from..).unwrap_or_default(), b"\r\n\r\n") {
                let end = from + end + 4;
                if end > MAX_HEAD {
                    return Err(too_long(&buf));
                }
                let rest = buf.split_off(end);
                return parse_head(&buf).map(|h| (h, rest));
            }
            if buf.len() > MAX_HEAD {
                return Err(too_long(&buf));
            }
            if find(&buf, b"\r\n").is_none() && buf.len() > MAX_REQUEST_LINE {
                return Err(TOO_LONG_URI);
            }
        }
    };
    tokio::time::timeout(limit, reading)
        .await
        .unwrap_or(Err(HeadError::Gone))
}

/// 414 when the request line alone is over its cap, else 431.
fn too_long(buf: &[u8]) -> HeadError {
    match find(buf, b"\r\n") {
        Some(line) if line <= MAX_REQUEST_LINE => TOO_LARGE,
        _ => TOO_LONG_URI,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Waits until the whole request head is in the socket buffer and parses it without
/// consuming it (`tikcast mock` only). `None`: no complete, valid head within 10 s or
/// 16 KiB (the caller drops the connection).
pub(crate) async fn peek_head(stream: &TcpStream) -> Option<Head> {
    let mut buf = vec![0u8; MAX_HEAD];
    let started = tokio::time::Instant::now();
    loop {
        let n = tokio::time::timeout_at(started + HEAD_TIMEOUT, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        let window = buf.get(..n)?;
        if let Some(end) = find(window, b"\r\n\r\n") {
            return parse_head(window.get(..end + 4)?).ok();
        }
        if n == buf.len() || started.elapsed() > HEAD_TIMEOUT {
            return None;
        }
        // `peek` returns at once while any bytes are buffered; give the rest time to arrive.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Why a request body was not read: the status line and reason to answer with.
pub(crate) type BodyError = (&'static str, &'static str);

/// Reads the body of a request whose head is `head` (`rest`: bytes already read after
/// the head): exactly `content-length` bytes, at most `cap`, within `limit`. A body
/// without a length (or chunked) is refused with 411, one over the cap with 413.
pub(crate) async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    head: &Head,
    mut rest: Vec<u8>,
    cap: usize,
    limit: Duration,
) -> Result<Vec<u8>, BodyError> {
    let len = match (head.transfer_encoding, head.content_length) {
        (false, Some(Some(n))) => n,
        (false, Some(None)) => return Err(("400 Bad Request", "bad content-length")),
        _ => {
            return Err((
                "411 Length Required",
                "send the body with a content-length (no chunked encoding)",
            ))
        }
    };
    if len > cap {
        return Err(("413 Content Too Large", "the request body is too large"));
    }
    let reading = async {
        let mut chunk = [0u8; 4096];
        while rest.len() < len {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            rest.extend_from_slice(chunk.get(..n)?);
        }
        rest.truncate(len);
        Some(rest)
    };
    match tokio::time::timeout(limit, reading).await {
        Ok(Some(body)) => Ok(body),
        _ => Err((
            "408 Request Timeout",
            "the request body did not arrive in time",
        )),
    }
}

/// Parses a complete request head (request line, headers, blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<Head, HeadError> {
    let bad = |why| refuse("400 Bad Request", why);
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not utf-8"))?;
    let mut lines = text.split("\r\n");
    let request = lines.next().unwrap_or_default();
    if request.len() > MAX_REQUEST_LINE {
        return Err(TOO_LONG_URI);
    }
    let mut parts = request.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not METHOD TARGET HTTP/1.x"));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(bad("the request line is not METHOD TARGET HTTP/1.x"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut h = Head {
        len: head.len(),
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        http11: version != "HTTP/1.0",
        ..Head::default()
    };
    let mut count = 0usize;
    for l in lines.filter(|l| !l.is_empty()) {
        count += 1;
        if count > MAX_HEADERS {
            return Err(bad("too many header fields"));
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(bad("a header line has no colon"));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("upgrade") {
            h.upgrade |= v.eq_ignore_ascii_case("websocket");
        } else if k.eq_ignore_ascii_case("connection") {
            h.connection_upgrade |= v
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
        } else if k.eq_ignore_ascii_case("sec-websocket-key") {
            h.ws_key = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("sec-websocket-version") {
            h.ws_version = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("origin") {
            h.origin = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("x-jwt-key") {
            h.jwt_header = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("authorization") {
            h.authorization = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("x-api-key") {
            h.api_key = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("content-length") {
            // Two different lengths are a smuggling attempt: treat as unreadable.
            let n = v.parse::<usize>().ok();
            h.content_length = match h.content_length {
                Some(seen) if seen != n => Some(None),
                _ => Some(n),
            };
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            h.transfer_encoding = true;
        }
    }
    Ok(h)
}

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: &str) -> Self {
        Query(
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `application/x-www-form-urlencoded` decoding; malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = bytes
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(bytes.get(i + 2).copied().and_then(hex));
                match pair {
                    Some((hi, lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q =
            Query::parse("a=1&cursor=mock-5&ie=internal_src%3Amock%7Cnext%3A5&sp=a+b&bad=%zz&e");
        assert_eq!(q.get("cursor"), Some("mock-5"));
        assert_eq!(q.get("ie"), Some("internal_src:mock|next:5"));
        assert_eq!(q.get("sp"), Some("a b"));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.get("e"), Some(""));
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn heads_parse_and_bad_ones_do_not() {
        let h = parse_head(
            b"GET /ws?uniqueId=a HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nOrigin: http://o\r\nX-JWT-Key: t\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (h.method.as_str(), h.path.as_str(), h.query.as_str()),
            ("GET", "/ws", "uniqueId=a")
        );
        assert!(h.upgrade && h.connection_upgrade && h.http11);
        assert_eq!(h.origin.as_deref(), Some("http://o"));
        assert_eq!(h.jwt_header.as_deref(), Some("t"));
        assert_eq!(h.ws_version.as_deref(), Some("13"));
        assert_eq!(h.ws_key, None);
        let status = |r: Result<Head, HeadError>| match r {
            Err(HeadError::Refuse { status, .. }) => status,
            other => panic!("{other:?}"),
        };
        assert_eq!(status(parse_head(b"\xff\r\n\r\n")), "400 Bad Request");
        assert_eq!(status(parse_head(b"\r\n\r\n")), "400 Bad Request");
        assert_eq!(status(parse_head(b"GET /\r\n\r\n")), "400 Bad Request");
        assert_eq!(
            status(parse_head(b"GET / HTTP/1.1\r\nno colon\r\n\r\n")),
            "400 Bad Request"
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x{i}: v\r\n")).collect();
        let req = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(status(parse_head(req.as_bytes())), "400 Bad Request");
    }

    async fn read_from(bytes: Vec<u8>, close: bool) -> Result<(Head, Vec<u8>), HeadError> {
        use tokio::io::AsyncWriteExt;
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(async move {
            let _ = client.write_all(&bytes).await;
            if !close {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let r = read_head(&mut server, Duration::from_millis(200)).await;
        writer.abort();
        r
    }

    #[tokio::test]
    async fn heads_are_read_with_their_tail_and_limits_answered() {
        let (h, rest) = read_from(b"GET /x HTTP/1.1\r\nHost: y\r\n\r\n\x81\x00".to_vec(), true)
            .await
            .unwrap();
        assert_eq!((h.path.as_str(), h.len, rest), ("/x", 28, vec![0x81, 0]));
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(
            read_from(long_line.into_bytes(), false).await.unwrap_err(),
            TOO_LONG_URI
        );
        let big = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(
            read_from(big.into_bytes(), false).await.unwrap_err(),
            TOO_LARGE
        );
        // A partial head: given up at the deadline, or when the client leaves.
        let partial = b"GET /ws HTTP/1.1\r\nHost: x\r\n".to_vec();
        let started = std::time::Instant::now();
        assert_eq!(
            read_from(partial.clone(), false).await.unwrap_err(),
            HeadError::Gone
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(read_from(partial, true).await.unwrap_err(), HeadError::Gone);
    }
}
