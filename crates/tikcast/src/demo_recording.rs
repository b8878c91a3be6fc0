//! `tikcast demo-recording`: turns the demo session script (`tests/fixtures/demo-session.jsonl`,
//! invented users and content; the script language is [`crate::script`]'s, documented in
//! docs/recording.md) into a recording (docs/recording.md) that `tikcast relay --upstream
//! replay:FILE` serves to the overlay. The script's `room` line becomes the `roomInfo`
//! text record at 0 ms; messages at the same `t` share one push frame. Ids, timestamps
//! and cursors are fixed, so the same script always gives the same bytes (a test keeps
//! the committed file current).

use std::path::Path;

use tikcast_core::pb;

use crate::frames::{self, Compression};
use crate::recording::{encode_header, encode_record, Kind};
use crate::script::{self, Setting};

/// Wall-clock start of the demo session (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
/// Msg id of the first message; message `i` has `FIRST_MSG_ID + i`.
const FIRST_MSG_ID: u64 = 7_400_000_000_000_100_001;
/// Log id of the first frame.
const FIRST_LOG_ID: u64 = 7_301_000_000_000_000_001;

/// Reads `script` and the gift catalog `gifts` (`[{id, name, diamondCount, imageUrl}]`)
/// and returns the recording's bytes.
pub fn build(script: &Path, gifts: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let catalog = std::fs::read_to_string(gifts)
        .map_err(|e| format!("cannot read {}: {e}", gifts.display()))?;
    encode(&text, &catalog).map_err(|e| format!("{}: {e}", script.display()))
}

