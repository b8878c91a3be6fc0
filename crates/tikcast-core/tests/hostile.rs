//! Hostile frames within the caps (tests/common/hostile.rs): each decodes, or is refused
//! with one clear error, in time linear in its size and with the heap bounded as
//! `DecodeOptions` documents. A counting allocator measures the heap; the tests in this
//! file run one at a time so they do not count each other's allocations.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::hostile::{self, batch_of, gzip, like_payload, push_frame};
use tikcast_core::{
    decode_batch, decode_batch_with, decode_frame, decode_frame_with, decode_message, DecodeError,
    DecodeOptions, Event,
};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The hostile inputs, built once for every test here.
fn inputs() -> &'static [hostile::Hostile] {
    static ALL: std::sync::OnceLock<Vec<hostile::Hostile>> = std::sync::OnceLock::new();
    ALL.get_or_init(hostile::all)
}

fn input(name: &str) -> &'static [u8] {
    &inputs().iter().find(|h| h.name == name).unwrap().frame
}

/// Runs `f`, returning its result, the heap it used at its peak beyond what was live
/// before, and its wall time.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    (out, PEAK.load(Ordering::Relaxed) - before, took)
}

/// The documented bound (DecodeOptions): frame + inflated + 2 x expansion, beyond the frame.
fn heap_bound(o: &DecodeOptions) -> usize {
    o.max_frame_bytes + o.max_inflated_bytes + 2 * o.max_expansion
}

#[test]
fn every_hostile_frame_is_bounded_in_heap_and_time() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let opts = DecodeOptions::default();
    let bound = heap_bound(&opts);
    for h in inputs() {
        assert!(
            h.frame.len() <= opts.max_frame_bytes,
            "{}: frame too big",
            h.name
        );
        let (result, peak, took) = measured(|| decode_frame(&h.frame));
        let outcome = match &result {
            Ok(d) => format!("{} events", d.events.len()),
            Err(e) => format!("refused: {e}"),
        };
        println!(
            "{:<22} {:>6.0} ms  peak heap {:>6.1} MiB  {outcome}  ({})",
            h.name,
            took.as_secs_f64() * 1e3,
            peak as f64 / 1048576.0,
            h.what
        );
        assert!(
            peak <= bound,
            "{}: peak heap {peak} over the documented bound {bound}",
            h.name
        );
        drop(result);
    }
}

#[test]
fn empty_gzip_members_past_the_cap_are_refused_at_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let frame = input("gzip-members");
    let (result, _, took) = measured(|| decode_frame(frame));
    assert_eq!(
        result.unwrap_err(),
        DecodeError::TooMany {
            what: "gzip members",
            cap: 64
        }
    );
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn inflating_many_members_is_linear_without_the_member_cap() {
    // With the member cap lifted, the work per member must not depend on how much input
    // follows it (it used to re-size the output for the rest of the input each time:
    // 12.5k members 0.12 s, 200k members 15.9 s). Compare 10k and 80k members: linear
    // work takes about 8 times as long; the old code took well over 30 times.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let member = gzip(&[]);
    let frame = |n: usize| push_frame(&member.repeat(n), true);
    let opts = DecodeOptions {
        max_gzip_members: usize::MAX,
        ..DecodeOptions::default()
    };
    let time = |f: &[u8]| {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let d = decode_frame_with(f, &opts).unwrap();
            best = best.min(t.elapsed());
            assert!(d.events.is_empty());
        }
        best
    };
    let small = time(&frame(10_000));
    let large = time(&frame(80_000));
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    println!("10k members {small:?}, 80k members {large:?}, ratio {ratio:.1}");
    assert!(
        ratio < 20.0,
        "80k/10k members took {ratio:.1}x (linear is 8x)"
    );
}

