//! Runs every reader candidate over the benchmark frames (bench/reader-candidates/README.md).
//!
//! 1. Reads the frames file of make_frames.py (u32 LE length + PushFrame), takes each
//!    frame's gzip payload and inflates it once: the timed rows measure the protobuf
//!    reader only (`with inflate` rows add the inflate back, per frame).
//! 2. Checks every candidate against prost on every hot message: the values each writes
//!    to the sink, as a tree (keys grouped, defaults dropped), must be equal.
//! 3. Times each candidate (best of N rounds, candidates rotated each round) writing into
//!    a reused byte tape, and counts its heap allocations in one extra pass.
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use reader_sink::{decode_batch, BatchStats, Sink, TapeSink};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static A: Counting = Counting;

type Decode = fn(&[u8], &mut TapeSink) -> Result<BatchStats, reader_sink::BadBatch>;
type DecodeSum = fn(&[u8], &mut SumSink) -> Result<BatchStats, reader_sink::BadBatch>;

/// A sink that copies nothing: it sums lengths, numbers and the first and last byte of
/// every string, so the reader's own cost shows without the tape's copying.
#[derive(Default)]
struct SumSink(u64);
impl Sink for SumSink {
    fn begin_object(&mut self) {
        self.0 += 1;
    }
    fn key(&mut self, k: &'static str) {
        self.0 += k.len() as u64;
    }
    fn str(&mut self, v: &str) {
        let b = v.as_bytes();
        self.0 += b.len() as u64
            + u64::from(b.first().copied().unwrap_or(0))
            + u64::from(b.last().copied().unwrap_or(0));
    }
    fn u64(&mut self, v: u64) {
        self.0 = self.0.wrapping_add(v);
    }
    fn i64(&mut self, v: i64) {
        self.0 = self.0.wrapping_add(v as u64);
    }
    fn bool(&mut self, v: bool) {
        self.0 += u64::from(v);
    }
    fn begin_array(&mut self) {
        self.0 += 2;
    }
    fn end(&mut self) {
        self.0 += 3;
    }
}

macro_rules! cand {
    ($name:literal, $f:path) => {
        (
            $name,
            (|b, s| decode_batch(b, s, $f)) as Decode,
            (|b, s| decode_batch(b, s, $f)) as DecodeSum,
        )
    };
}

