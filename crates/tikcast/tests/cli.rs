//! `tikcast decode` end to end, as a user runs it.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn tikcast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tikcast"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `tikcast ARGS` with `input` on standard input and collects its output.
fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
    input: &[u8],
) -> std::process::Output {
    let mut child = tikcast()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn bundled_demo_frame_is_current() {
    let out = tikcast().args(["demo-frame", "-"]).output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read(repo().join("tests/fixtures/demo-frame.bin")).unwrap();
    assert!(out.stdout == committed, "tests/fixtures/demo-frame.bin is stale: run `cargo run -p tikcast -- demo-frame tests/fixtures/demo-frame.bin`");
}

#[test]
fn demo_session_recording_is_current() {
    let fixtures = repo().join("tests/fixtures");
    let out = tikcast()
        .arg("demo-recording")
        .arg("--script")
        .arg(fixtures.join("demo-session.jsonl"))
        .arg("--gifts")
        .arg(fixtures.join("demo-gifts.json"))
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(fixtures.join("demo-session.tkrec")).unwrap();
    assert!(
        out.stdout == committed,
        "tests/fixtures/demo-session.tkrec is stale: run `cargo run -p tikcast -- demo-recording --script tests/fixtures/demo-session.jsonl --gifts tests/fixtures/demo-gifts.json tests/fixtures/demo-session.tkrec`"
    );
}

#[test]
fn replays_the_demo_session() {
    let out = tikcast()
        .arg("replay")
        .arg(repo().join("tests/fixtures/demo-session.tkrec"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = lines(&out);
    let count = |t: &str| ev.iter().filter(|e| e["type"] == t).count();
    assert!(count("chat") >= 30 && count("like") >= 20 && count("member") >= 10);
    assert!(count("linkMicBattle") == 2 && count("linkMicArmies") >= 5);
    assert!(count("follow") >= 1 && count("share") >= 1 && count("subscribe") == 1);
    assert!(ev
        .iter()
        .any(|e| e["type"] == "chat" && e["comment"] == "<img src=x onerror=alert(1)>"));
    assert!(ev.iter().any(|e| e["type"] == "gift"
        && e["repeatEnd"] == true
        && e["repeatCount"].as_i64() > Some(10)));
    assert_eq!(ev.last().unwrap()["type"], "streamEnd");
}

#[test]
fn decodes_the_demo_frame() {
    let out = tikcast()
        .args(["decode", "--frame-info"])
        .arg(repo().join("tests/fixtures/demo-frame.bin"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = lines(&out);
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "frame", "member", "chat", "chat", "chat", "gift", "gift", "gift", "like", "social",
            "follow", "social", "share", "roomUser", "unknown"
        ]
    );
    assert_eq!(ev[0]["needAck"], true);
    assert_eq!(ev[0]["logId"], "7301234567890123456");
    assert_eq!(ev[4]["comment"], "<img src=x onerror=alert(1)>");
    assert_eq!(ev[3]["user"]["isModerator"], true);
    assert_eq!(ev[2]["user"]["gifterLevel"], 12);
    assert_eq!(
        (
            ev[7]["repeatCount"].as_i64(),
            ev[7]["repeatEnd"].as_bool(),
            ev[7]["giftName"].as_str()
        ),
        (Some(3), Some(true), Some("Rose"))
    );
    assert_eq!(
        (
            ev[8]["likeCount"].as_i64(),
            ev[8]["totalLikeCount"].as_i64()
        ),
        (Some(15), Some(1015))
    );
    assert_eq!(ev[1]["label"], "Ada joined");
    assert_eq!(ev[13]["viewerCount"], 321);
    assert_eq!(ev[14]["method"], "WebcastFutureFeatureMessage");
}

#[test]
fn decodes_base64_payload_from_stdin_with_method() {
    // LikeMessage { count: 5, total: 42 }
    let out = run_with_stdin(
        ["decode", "--method", "WebcastLikeMessage", "--base64", "-"],
        b"EAUYKg==\n",
    );
    assert!(out.status.success());
    let ev = lines(&out);
    assert_eq!(
        (
            ev[0]["type"].as_str(),
            ev[0]["likeCount"].as_i64(),
            ev[0]["totalLikeCount"].as_i64()
        ),
        (Some("like"), Some(5), Some(42))
    );
}

#[test]
fn decodes_every_corpus_method_through_the_cli() {
    let Some(dir) = common::corpus(
        "more/signer/batch.pb",
        "decodes_every_corpus_method_through_the_cli",
    ) else {
        return;
    };
    let out = tikcast()
        .args(["decode", "--batch"])
        .arg(dir.join("more/signer/batch.pb"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(lines(&out).len(), 13);
    // one sample of every method in the capture logs, through --method --base64
    let mut first: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    logs.sort();
    for path in logs {
        let log: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (method, samples) in log {
            first
                .entry(method)
                .or_insert_with(|| samples[0]["eventData"].as_str().unwrap().to_string());
        }
    }
    assert!(first.len() >= 70, "{} methods", first.len());
    for (method, b64) in &first {
        let out = run_with_stdin(["decode", "--base64", "--method", method], b64.as_bytes());
        assert!(out.status.success());
        let ev = lines(&out);
        let t = ev[0]["type"].as_str().unwrap();
        assert!(t != "decodeError" && t != "unknown", "{method} -> {t}");
    }
}

#[test]
fn bad_input_is_one_line_on_stderr_and_exit_1() {
    for (args, input) in [
        (vec!["decode", "-"], &b"\x42\x64\x01"[..]),
        (vec!["decode", "--base64", "-"], &b"not base64 !!"[..]),
        (vec!["decode", "--batch", "-"], &b"\xff\xff\xff"[..]),
    ] {
        let out = run_with_stdin(&args, input);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("tikcast: "), "{err}");
        assert!(!err.contains("panicked"));
        assert!(out.stdout.is_empty());
    }
    let out = tikcast()
        .args(["decode", "/nonexistent/frame.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/frame.bin"));
}

/// `replay --info` of `bytes` written to a temporary file: the exit status and the JSON line.
fn replay_info(name: &str, bytes: &[u8]) -> (bool, serde_json::Value, String) {
    let path =
        std::env::temp_dir().join(format!("tikcast-cli-{name}-{}.tkrec", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let out = tikcast()
        .arg("replay")
        .arg(&path)
        .arg("--info")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let info = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        info,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn replay_reports_a_damaged_recording_header_and_still_plays_the_frames() {
    let demo = repo().join("tests/fixtures/demo-session.tkrec");
    let good = std::fs::read(&demo).unwrap();
    let (ok, clean, err) = replay_info("clean", &good);
    assert!(ok, "{err}");
    assert_eq!(clean["headerError"], serde_json::Value::Null, "{clean}");
    assert_eq!(clean["meta"]["recorder"], "tikcast demo-recording");
    let frames = clean["frames"].as_u64().unwrap();
    assert!(frames > 50, "{clean}");

    // One bit of the metadata flipped ('t' of "tikcast" becomes 'u': still valid JSON).
    let at = good
        .windows(7)
        .position(|w| w == b"tikcast")
        .expect("the demo recording names its recorder");
    let mut damaged = good.clone();
    damaged[at] ^= 1;
    let (ok, info, err) = replay_info("meta-flip", &damaged);
    assert!(ok, "{err}");
    let header_error = info["headerError"].as_str().unwrap_or_default();
    assert!(
        header_error.contains("checksum mismatch"),
        "the damage is reported: {info}"
    );
    assert_eq!(
        info["meta"],
        serde_json::Value::Null,
        "damaged metadata is not shown as if intact: {info}"
    );
    assert_eq!(info["frames"], frames, "{info}");
    assert_eq!(info["records"], clean["records"], "{info}");
    assert_eq!(info["tornBytes"], 0, "{info}");

    // One bit of meta_len flipped (bytes 12..16): the records are found all the same.
    let mut damaged = good.clone();
    damaged[14] ^= 0x10;
    let (ok, info, err) = replay_info("len-flip", &damaged);
    assert!(ok, "{err}");
    let header_error = info["headerError"].as_str().unwrap_or_default();
    assert!(header_error.contains("meta_len"), "{info}");
    assert_eq!(
        info["meta"], clean["meta"],
        "the metadata is verified by its checksum: {info}"
    );
    assert_eq!(info["frames"], frames, "{info}");

    // Playing it still prints every event, with the damage on stderr.
    let path = std::env::temp_dir().join(format!("tikcast-cli-play-{}.tkrec", std::process::id()));
    let mut damaged = good.clone();
    damaged[at] ^= 1;
    std::fs::write(&path, &damaged).unwrap();
    let played = tikcast().arg("replay").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    let reference = tikcast().arg("replay").arg(&demo).output().unwrap();
    assert!(played.status.success());
    assert_eq!(played.stdout, reference.stdout, "the same events");
    let stderr = String::from_utf8_lossy(&played.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("checksum mismatch"),
        "{stderr}"
    );
}