fn encode(text: &str, catalog: &str) -> Result<Vec<u8>, String> {
    let setting = Setting {
        room_id: 0,
        host: String::new(),
        room_from_script: true,
        epoch_ms: T0,
        gifts: script::parse_catalog(catalog)?,
    };
    let demo = script::parse(text, &setting)?;
    let info = demo
        .room_info
        .ok_or("the script needs a {\"type\":\"room\",...} line")?;
    let meta = serde_json::json!({
        "uniqueId": info["uniqueId"],
        "startedAtMs": T0,
        "upstream": "record",
        "recorder": "tikcast demo-recording",
    });
    let mut out = encode_header(&meta);
    out.extend(encode_record(Kind::Text, 0, info.to_string().as_bytes()));
    let timeline = &demo.timeline;
    let mut i = 0;
    let mut index = 0u64;
    let mut frame_no = 0u64;
    while i < timeline.len() {
        let t = timeline[i].t;
        let mut messages = Vec::new();
        while i < timeline.len() && timeline[i].t == t {
            let m = &timeline[i];
            let id = FIRST_MSG_ID + index;
            let payload = m.stamped(id, demo.room_id, T0 + t as i64);
            messages.push(frames::envelope(&m.method, id, payload));
            index += 1;
            i += 1;
        }
        frame_no += 1;
        let hints = pb::FetchResult {
            cursor: format!("t-{}_r-1_d-1_u-1_f-{frame_no}", T0 + t as i64),
            fetch_interval_ms: 1000,
            now_ms: T0 + t as i64,
            internal_ext: format!("internal_src:pushserver|wss_msg_type:r|demo:{frame_no}"),
            need_ack: true,
            ..Default::default()
        };
        let frame = frames::msg_frame(
            frame_no,
            FIRST_LOG_ID + frame_no,
            frames::batch(messages.iter().map(Vec::as_slice), &hints),
            Compression::Gzip,
        );
        out.extend(encode_record(Kind::Frame, t, &frame));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"[{"id":5655,"name":"Rose","diamondCount":1,"imageUrl":"/r.svg"}]"#;

    #[test]
    fn a_small_script_round_trips_through_the_decoder() {
        let script = r#"
            {"type":"room","uniqueId":"h","roomId":"7","title":"x"}
            {"type":"user","handle":"h","nickname":"H"}
            {"type":"user","handle":"a","nickname":"A <b>","gifterLevel":4,"moderator":true}
            {"t":0,"type":"chat","user":"a","comment":"<img src=x>","emotes":[{"index":1,"id":"e"}]}
            {"t":0,"type":"like","user":"a","count":3}
            {"t":10,"type":"streak","user":"a","giftId":5655,"count":3,"every":5}
            {"t":30,"type":"streamEnd"}
        "#;
        let bytes = encode(script, CATALOG).unwrap();
        assert_eq!(bytes, encode(script, CATALOG).unwrap(), "deterministic");
        let rec = crate::recording::parse(&bytes).unwrap();
        assert_eq!(rec.records[0].kind, Kind::Text);
        let ts: Vec<u64> = rec.records[1..].iter().map(|r| r.t_ms).collect();
        assert_eq!(ts, vec![0, 10, 15, 20, 30]);
        let mut events = Vec::new();
        for r in &rec.records[1..] {
            let d = tikcast_core::decode_frame(&r.body).unwrap();
            assert!(!d.cursor.is_empty());
            events.extend(d.events.iter().map(|e| serde_json::to_value(e).unwrap()));
        }
        assert_eq!(events[0]["type"], "chat");
        assert_eq!(events[0]["comment"], "<img src=x>");
        assert_eq!(events[0]["roomId"], "7");
        assert_eq!(events[0]["user"]["isModerator"], true);
        assert_eq!(events[0]["user"]["gifterLevel"], 4);
        assert_eq!(events[0]["emotes"][0]["imageUrl"], "/assets/emotes/e.svg");
        assert_eq!(events[1]["totalLikeCount"], 3);
        assert_eq!(events[4]["repeatCount"], 3);
        assert_eq!(events[4]["repeatEnd"], true);
        assert_eq!(events[4]["giftName"], "Rose");
        assert_eq!(events.last().unwrap()["type"], "streamEnd");
        let ids: std::collections::BTreeSet<_> =
            events.iter().map(|e| e["msgId"].to_string()).collect();
        assert_eq!(
            ids.len(),
            6,
            "one msg id per message (streamEnd repeats controlMessage's)"
        );
    }

    /// Decoder v2's guard on the bundled demo: every frame of the committed recording
    /// gives, through the schema reader, exactly the typed oracle's canonical JSON, and no
    /// message of it is a `decodeError` (its second `common` is merged, as prost does).
    #[test]
    fn the_demo_recording_reads_the_same_through_the_reader_and_the_oracle() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/demo-session.tkrec");
        let rec = crate::recording::read(&path).unwrap();
        let opts = tikcast_core::DecodeOptions::default();
        let mut events = 0;
        for r in rec.records.iter().filter(|r| r.kind == Kind::Frame) {
            let want: Vec<String> = tikcast_core::decode_frame(&r.body)
                .unwrap()
                .events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect();
            let mut sink = tikcast_core::JsonSink::new();
            tikcast_core::write_frame(&r.body, &opts, |_, _| true, &mut sink).unwrap();
            let got: Vec<&str> = sink.texts().collect();
            assert_eq!(got, want, "frame at {} ms", r.t_ms);
            assert!(
                got.iter().all(|e| !e.contains(r#""type":"decodeError""#)),
                "{got:?}"
            );
            events += got.len();
        }
        assert!(events > 100, "{events} events");
    }

    #[test]
    fn script_errors_name_the_line() {
        // A script that declares its users must declare every one it names.
        let err = encode("{\"type\":\"room\",\"roomId\":\"1\"}\n{\"type\":\"user\",\"handle\":\"h\",\"nickname\":\"H\"}\n{\"t\":0,\"type\":\"chat\",\"user\":\"nobody\",\"comment\":\"x\"}", CATALOG).unwrap_err();
        assert!(err.starts_with("line 3: unknown user \"nobody\""), "{err}");
        let err = encode("{\"type\":\"room\",\"roomId\":\"1\"}\n{\"t\":0,\"type\":\"gift\",\"user\":\"a\",\"giftId\":1}", CATALOG).unwrap_err();
        assert!(
            err.starts_with("line 2: gift 1 is not in the gift catalog"),
            "{err}"
        );
        let err = encode(
            "{\"t\":0,\"type\":\"chat\",\"user\":\"a\",\"comment\":\"x\"}",
            CATALOG,
        )
        .unwrap_err();
        assert!(err.contains("needs a {\"type\":\"room\""), "{err}");
    }
}