fn candidates() -> Vec<(&'static str, Decode, DecodeSum)> {
    vec![
        cand!("prost", cand_prost::decode),
        cand!("femtopb", cand_femtopb::decode),
        cand!("micropb", cand_micropb::decode),
        cand!("quick-protobuf", cand_quick::decode),
        cand!("table", cand_table::decode),
        cand!("table (checked)", cand_table::decode_checked),
        cand!("table (all declared fields)", cand_table::decode_all_fields),
    ]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/tmp/frames.bin".into());
    let rounds: usize = args
        .next()
        .map_or(7, |r| r.parse().expect("rounds: a number"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): make it with python3 /work/shared/bench/make_frames.py /work/shared/corpus {path} 2000 1")
    });
    let gz = frames(&raw);
    let batches: Vec<Vec<u8>> = gz.iter().map(|g| inflate(g, Vec::new())).collect();
    let mut count = BatchStats::default();
    for b in &batches {
        let s = decode_batch(b, &mut TapeSink::default(), cand_table::decode).expect("batch");
        count.decoded += s.decoded;
        count.skipped += s.skipped;
    }
    if std::env::var("HOSTILE").is_ok() {
        hostile(&batches);
        return;
    }
    let hot = u64::from(count.decoded);
    let all = hot + u64::from(count.skipped);
    println!(
        "{} frames, {} messages ({} hot, {} other, skipped by every candidate), {:.1} MB inflated",
        batches.len(),
        all,
        hot,
        count.skipped,
        batches.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
    );

    // ONLY=<candidate> (for a profiler): skip the check and time that candidate alone.
    let only = std::env::var("ONLY").ok();
    if only.is_none() {
        check(&batches);
    }
    let mut cands = candidates();
    if let Some(only) = &only {
        cands.retain(|c| c.0 == only);
        assert!(!cands.is_empty(), "ONLY={only}: no such candidate");
    }
    // Allocation pass (after one warm pass so the reused tape has grown).
    let mut allocs = Vec::new();
    for (_, f, _) in &cands {
        let mut tape = TapeSink::default();
        run(&batches, *f, &mut tape);
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        run(&batches, *f, &mut tape);
        allocs.push((ALLOCS.load(Relaxed) - a0, BYTES.load(Relaxed) - b0));
    }
    // Timing: best of `rounds`, candidates rotated every round.
    let mut best = vec![Duration::MAX; cands.len()];
    let mut best_sum = vec![Duration::MAX; cands.len()];
    let mut tapes: Vec<TapeSink> = cands.iter().map(|_| TapeSink::default()).collect();
    for r in 0..rounds {
        for k in 0..cands.len() {
            let i = (k + r) % cands.len();
            let t = Instant::now();
            run(&batches, cands[i].1, &mut tapes[i]);
            best[i] = best[i].min(t.elapsed());
            let t = Instant::now();
            let mut sum = SumSink::default();
            for b in &batches {
                cands[i].2(b, &mut sum).expect("batch");
            }
            std::hint::black_box(sum.0);
            best_sum[i] = best_sum[i].min(t.elapsed());
        }
    }
    // With inflate: per frame, inflate into a reused buffer, then decode.
    let inflate_rounds = rounds.min(3);
    let mut best_inflate = Duration::MAX;
    let mut buf = Vec::new();
    for _ in 0..inflate_rounds {
        let t = Instant::now();
        for g in &gz {
            buf = inflate(g, std::mem::take(&mut buf));
            std::hint::black_box(&buf);
        }
        best_inflate = best_inflate.min(t.elapsed());
    }
    let mut best_with = vec![Duration::MAX; cands.len()];
    for _ in 0..inflate_rounds {
        for (i, (_, f, _)) in cands.iter().enumerate() {
            let mut tape = TapeSink::default();
            let t = Instant::now();
            for g in &gz {
                buf = inflate(g, std::mem::take(&mut buf));
                tape.tape.clear();
                f(&buf, &mut tape).expect("batch");
                std::hint::black_box(&tape.tape);
            }
            best_with[i] = best_with[i].min(t.elapsed());
        }
    }

    // Today's decoder on the same machine: decode_batch (prost + events) on the inflated
    // batches, decode_frame (our gunzip + prost + events) on the frames.
    let mut today_batch = Duration::MAX;
    let mut today_frame = Duration::MAX;
    if only.is_none() {
        let whole = whole_frames(&raw);
        for _ in 0..inflate_rounds {
            let t = Instant::now();
            for b in &batches {
                let d = tikcast_core::decode_batch(b).expect("batch");
                std::hint::black_box(d.events.len());
            }
            today_batch = today_batch.min(t.elapsed());
            let t = Instant::now();
            for f in &whole {
                let d = tikcast_core::decode_frame(f).expect("frame");
                std::hint::black_box(d.events.len());
            }
            today_frame = today_frame.min(t.elapsed());
        }
    }

    let n = batches.len() as f64;
    if only.is_none() {
        println!(
            "\ntoday, tikcast_core::decode_batch (prost + events, no inflate): {:.0} frames/s ({:.1} µs/frame)",
            n / today_batch.as_secs_f64(),
            today_batch.as_secs_f64() * 1e6 / n
        );
        println!(
            "today, tikcast_core::decode_frame (gunzip + prost + events): {:.0} frames/s ({:.1} µs/frame)",
            n / today_frame.as_secs_f64(),
            today_frame.as_secs_f64() * 1e6 / n
        );
    }
    println!(
        "\ninflate alone (flate2 + zlib-rs): {:.0} frames/s ({:.3} ms/frame)\n",
        n / best_inflate.as_secs_f64(),
        best_inflate.as_secs_f64() * 1e3 / n
    );
    println!("| candidate | hot msgs/s | frames/s (reader only) | µs/frame | µs/frame, checksum sink | frames/s with inflate | allocations/msg | bytes allocated/msg |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (name, _, _)) in cands.iter().enumerate() {
        let secs = best[i].as_secs_f64();
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} | {:.2} | {:.0} |",
            hot as f64 / secs,
            n / secs,
            secs * 1e6 / n,
            best_sum[i].as_secs_f64() * 1e6 / n,
            n / best_with[i].as_secs_f64(),
            allocs[i].0 as f64 / hot as f64,
            allocs[i].1 as f64 / hot as f64,
        );
    }
    println!("\n(best of {rounds} rounds; with inflate best of {inflate_rounds}; {all} messages, {hot} hot)");
}

fn run(batches: &[Vec<u8>], f: Decode, tape: &mut TapeSink) {
    for b in batches {
        tape.tape.clear();
        let s = f(b, tape).expect("batch");
        assert_eq!(s.failed, 0, "a candidate refused a benchmark message");
        std::hint::black_box(&tape.tape);
    }
}

