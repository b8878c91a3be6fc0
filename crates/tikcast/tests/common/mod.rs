//! Helpers shared by the integration tests: the corpus, `tikcast` child processes
//! ([`Proc`]), raw HTTP requests and websocket clients.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

pub mod webhooks;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The real captures (`$TIKCAST_CORPUS`, default `../shared/corpus` beside the
/// repository) when `marker`, a file inside them, exists. Otherwise prints a `SKIPPED`
/// line naming `what` and returns `None`, or fails when `TIKCAST_REQUIRE_CORPUS=1` (CI).
pub fn corpus(marker: &str, what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TIKCAST_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("TIKCAST_REQUIRE_CORPUS").as_deref() != Ok("1"),
        "corpus not found at {} (no {marker})",
        dir.display()
    );
    eprintln!(
        "SKIPPED {what}: no corpus at {} (no {marker}); set TIKCAST_CORPUS",
        dir.display()
    );
    None
}

/// The `tikcast` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tikcast");

/// Where a [`Proc`]'s stderr goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stderr {
    /// Dropped, or shown when `TIKCAST_RELAY_TEST_LOG` or `TIKCAST_MOCK_TEST_LOG` is set
    /// (for debugging a test).
    Quiet,
    /// Kept in a temporary file, read with [`Proc::log`] and removed on drop.
    File,
}

/// A `tikcast` child process that prints `{"listening":ADDR}` as its first stdout line;
/// killed (and its log file removed) on drop.
pub struct Proc {
    child: Child,
    /// Stdout after the first line.
    stdout: BufReader<ChildStdout>,
    /// The address from the first line, e.g. `127.0.0.1:40123`.
    pub addr: String,
    log: Option<PathBuf>,
}

static LOG_SEQ: AtomicU32 = AtomicU32::new(0);

impl Proc {
    /// `tikcast ARGS` with the extra environment `env`, stderr [`Stderr::Quiet`].
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn(args, env, Stderr::Quiet)
    }

    /// `tikcast ARGS` with the extra environment `env`, stderr kept for [`Proc::log`].
    pub fn start_logged(args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn(args, env, Stderr::File)
    }

    /// Starts the child and waits for its `{"listening":ADDR}` line.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], stderr: Stderr) -> Proc {
        let (stderr, log) = match stderr {
            Stderr::Quiet
                if std::env::var_os("TIKCAST_RELAY_TEST_LOG").is_some()
                    || std::env::var_os("TIKCAST_MOCK_TEST_LOG").is_some() =>
            {
                (Stdio::inherit(), None)
            }
            Stderr::Quiet => (Stdio::null(), None),
            Stderr::File => {
                let n = LOG_SEQ.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("tikcast-test-{}-{n}.log", std::process::id()));
                (
                    Stdio::from(std::fs::File::create(&path).unwrap()),
                    Some(path),
                )
            }
        };
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn tikcast");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let v: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("first line {first:?} is not JSON: {e}"));
        Proc {
            child,
            stdout,
            addr: v["listening"].as_str().unwrap().to_string(),
            log,
        }
    }

    /// `tikcast mock` on 127.0.0.1 stopping by itself after 40 s, with `args`.
    pub fn mock(args: &[&str]) -> Proc {
        Proc::start(&mock_args(args), &[])
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit by itself: its status, or `None`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The rest of stdout, read to its end (so after the process exited).
    pub fn rest_of_stdout(&mut self) -> String {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        rest
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process wrote to stderr so far ([`Stderr::File`] only, else empty).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// One HTTP/1.1 request to the process: (status, lowercase head, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &str,
    ) -> (u16, String, String) {
        http_request(&self.addr, method, path, headers, body)
    }

    /// `GET path` with `headers`: (status, lowercase head, body).
    pub fn http_get(&self, path: &str, headers: &[&str]) -> (u16, String, String) {
        self.request("GET", path, headers, "")
    }

    /// `/stats` as JSON (the mock's and the relay's), checked to answer 200.
    pub fn stats(&self) -> Value {
        let text = http_exchange(&self.addr, "GET", "/stats", &[], "");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head.lines().next(),
            Some("HTTP/1.1 200 OK"),
            "/stats: {text}"
        );
        serde_json::from_str(body).unwrap()
    }

    /// The value of the `/metrics` line that starts with `name` (labels included).
    pub fn metric(&self, name: &str) -> u64 {
        let (_, _, body) = self.http_get("/metrics", &[]);
        body.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no metric {name} in\n{body}"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// Runs `tikcast ARGS` with the extra environment `env`, expecting it to refuse to start
/// (a failure exit with nothing on stdout); returns its stderr.
pub fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty(), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `mock --listen 127.0.0.1:0 --max-seconds 40` followed by `args`.
pub fn mock_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["mock", "--listen", "127.0.0.1:0", "--max-seconds", "40"];
    all.extend_from_slice(args);
    all
}

