//! `tikcast decode` on hostile input: the frames of tikcast-core's hostile-input
//! generator (each the worst of its kind within the decode caps) decode, or are refused
//! with one line on stderr, inside a 512 MiB address-space limit (they used to take
//! 0.8-3.5 GB), and an oversized `--batch` is refused before it is read whole.

#[path = "../../tikcast-core/tests/common/hostile.rs"]
mod hostile;

use std::process::Command;

/// Runs `tikcast ARGS` under `ulimit -v` of `limit_kib`, output discarded but stderr kept.
fn run_limited(limit_kib: u64, args: &[&str]) -> std::process::Output {
    let mut script = format!("ulimit -v {limit_kib}; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    script.push_str(" > /dev/null");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tikcast"))
        .args(args)
        .output()
        .expect("sh runs")
}

#[test]
fn hostile_frames_decode_within_512_mib_or_are_refused() {
    let dir = std::env::temp_dir().join(format!("tikcast-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for h in hostile::all() {
        let path = dir.join(format!("{}.bin", h.name));
        std::fs::write(&path, &h.frame).unwrap();
        let out = run_limited(512 * 1024, &["decode", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!(
            "{:<22} exit {:?}  {}",
            h.name,
            out.status.code(),
            stderr.trim()
        );
        match out.status.code() {
            Some(0) => assert!(stderr.is_empty(), "{}: {stderr}", h.name),
            Some(1) => assert!(
                stderr.starts_with("tikcast: cannot decode input: ")
                    && stderr.contains("cap")
                    && stderr.lines().count() == 1,
                "{}: {stderr}",
                h.name
            ),
            other => panic!(
                "{}: exit {other:?} (killed or out of memory): {stderr}",
                h.name
            ),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_oversized_batch_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("tikcast-big-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("batch.pb");
    // 64 MiB of like messages: a well-formed batch, 8 times the inflated cap.
    let batch = hostile::batch_of(1_300_000, "WebcastLikeMessage", &hostile::like_payload());
    assert!(batch.len() > 64 << 20);
    std::fs::write(&path, &batch).unwrap();
    let out = run_limited(256 * 1024, &["decode", "--batch", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("over the 8388608-byte cap"), "{stderr}");
    // With the cap raised to hold it, the message cap still refuses it in one line.
    let out = run_limited(
        1024 * 1024,
        &[
            "decode",
            "--batch",
            "--max-inflated",
            "100000000",
            path.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("too many messages in one batch: more than 10000"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
