//! Shared helpers: locating the real captures in `../shared/corpus` (or `$TIKCAST_CORPUS`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

pub mod hostile;

use base64::Engine;

/// The corpus directory, or `None` (with a loud note) when it is absent. With
/// `TIKCAST_REQUIRE_CORPUS=1` (set by CI) an absent corpus fails the test instead.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("TIKCAST_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    if dir.join("log.json").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "corpus not found at {}: set TIKCAST_CORPUS to the directory holding the capture logs (log.json, ...)",
        dir.display()
    );
    if std::env::var("TIKCAST_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// One captured payload.
pub struct Sample {
    pub file: String,
    pub index: usize,
    pub payload: Vec<u8>,
}

/// Every sample of every capture log, keyed by method, in file-name then log order.
pub fn load_samples(dir: &std::path::Path) -> BTreeMap<String, Vec<Sample>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("capture log is readable");
        let log: BTreeMap<String, Vec<serde_json::Value>> =
            serde_json::from_str(&text).expect("capture log is JSON");
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for (method, samples) in log {
            for (index, s) in samples.iter().enumerate() {
                let b64 = s["eventData"].as_str().expect("eventData is a string");
                let payload = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("eventData is base64");
                out.entry(method.clone()).or_default().push(Sample {
                    file: file.clone(),
                    index,
                    payload,
                });
            }
        }
    }
    out
}
