//! Reading an HTTP request head without consuming it, shared by `tikcast mock` and
//! `tikcast relay`: both route plain HTTP (`/stats`, `/api/...`) and WebSocket upgrades
//! on one listener, and the WebSocket handshake must still see the whole request.

use std::time::Duration;

use tokio::net::TcpStream;

/// Largest request head read before deciding what the request is.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The parts of a request head that route and authorize it.
#[derive(Debug)]
pub(crate) struct Head {
    /// Bytes of the head, including the blank line.
    pub(crate) len: usize,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    /// `Upgrade: websocket` was present.
    pub(crate) upgrade: bool,
    pub(crate) origin: Option<String>,
    /// An `x-jwt-key` header.
    pub(crate) jwt_header: Option<String>,
}

/// Waits until the whole request head is in the socket buffer and parses it without
/// consuming it. `None`: no complete, valid head within 10 s or 16 KiB (the caller drops
/// the connection), so a client trickling bytes cannot hold a task forever.
pub(crate) async fn peek_head(stream: &TcpStream) -> Option<Head> {
    peek_head_within(stream, HEAD_TIMEOUT).await
}

async fn peek_head_within(stream: &TcpStream, limit: Duration) -> Option<Head> {
    let mut buf = vec![0u8; MAX_HEAD];
    let started = tokio::time::Instant::now();
    loop {
        let n = tokio::time::timeout_at(started + limit, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        let window = buf.get(..n)?;
        if let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") {
            return parse_head(window.get(..end + 4)?);
        }
        if n == buf.len() || started.elapsed() > limit {
            return None;
        }
        // `peek` returns at once while any bytes are buffered; give the rest time to arrive.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Parses a complete request head (request line and headers).
pub(crate) fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut request = lines.next()?.split(' ');
    let method = request.next()?.to_string();
    let target = request.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut h = Head {
        len: head.len(),
        method,
        path: path.to_string(),
        query: query.to_string(),
        upgrade: false,
        origin: None,
        jwt_header: None,
    };
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("upgrade") && v.eq_ignore_ascii_case("websocket") {
            h.upgrade = true;
        } else if k.eq_ignore_ascii_case("origin") {
            h.origin = Some(v.to_string());
        } else if k.eq_ignore_ascii_case("x-jwt-key") {
            h.jwt_header = Some(v.to_string());
        }
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_bad_ones_do_not() {
        let h = parse_head(
            b"GET /ws?uniqueId=a HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nOrigin: http://o\r\nX-JWT-Key: t\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (h.method.as_str(), h.path.as_str(), h.query.as_str()),
            ("GET", "/ws", "uniqueId=a")
        );
        assert!(h.upgrade);
        assert_eq!(h.origin.as_deref(), Some("http://o"));
        assert_eq!(h.jwt_header.as_deref(), Some("t"));
        assert!(parse_head(b"\xff\r\n\r\n").is_none());
        assert!(parse_head(b"\r\n\r\n").is_none());
    }

    #[tokio::test]
    async fn a_trickled_partial_head_gives_up() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client
            .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert!(peek_head_within(&server, Duration::from_millis(200))
            .await
            .is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(client);
    }
}