/// `relay --listen 127.0.0.1:0 --max-seconds 40 --upstream UPSTREAM --jwt-secret SECRET`
/// followed by `args`.
pub fn relay_args<'a>(upstream: &'a str, secret: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--max-seconds",
        "40",
        "--upstream",
        upstream,
        "--jwt-secret",
        secret,
    ];
    all.extend_from_slice(args);
    all
}

/// One HTTP/1.1 request to `addr`, read to the end: (status, lowercase head, body). A
/// POST gets a `content-length` of `body` unless `headers` already carry one.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String, String) {
    let text = http_exchange(addr, method, path, headers, body);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

/// The request of [`http_request`], answered with the raw response text.
pub fn http_exchange(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if method == "POST" && !headers.iter().any(|h| h.starts_with("content-length")) {
        req.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// A header's value in a lowercase head (as [`http_request`] returns it).
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(|v| v.trim().to_string())
}

/// A client websocket to a relay or mock.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `ws://ADDR/ws?QUERY` on `proc`, failing the test if the handshake fails.
pub async fn ws_open(proc: &Proc, query: &str) -> Ws {
    let url = format!("ws://{}/ws?{query}", proc.addr);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Like [`ws_open`], over a socket with a 4 KiB receive buffer: a viewer that stops
/// reading stalls the server's sends soon.
pub async fn ws_open_small_buffer(proc: &Proc, query: &str) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let tcp = sock.connect(proc.addr.parse().unwrap()).await.unwrap();
    let url = format!("ws://{}/ws?{query}", proc.addr);
    tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp))
        .await
        .unwrap()
        .0
}

/// What [`ws_tally`] read from a socket.
#[derive(Debug, Default)]
pub struct Tally {
    /// Every text message, in order.
    pub texts: Vec<String>,
    /// How many binary frames arrived.
    pub frames: usize,
    /// The close code, when the server closed the socket.
    pub close: Option<u16>,
}

/// Reads `ws` until `frames_wanted` binary frames arrived, it closes or ends, or `limit`
/// passes.
pub async fn ws_tally(ws: &mut Ws, frames_wanted: usize, limit: Duration) -> Tally {
    let mut tally = Tally::default();
    let deadline = tokio::time::Instant::now() + limit;
    while tally.frames < frames_wanted {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => tally.texts.push(t.to_string()),
            Ok(Some(Ok(Message::Binary(_)))) => tally.frames += 1,
            Ok(Some(Ok(Message::Close(f)))) => {
                tally.close = f.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    tally
}

/// A relay-mode session whose one socket is open (as a viewer's session over a relay):
/// started, connected and past its first outputs; `liveness_ms` before it calls the
/// socket silent.
pub fn open_relay_session(liveness_ms: u64) -> (tikcast_core::Session, tikcast_core::ConnId) {
    use tikcast_core::{Mode, Session, SessionConfig};
    let mut session = Session::new(SessionConfig {
        mode: Mode::Relay,
        liveness_timeout_ms: liveness_ms,
        ..Default::default()
    });
    let conn = session.start_open(0).expect("a started session connects");
    let _ = session.poll_outputs();
    (session, conn)
}