/// The frames (PushFrame bytes) of the frames file: u32 LE length, frame, ...
fn whole_frames(raw: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let len = u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
        out.push(&raw[at + 4..at + 4 + len]);
        at += 4 + len;
    }
    out
}

/// The gzip payloads (PushFrame field 8) of the frames file.
fn frames(raw: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for frame in whole_frames(raw) {
        let mut payload = None;
        reader_sink::for_each_field(frame, |n, v| {
            if n == 8 {
                payload = v;
            }
        })
        .expect("a PushFrame");
        out.push(payload.expect("frame has a payload"));
    }
    out
}

fn inflate(gz: &[u8], mut into: Vec<u8>) -> Vec<u8> {
    into.clear();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut into)
        .expect("gzip");
    into
}

// ------------------------------------------------------------------ correctness

/// A sink call, recorded.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Obj,
    Key(&'static str),
    Str(String),
    U(u64),
    I(i64),
    B(bool),
    Arr,
    End,
}

#[derive(Default)]
struct Recorder(Vec<Ev>);
impl Sink for Recorder {
    fn begin_object(&mut self) {
        self.0.push(Ev::Obj)
    }
    fn key(&mut self, k: &'static str) {
        self.0.push(Ev::Key(k))
    }
    fn str(&mut self, v: &str) {
        self.0.push(Ev::Str(v.into()))
    }
    fn u64(&mut self, v: u64) {
        self.0.push(Ev::U(v))
    }
    fn i64(&mut self, v: i64) {
        self.0.push(Ev::I(v))
    }
    fn bool(&mut self, v: bool) {
        self.0.push(Ev::B(v))
    }
    fn begin_array(&mut self) {
        self.0.push(Ev::Arr)
    }
    fn end(&mut self) {
        self.0.push(Ev::End)
    }
}

