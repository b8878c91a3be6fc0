//! Native decode throughput on the benchmark workload, the upper bound the wasm build is
//! measured against in `bench/` (`npm run bench` runs it and folds it into
//! `bench/RESULTS.md`).
//!
//! ```sh
//! python3 ../shared/bench/make_frames.py ../shared/corpus bench/data/frames.bin 2000 1
//! TIKCAST_BENCH_FRAMES=bench/data/frames.bin cargo bench -p tikcast-core --bench decode
//! ```
//!
//! Inflate is the floor every decoder shares, so it is measured on its own: ours (our
//! RFC 1952 wrapper and checks around `zlib-rs`, what `decode_frame` uses) and flate2's
//! `GzDecoder` on its `zlib-rs` backend.

use std::io::Read;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tikcast_core::session::{Mode, Output, Session, SessionConfig};
use tikcast_core::{decode_frame, decode_frame_filtered, DecodeOptions};

/// Frames per iteration: enough for a stable figure, few enough for 10 samples in seconds.
const FRAMES: usize = 200;

fn load() -> Option<Vec<Vec<u8>>> {
    let path = std::env::var("TIKCAST_BENCH_FRAMES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/data/frames.bin").to_string()
    });
    let Ok(data) = std::fs::read(&path) else {
        eprintln!("SKIPPED: no workload at {path} (set TIKCAST_BENCH_FRAMES; see bench/README.md)");
        return None;
    };
    let mut frames = Vec::new();
    let mut rest = data.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (frame, tail) = tail.split_at(len.min(tail.len()));
        frames.push(frame.to_vec());
        rest = tail;
    }
    frames.truncate(FRAMES);
    Some(frames)
}

/// The gzip payload (field 8) of a push frame.
fn payload(frame: &[u8]) -> &[u8] {
    use prost::Message;
    #[derive(Clone, PartialEq, prost::Message)]
    struct Payload {
        #[prost(bytes = "vec", tag = "8")]
        payload: Vec<u8>,
    }
    let p = Payload::decode(frame).expect("workload frames decode");
    let at = frame
        .windows(p.payload.len().min(16))
        .position(|w| w == &p.payload[..w.len()])
        .expect("payload is inside the frame");
    &frame[at..at + p.payload.len()]
}

fn session(filter: bool) -> (Session, tikcast_core::ConnId) {
    let mut s = Session::new(SessionConfig {
        mode: Mode::Relay,
        ..Default::default()
    });
    if filter {
        s.set_wanted_events(Some(["chat", "gift"]));
    }
    let conn = s.start_open(0).expect("the session asks to connect");
    (s, conn)
}

/// A sink that only counts values and string bytes: the reader's walk with nothing
/// written (`black_box` keeps the values in use).
#[derive(Default)]
struct Count {
    values: usize,
}

impl Count {
    fn one(&mut self, v: u64) {
        self.values += 1 + (std::hint::black_box(v) & 1) as usize;
    }
}

impl tikcast_core::reader::Sink for Count {
    fn begin_object(&mut self) {
        self.one(0)
    }
    fn end_object(&mut self) {
        self.one(0)
    }
    fn begin_array(&mut self) {
        self.one(0)
    }
    fn end_array(&mut self) {
        self.one(0)
    }
    fn key(&mut self, key: &'static str) {
        self.one(key.len() as u64)
    }
    fn key_str(&mut self, key: &str) {
        self.one(key.len() as u64)
    }
    fn str(&mut self, v: &str) {
        self.one(v.len() as u64)
    }
    fn id(&mut self, v: u64) {
        self.one(v)
    }
    fn int(&mut self, v: i64) {
        self.one(v as u64)
    }
    fn uint(&mut self, v: u64) {
        self.one(v)
    }
    fn bool(&mut self, v: bool) {
        self.one(v.into())
    }
    fn null(&mut self) {
        self.one(0)
    }
    fn base64(&mut self, v: &[u8]) {
        self.one(v.len() as u64)
    }
    fn size(&self) -> usize {
        self.values
    }
    fn truncate(&mut self, mark: usize) {
        self.values = mark
    }
}

fn benches(c: &mut Criterion) {
    let Some(frames) = load() else { return };
    let mut g = c.benchmark_group("workload");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("decode_frame full", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| decode_frame(f).map(|d| d.events.len()).unwrap_or(0))
                .sum::<usize>()
        })
    });
    let opts = DecodeOptions::default();
    // Decoder v2: the schema reader writing every event's canonical JSON (what the CLI
    // and a JSON relay send) against the typed decoder plus serde_json.
    let mut sink = tikcast_core::JsonSink::new();
    g.bench_function("v2 write_frame json", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| {
                    sink.clear();
                    tikcast_core::write_frame(f, &opts, |_, _| true, &mut sink)
                        .map(|_| sink.events.len())
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    // The same reading with no output at all (every value only counted): with the gunzip
    // below, what any writer of the native JSON costs at least (bench/RESULTS.md, the
    // native bound).
    let mut count = Count::default();
    g.bench_function("v2 write_frame, no output", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| {
                    count.values = 0;
                    tikcast_core::write_frame(f, &opts, |_, _| true, &mut count)
                        .map(|_| count.values)
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    g.bench_function("decode_frame + serde_json", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| {
                    decode_frame(f)
                        .map(|d| {
                            d.events
                                .iter()
                                .map(|e| serde_json::to_string(e).map_or(0, |j| j.len()))
                                .sum::<usize>()
                        })
                        .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    g.bench_function("decode_frame chat+gift", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| {
                    decode_frame_filtered(f, &opts, |_, m| {
                        m == "WebcastChatMessage" || m == "WebcastGiftMessage"
                    })
                    .map(|d| d.events.len())
                    .unwrap_or(0)
                })
                .sum::<usize>()
        })
    });
    for (name, filter) in [("session full", false), ("session chat+gift", true)] {
        g.bench_function(name, |b| {
            b.iter_with_setup(
                || session(filter),
                |(mut s, conn)| {
                    // The relay's JSON mode: every event written as canonical JSON.
                    let mut sink = tikcast_core::JsonSink::new();
                    let mut n = 0;
                    for (i, f) in frames.iter().enumerate() {
                        s.on_frame(i as u64, conn, f);
                        while let Some(o) = s.poll_output() {
                            if let Output::Events(e) = o {
                                sink.clear();
                                if e.write(&mut sink).is_ok() {
                                    n += sink.texts().count();
                                }
                            }
                        }
                    }
                    n
                },
            )
        });
    }
    let payloads: Vec<&[u8]> = frames.iter().map(|f| payload(f)).collect();
    g.bench_function("gunzip ours (zlib-rs)", |b| {
        b.iter(|| {
            payloads
                .iter()
                .map(|p| tikcast_core::gzip::gunzip(p, 8 << 20).map_or(0, |v| v.len()))
                .sum::<usize>()
        })
    });
    g.bench_function("gunzip zlib-rs (flate2)", |b| {
        b.iter(|| {
            payloads
                .iter()
                .map(|p| {
                    let mut out = Vec::with_capacity(p.len() * 8);
                    flate2::read::GzDecoder::new(*p)
                        .read_to_end(&mut out)
                        .map_or(0, |_| out.len())
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
