//! Native decode throughput on the benchmark workload (`../shared/bench/make_frames.py`
//! output: 4-byte little-endian length + push frame, repeated). A first figure before
//! the bench/ harness lands; it is not a comparison with peers.
//!
//! ```sh
//! python3 ../shared/bench/make_frames.py ../shared/corpus /tmp/frames.bin 2000 1
//! cargo run --release -p tikcast-core --example decode_throughput -- /tmp/frames.bin
//! ```
//!
//! It also runs the same frames through a direct-mode `Session` (dedup, streaks, acks),
//! to show what the session costs on top of decoding.

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: decode_throughput FRAMES.bin");
    let data = std::fs::read(&path).expect("frames file is readable");
    let mut frames = Vec::new();
    let mut rest = data.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (frame, tail) = tail.split_at(len.min(tail.len()));
        frames.push(frame);
        rest = tail;
    }
    if std::env::var_os("V2_ONLY").is_some() {
        // For profiling the schema reader alone.
        let opts = tikcast_core::DecodeOptions::default();
        let mut sink = tikcast_core::JsonSink::new();
        for _ in 0..5 {
            for f in &frames {
                sink.clear();
                tikcast_core::write_frame(f, &opts, |_, _| true, &mut sink).expect("frames decode");
            }
        }
        return;
    }
    if let Ok(which) = std::env::var("SESSION_ONLY") {
        // For profiling the session's path alone: `full`, or `chat+gift` (filtered).
        use tikcast_core::session::{Mode, Output, SessionConfig};
        let wanted = (which == "chat+gift").then_some(["chat", "gift"]);
        let (mut s, conn) = connected(
            SessionConfig {
                mode: Mode::Relay,
                ..Default::default()
            },
            wanted,
        );
        let mut sink = tikcast_core::JsonSink::new();
        let mut n = 0;
        for (i, f) in frames.iter().enumerate() {
            s.on_frame(i as u64, conn, f);
            while let Some(o) = s.poll_output() {
                if let Output::Events(e) = o {
                    sink.clear();
                    e.write(&mut sink).expect("events write");
                    n += sink.events.len();
                }
            }
        }
        println!("{n} events");
        return;
    }
    let mut best = f64::MAX;
    let mut events = 0usize;
    let mut errors = 0usize;
    for _round in 0..5 {
        let t = Instant::now();
        events = 0;
        errors = 0;
        for f in &frames {
            let d = tikcast_core::decode_frame(f).expect("workload frames decode");
            events += d.events.len();
            errors += d
                .events
                .iter()
                .filter(|e| matches!(e, tikcast_core::Event::DecodeError(_)))
                .count();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "decode:  {} frames, {} events ({} decode errors): best of 5 rounds {:.3} s = {:.0} frames/s, {:.0} events/s",
        frames.len(),
        events,
        errors,
        best,
        frames.len() as f64 / best,
        events as f64 / best
    );

    // Decoder v2: the schema reader writing canonical JSON, against the typed decoder
    // plus serde_json (what the relay's JSON mode and `tikcast decode` did before).
    let opts = tikcast_core::DecodeOptions::default();
    let mut best_v2 = f64::MAX;
    let mut best_json = f64::MAX;
    let mut bytes_v2 = 0usize;
    let mut sink = tikcast_core::JsonSink::new();
    for _round in 0..5 {
        let t = Instant::now();
        bytes_v2 = 0;
        for f in &frames {
            sink.clear();
            tikcast_core::write_frame(f, &opts, |_, _| true, &mut sink)
                .expect("workload frames decode");
            bytes_v2 += sink.out.len();
        }
        best_v2 = best_v2.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for f in &frames {
            let d = tikcast_core::decode_frame(f).expect("workload frames decode");
            for e in &d.events {
                std::hint::black_box(serde_json::to_string(e).expect("events serialize"));
            }
        }
        best_json = best_json.min(t.elapsed().as_secs_f64());
    }
    println!(
        "v2 json: {:.0} frames/s ({} bytes of JSON); typed + serde_json: {:.0} frames/s; v2 / typed+serde = {:.2}x; v2 / typed-only = {:.2}x",
        frames.len() as f64 / best_v2,
        bytes_v2,
        frames.len() as f64 / best_json,
        best_json / best_v2,
        best / best_v2,
    );

    use tikcast_core::session::{Mode, Output, SessionConfig};
    let mut best = f64::MAX;
    let mut delivered = 0usize;
    let mut sink = tikcast_core::JsonSink::new();
    for _round in 0..5 {
        let t = Instant::now();
        delivered = 0;
        let (mut s, conn) = connected(
            SessionConfig {
                mode: Mode::Direct,
                room_id: 1,
                ..Default::default()
            },
            None,
        );
        for (i, f) in frames.iter().enumerate() {
            s.on_frame(i as u64, conn, f);
            while let Some(o) = s.poll_output() {
                if let Output::Events(e) = o {
                    // Written as canonical JSON, as the relay's JSON mode does.
                    sink.clear();
                    if e.write(&mut sink).is_ok() {
                        delivered += sink.texts().count();
                    }
                }
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "session: {} frames, {} events delivered: best of 5 rounds {:.3} s = {:.0} frames/s, {:.0} events/s",
        frames.len(),
        delivered,
        best,
        frames.len() as f64 / best,
        delivered as f64 / best
    );
}

/// A session with `config` (listening to `wanted` only, when given), started and open.
fn connected(
    config: tikcast_core::session::SessionConfig,
    wanted: Option<[&str; 2]>,
) -> (tikcast_core::session::Session, tikcast_core::ConnId) {
    use tikcast_core::session::Session;
    let mut s = Session::new(config);
    if wanted.is_some() {
        s.set_wanted_events(wanted);
    }
    let conn = s.start_open(0).expect("the session asks to connect");
    (s, conn)
}
