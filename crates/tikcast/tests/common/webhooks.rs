//! A webhook receiver on 127.0.0.1 for the relay's webhook tests: it records every POST
//! (headers, body, whether the signature verifies) and can refuse the first attempts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub idempotency_key: String,
    pub event_type: String,
    pub attempt: u32,
    pub signature_ok: bool,
    pub body: Value,
    /// The status the receiver answered.
    pub status: u16,
}

/// A webhook receiver on 127.0.0.1 that answers 500 to the first `fail_first` attempts
/// of each event id and 200 after, verifying every signature with `secret`.
pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Our own check of `Tikcast-Signature: t=T,v1=HEX` (as docs/relay.md tells receivers).
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(ts) = t.parse::<u64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(ts) > 300 {
        return false;
    }
    let Ok(sig) = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(v1.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

pub async fn receiver(fail_first: u32, secret: &'static str) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/tikcast", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let shared = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + len {
                            let n = s.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break (head, buf[end + 4..end + 4 + len].to_vec());
                    }
                };
                let h = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                        .unwrap_or("")
                        .trim()
                        .to_string()
                };
                assert!(head.starts_with("post /hooks/tikcast http/1.1"), "{head}");
                assert_eq!(h("content-type"), "application/json");
                let event_id = h("tikcast-event-id");
                let status = {
                    let mut seen = seen.lock().unwrap();
                    let before = seen.iter().filter(|d| d.event_id == event_id).count() as u32;
                    let status = if before < fail_first { 500 } else { 200 };
                    seen.push(Delivery {
                        idempotency_key: h("idempotency-key"),
                        event_type: h("tikcast-event"),
                        attempt: h("tikcast-delivery-attempt").parse().unwrap_or(0),
                        signature_ok: verify(secret, &h("tikcast-signature"), &body),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        event_id,
                        status,
                    });
                    status
                };
                let reply = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    if status == 200 { "OK" } else { "Oops" }
                );
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    Receiver { url, seen, task }
}

impl Receiver {
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    /// Attempts per event type so far.
    pub fn attempts(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for d in self.deliveries() {
            *m.entry(d.event_type).or_insert(0) += 1;
        }
        m
    }

    /// Waits until `done` holds for the deliveries, for up to `limit`.
    pub async fn until(&self, limit: Duration, done: impl Fn(&[Delivery]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if done(&self.deliveries()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}
