//! A small HTTP/1.1 client (plain or rustls TLS) for the sign services (GET, POST) and webhook
//! deliveries (POST): one request per connection, `Connection: close`, chunked or length-delimited bodies, a size cap
//! and a deadline. Error messages never contain the URL's query (it may hold a key).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response accepted.
const MAX_RESPONSE: usize = 4 << 20;

pub(crate) struct Response {
    pub(crate) status: u16,
    /// Header names lowercased, values trimmed, in order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `http(s)://host[:port]/path?query` split up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path_and_query: String,
}

pub(crate) fn parse_url(url: &str) -> Result<Target, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("the url must start with http:// or https://".into());
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("bad ipv6 host in url")?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| "bad port in url")?,
            None => default_port,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| "bad port in url")?),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() || host.contains('@') {
        return Err("bad host in url".into());
    }
    Ok(Target {
        tls,
        host,
        port,
        path_and_query: path,
    })
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// GET `url` with extra `headers`, within `limit`.
pub(crate) async fn get(
    url: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> Result<Response, String> {
    let target = parse_url(url)?;
    tokio::time::timeout(limit, send(&target, "GET", headers, None))
        .await
        .map_err(|_| format!("no answer from {} within {limit:?}", target.host))?
}

/// POST `body` (as `content_type`) to `url` with extra `headers`, within `limit`.
pub(crate) async fn post(
    url: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
    limit: Duration,
) -> Result<Response, String> {
    let target = parse_url(url)?;
    tokio::time::timeout(
        limit,
        send(&target, "POST", headers, Some((content_type, body))),
    )
    .await
    .map_err(|_| format!("no answer from {} within {limit:?}", target.host))?
}

async fn send(
    t: &Target,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Result<Response, String> {
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {}", t.host, t.port, e.kind()))?;
    let _ = tcp.set_nodelay(true);
    let mut io: Box<dyn Io> = if t.tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|_| format!("{} is not a valid tls server name", t.host))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls handshake with {} failed: {e}", t.host))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\naccept: application/json\r\nuser-agent: tikcast-relay/{}\r\n",
        t.path_and_query,
        env!("CARGO_PKG_VERSION")
    );
    if let Some((content_type, body)) = body {
        req.push_str(&format!(
            "content-type: {content_type}\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    for (k, v) in headers {
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            return Err("header values must not contain line breaks".into());
        }
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some((_, body)) = body {
        bytes.extend_from_slice(body);
    }
    io.write_all(&bytes)
        .await
        .map_err(|e| format!("cannot send request to {}: {}", t.host, e.kind()))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match io.read(&mut buf).await {
            Ok(n) => n,
            // Servers that close without TLS close_notify: keep what arrived.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("reading from {} failed: {}", t.host, e.kind())),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_RESPONSE {
            return Err(format!("response from {} is over 4 MiB", t.host));
        }
    }
    parse_response(&raw).ok_or_else(|| format!("malformed http response from {}", t.host))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    let mut headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
            headers.push((k, v.to_string()));
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        match length {
            Some(n) => rest.get(..n)?.to_vec(),
            None => rest.to_vec(),
        }
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("https://sign.example/api/sign?x=1").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path_and_query.as_str()),
            (true, "sign.example", 443, "/api/sign?x=1")
        );
        let t = parse_url("http://127.0.0.1:9/?a").unwrap();
        assert_eq!((t.port, t.path_and_query.as_str()), (9, "/?a"));
        let t = parse_url("http://[::1]:8/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8));
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://u@x/").is_err());
    }

    #[test]
    fn responses() {
        let r =
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nX-Room-Id:  42 \r\n\r\nhi!")
                .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(r.header("x-room-id"), Some("42"));
        assert_eq!(r.header("retry-after"), None);
        let r = parse_response(
            b"HTTP/1.1 404 NF\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"abcde"[..]));
        assert!(parse_response(b"garbage").is_none());
    }
}