#[test]
fn a_batch_over_the_message_cap_is_refused_before_it_is_decoded() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let opts = DecodeOptions::default();
    let batch = batch_of(opts.max_messages + 1, "X", &[0]);
    let (result, peak, _) = measured(|| decode_frame(&push_frame(&gzip(&batch), true)));
    assert_eq!(
        result.unwrap_err(),
        DecodeError::TooMany {
            what: "messages in one batch",
            cap: opts.max_messages
        }
    );
    // Refused before any envelope list or event was built: only the inflated copy.
    assert!(peak < 3 * batch.len() + (1 << 20), "peak {peak}");
    // Exactly at the cap it decodes.
    let batch = batch_of(opts.max_messages, "X", &[0]);
    let d = decode_frame(&push_frame(&gzip(&batch), true)).unwrap();
    assert_eq!(d.events.len(), opts.max_messages);
    // prost's path (a batch the in-place reader leaves to prost: a group in it) counts too.
    let mut grouped = vec![0x9b, 0x06, 0x9c, 0x06];
    grouped.extend(batch_of(opts.max_messages + 1, "X", &[0]));
    assert!(matches!(
        decode_batch(&grouped).unwrap_err(),
        DecodeError::TooMany { .. }
    ));
}

#[test]
fn nested_values_past_the_expansion_budget_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One viewer-count message of 3.5 million empty ranks: 7 MiB on the wire, gigabytes
    // once decoded into owned values.
    let n = 3_500_000;
    let mut ranks = Vec::with_capacity(2 * n);
    for _ in 0..n {
        ranks.extend([0x12, 0x00]);
    }
    let batch = batch_of(1, "WebcastRoomUserSeqMessage", &ranks);
    let (result, peak, _) = measured(|| decode_batch(&batch));
    let err = result.unwrap_err();
    assert!(
        matches!(err, DecodeError::TooExpensive { what: "batch", .. }),
        "{err}"
    );
    assert!(peak < 4 << 20, "refused before decoding, yet peak {peak}");
    // The same through prost's batch path (a group first) is refused as well.
    let mut grouped = vec![0x9b, 0x06, 0x9c, 0x06];
    grouped.extend(&batch);
    assert!(matches!(
        decode_batch(&grouped).unwrap_err(),
        DecodeError::TooExpensive { .. }
    ));
    // decode_message (no batch) gives the message its own budget: a decodeError event.
    let events = decode_message("WebcastRoomUserSeqMessage", &ranks);
    let Event::DecodeError(e) = &events[0] else {
        panic!("got {}", events[0].name())
    };
    assert!(e.error.contains("more than 32 MiB"), "{}", e.error);
    // A small list of the same kind is fine.
    let events = decode_message("WebcastRoomUserSeqMessage", &ranks[..2000]);
    let Event::RoomUser(r) = &events[0] else {
        panic!("got {}", events[0].name())
    };
    assert_eq!(r.top_viewers.len(), 1000);
}

#[test]
fn a_template_naming_one_piece_many_times_renders_capped() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let frame = input("template-bomb");
    let (result, peak, _) = measured(|| decode_frame(frame));
    let d = result.unwrap();
    let Event::Member(m) = &d.events[0] else {
        panic!("got {}", d.events[0].name())
    };
    // 2 x (pattern + piece) + 256 at most, instead of 2.7 million x 64 KiB.
    assert!(m.label.len() <= 2 * (8 << 20) + 256, "{}", m.label.len());
    assert!(m.label.starts_with("pppp"));
    assert!(peak <= heap_bound(&DecodeOptions::default()), "peak {peak}");
    // A normal template is untouched.
    let mut text = Vec::new();
    hostile::len_field(&mut text, 2, b"{0:user} joined");
    let mut piece = Vec::new();
    let mut user_value = Vec::new();
    let mut user = Vec::new();
    hostile::len_field(&mut user, 3, b"Some One");
    hostile::len_field(&mut user_value, 1, &user);
    hostile::len_field(&mut piece, 21, &user_value);
    hostile::len_field(&mut text, 4, &piece);
    let mut common = Vec::new();
    hostile::len_field(&mut common, 8, &text);
    let mut member = Vec::new();
    hostile::len_field(&mut member, 1, &common);
    let events = decode_message("WebcastMemberMessage", &member);
    let Event::Member(m) = &events[0] else {
        panic!("got {}", events[0].name())
    };
    assert_eq!(m.label, "Some One joined");
}

#[test]
fn a_bare_batch_obeys_the_inflated_cap() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let opts = DecodeOptions {
        max_inflated_bytes: 1 << 20,
        ..DecodeOptions::default()
    };
    let batch = batch_of(40_000, "WebcastLikeMessage", &like_payload());
    assert!(batch.len() > 1 << 20);
    assert_eq!(
        decode_batch_with(&batch, &opts).unwrap_err(),
        DecodeError::TooLarge {
            what: "batch",
            len: batch.len(),
            cap: 1 << 20
        }
    );
}