/// A sink stream as a tree: each key's values in order (array elements flattened into
/// it, so one array and runs of arrays compare equal), singular scalars at their default
/// dropped (prost cannot tell them from absent ones).
#[derive(Debug, PartialEq)]
enum Node {
    Obj(BTreeMap<&'static str, Vec<Node>>),
    Scalar(Ev),
}

fn tree(evs: &[Ev]) -> Node {
    let mut it = evs.iter();
    let n = value(&mut it);
    assert!(it.next().is_none(), "trailing sink calls");
    n
}

fn value(it: &mut std::slice::Iter<'_, Ev>) -> Node {
    match it.next() {
        Some(Ev::Obj) => {
            let mut map: BTreeMap<&'static str, Vec<Node>> = BTreeMap::new();
            loop {
                match it.next() {
                    Some(Ev::End) => return Node::Obj(map),
                    Some(Ev::Key(k)) => {
                        let slot = map.entry(k).or_default();
                        if it.as_slice().first() == Some(&Ev::Arr) {
                            it.next();
                            while it.as_slice().first() != Some(&Ev::End) {
                                slot.push(value(it));
                            }
                            it.next();
                        } else {
                            let v = value(it);
                            let default = matches!(&v, Node::Scalar(Ev::Str(s)) if s.is_empty())
                                || matches!(v, Node::Scalar(Ev::U(0) | Ev::I(0) | Ev::B(false)));
                            if !default {
                                slot.push(v);
                            }
                        }
                        if slot.is_empty() {
                            map.remove(k);
                        }
                    }
                    other => panic!("sink: expected a key, got {other:?}"),
                }
            }
        }
        Some(e @ (Ev::Str(_) | Ev::U(_) | Ev::I(_) | Ev::B(_))) => Node::Scalar(e.clone()),
        other => panic!("sink: expected a value, got {other:?}"),
    }
}

fn check(batches: &[Vec<u8>]) {
    type Rec = fn(&str, &[u8], &mut Recorder) -> Option<bool>;
    let others: [(&str, Rec); 5] = [
        ("femtopb", |m, p, s| {
            cand_femtopb::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("micropb", |m, p, s| {
            cand_micropb::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("quick-protobuf", |m, p, s| {
            cand_quick::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("table", |m, p, s| {
            cand_table::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("table (checked)", |m, p, s| {
            cand_table::decode_checked(m, p, s).map(|r| r.is_ok())
        }),
    ];
    let mut checked = 0u64;
    let mut values = 0u64;
    let mut mismatches: BTreeMap<&str, u64> = BTreeMap::new();
    for b in batches {
        reader_sink::for_each_envelope(b, |method, payload| {
            let mut reference = Recorder::default();
            let Some(ok) = cand_prost::decode(method, payload, &mut reference) else {
                return;
            };
            assert!(ok.is_ok(), "prost refused a benchmark {method}");
            let want = tree(&reference.0);
            values += reference.0.len() as u64;
            checked += 1;
            for (name, f) in others {
                let mut got = Recorder::default();
                let same = f(method, payload, &mut got) == Some(true) && tree(&got.0) == want;
                if !same {
                    let n = mismatches.entry(name).or_default();
                    if *n == 0 {
                        eprintln!("{name} differs from prost on a {method}:\n  prost: {want:?}\n  {name}: {:?}", tree(&got.0));
                    }
                    *n += 1;
                }
            }
        })
        .expect("batch");
    }
    println!(
        "checked {checked} hot messages ({values} sink calls from prost) against prost: {}",
        if mismatches.is_empty() {
            "every candidate equal on every message".to_string()
        } else {
            format!("MISMATCHES {mismatches:?}")
        }
    );
    assert!(
        mismatches.is_empty(),
        "a candidate's values differ from prost's"
    );
}

// ------------------------------------------------------------------ hostile input

/// HOSTILE=1 (profile `hostile`): every candidate on damaged copies of real hot messages
/// (the first 60 of each method: every truncation, and 300 copies each with 1-4 random
/// bytes replaced), counting panics (caught) and refusals.
fn hostile(batches: &[Vec<u8>]) {
    type Try = fn(&str, &[u8], &mut SumSink) -> Option<bool>;
    let cands: [(&str, Try); 6] = [
        ("prost", |m, p, s| {
            cand_prost::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("femtopb", |m, p, s| {
            cand_femtopb::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("micropb", |m, p, s| {
            cand_micropb::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("quick-protobuf", |m, p, s| {
            cand_quick::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("table", |m, p, s| {
            cand_table::decode(m, p, s).map(|r| r.is_ok())
        }),
        ("table (checked)", |m, p, s| {
            cand_table::decode_checked(m, p, s).map(|r| r.is_ok())
        }),
    ];
    let mut samples: Vec<(&str, &[u8])> = Vec::new();
    let mut per_method: BTreeMap<&str, usize> = BTreeMap::new();
    for b in batches {
        reader_sink::for_each_envelope(b, |m, p| {
            let n = per_method.entry(m).or_default();
            if reader_sink::HOT.contains(&m) && *n < 60 {
                *n += 1;
                samples.push((m, p));
            }
        })
        .expect("batch");
    }
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (m, p) in &samples {
        for len in 0..p.len() {
            inputs.push((m, p[..len].to_vec()));
        }
        for _ in 0..300 {
            let mut q = p.to_vec();
            for _ in 0..=(next() % 4) {
                let i = (next() % q.len() as u64) as usize;
                q[i] = next() as u8;
            }
            inputs.push((m, q));
        }
    }
    std::panic::set_hook(Box::new(|_| {}));
    println!(
        "{} damaged inputs from {} real hot messages\n",
        inputs.len(),
        samples.len()
    );
    // prost's verdict on each input, to count where a candidate disagrees with it.
    let reference: Vec<bool> = inputs
        .iter()
        .map(|(m, q)| cand_prost::decode(m, q, &mut SumSink::default()) == Some(Ok(())))
        .collect();
    println!("| candidate | panics | refused | accepted | accepts what prost refuses | refuses what prost accepts |\n|---|---:|---:|---:|---:|---:|");
    for (name, f) in cands {
        let (mut panics, mut refused, mut accepted) = (0u64, 0u64, 0u64);
        let (mut more, mut less) = (0u64, 0u64);
        let mut first = None;
        for ((m, q), &want) in inputs.iter().zip(&reference) {
            match std::panic::catch_unwind(|| f(m, q, &mut SumSink::default())) {
                Ok(Some(true)) => {
                    accepted += 1;
                    more += u64::from(!want);
                }
                Ok(_) => {
                    refused += 1;
                    less += u64::from(want);
                }
                Err(e) => {
                    panics += 1;
                    first.get_or_insert_with(|| {
                        e.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    });
                }
            }
        }
        println!("| {name} | {panics} | {refused} | {accepted} | {more} | {less} |");
        if let Some(msg) = first {
            println!("  first panic: {msg}");
        }
    }
}
