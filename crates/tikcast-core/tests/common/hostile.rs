//! Hostile push frames, each the worst of its kind that still fits the frame cap
//! (4 MiB) and the inflated cap (8 MiB) where it can. Built here, never committed:
//! `tests/hostile.rs` decodes them, and `examples/hostile_inputs.rs` writes them out
//! for `bench/hostile.sh` (CPU time and peak RSS of `tikcast decode`).
//!
//! Everything is encoded by hand (protobuf keys and varints, gzip around miniz_oxide's
//! raw deflate), so the generator depends on nothing but the crate's own dependencies.

#![allow(dead_code)]

/// Frame cap and inflated cap of the default `DecodeOptions`.
pub const FRAME_CAP: usize = 4 << 20;
pub const INFLATED_CAP: usize = 8 << 20;

pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
pub fn len_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    varint(out, u64::from(field) << 3 | 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A varint field.
pub fn int_field(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, u64::from(field) << 3);
    varint(out, v);
}

/// One gzip member around `data` (miniz_oxide's deflate, level 6).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend(crc32fast::hash(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// A `msg` push frame around `payload`, marked gzip when `gzipped`.
pub fn push_frame(payload: &[u8], gzipped: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 64);
    int_field(&mut f, 1, 1);
    int_field(&mut f, 2, 2);
    if gzipped {
        let mut h = Vec::new();
        len_field(&mut h, 1, b"compress_type");
        len_field(&mut h, 2, b"gzip");
        len_field(&mut f, 5, &h);
    }
    len_field(&mut f, 6, b"pb");
    len_field(&mut f, 7, b"msg");
    len_field(&mut f, 8, payload);
    f
}

/// One `MessageEnvelope` (as a batch's field 1) of `method` around `payload`.
pub fn envelope(batch: &mut Vec<u8>, method: &str, payload: &[u8], msg_id: u64) {
    let mut e = Vec::with_capacity(payload.len() + method.len() + 16);
    len_field(&mut e, 1, method.as_bytes());
    len_field(&mut e, 2, payload);
    int_field(&mut e, 3, msg_id);
    len_field(batch, 1, &e);
}

/// A batch of `n` messages of `method` with the same `payload`.
pub fn batch_of(n: usize, method: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..n {
        envelope(&mut b, method, payload, i as u64 + 1);
    }
    int_field(&mut b, 9, 1);
    b
}

/// The largest `n` for which `make(n)` stays within `cap` bytes (`make(n)` grows
/// about linearly: a guess from `make(1000)`, then a binary search around it).
pub fn fill(cap: usize, make: impl Fn(usize) -> Vec<u8>) -> (usize, Vec<u8>) {
    let per = make(1000).len().max(1000) / 1000;
    let guess = (cap / per).max(1);
    let (mut lo, mut hi) = (guess * 9 / 10, guess * 11 / 10 + 2);
    while lo > 1 && make(lo).len() > cap {
        lo /= 2;
    }
    while make(hi).len() <= cap {
        lo = hi;
        hi *= 2;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if make(mid).len() <= cap {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo, make(lo))
}

/// A like message: a user (id, nickname), count 1, room total.
pub fn like_payload() -> Vec<u8> {
    let mut user = Vec::new();
    int_field(&mut user, 1, 7_000_000_000_000_000_001);
    len_field(&mut user, 3, b"liker");
    let mut p = Vec::new();
    int_field(&mut p, 2, 1);
    int_field(&mut p, 3, 12_345);
    len_field(&mut p, 5, &user);
    p
}

/// One hostile input: a name, what it is, and the frame.
pub struct Hostile {
    pub name: &'static str,
    pub what: String,
    pub frame: Vec<u8>,
}

/// Every hostile input, worst of its kind within the caps.
pub fn all() -> Vec<Hostile> {
    let mut v = Vec::new();

    // 1. Empty gzip members (20 bytes each) filling the frame cap.
    let member = gzip(&[]);
    let members = (FRAME_CAP - 64) / member.len();
    let mut payload = Vec::with_capacity(members * member.len());
    for _ in 0..members {
        payload.extend_from_slice(&member);
    }
    v.push(Hostile {
        name: "gzip-members",
        what: format!("{members} empty gzip members in one frame"),
        frame: push_frame(&payload, true),
    });

    // 2. Unknown-method messages with a 1-byte payload, filling the inflated cap.
    let (n, batch) = fill(INFLATED_CAP, |n| batch_of(n, "X", &[0]));
    v.push(Hostile {
        name: "unknown-messages",
        what: format!(
            "{n} unknown-method messages, {} bytes inflated",
            batch.len()
        ),
        frame: push_frame(&gzip(&batch), true),
    });

    // 3. Likes (each a user and two counts), filling the inflated cap.
    let like = like_payload();
    let (n, batch) = fill(INFLATED_CAP, |n| batch_of(n, "WebcastLikeMessage", &like));
    v.push(Hostile {
        name: "likes",
        what: format!("{n} like messages, {} bytes inflated", batch.len()),
        frame: push_frame(&gzip(&batch), true),
    });

    // 4. Likes up to the message cap (10,000): the most a frame may carry.
    let batch = batch_of(10_000, "WebcastLikeMessage", &like);
    v.push(Hostile {
        name: "likes-at-message-cap",
        what: format!("10000 like messages, {} bytes inflated", batch.len()),
        frame: push_frame(&gzip(&batch), true),
    });

    // 5. One viewer-count message holding empty ranks (2 bytes each on the wire).
    let (n, batch) = fill(INFLATED_CAP, |n| {
        let mut p = Vec::with_capacity(2 * n);
        for _ in 0..n {
            p.extend([0x12, 0x00]);
        }
        batch_of(1, "WebcastRoomUserSeqMessage", &p)
    });
    v.push(Hostile {
        name: "empty-ranks",
        what: format!("one message of {n} empty nested ranks"),
        frame: push_frame(&gzip(&batch), true),
    });

    // 6. Many users: viewer-count messages whose ranks each carry a user, as many
    //    messages as fit.
    let mut rank = Vec::new();
    let mut user = Vec::new();
    int_field(&mut user, 1, 7_000_000_000_000_000_002);
    len_field(&mut user, 3, b"top viewer");
    int_field(&mut rank, 1, 100);
    len_field(&mut rank, 2, &user);
    let mut seq = Vec::new();
    for _ in 0..200 {
        len_field(&mut seq, 2, &rank);
    }
    let (n, batch) = fill(INFLATED_CAP, |n| {
        batch_of(n, "WebcastRoomUserSeqMessage", &seq)
    });
    v.push(Hostile {
        name: "many-users",
        what: format!("{n} viewer-count messages of 200 ranked users each"),
        frame: push_frame(&gzip(&batch), true),
    });

    // 7. A chat comment of nearly 8 MiB.
    let mut chat = Vec::new();
    len_field(&mut chat, 3, &vec![b'a'; INFLATED_CAP - 1024]);
    let batch = batch_of(1, "WebcastChatMessage", &chat);
    v.push(Hostile {
        name: "long-string",
        what: format!("one chat comment of {} bytes", INFLATED_CAP - 1024),
        frame: push_frame(&gzip(&batch), true),
    });

    // 8. A display template naming one long piece again and again ("{0}" x N).
    let piece_len = 64 * 1024;
    let mut piece = Vec::new();
    len_field(&mut piece, 11, &vec![b'p'; piece_len]);
    let pattern = "{0}".repeat((INFLATED_CAP - piece_len - 4096) / 3);
    let mut text = Vec::new();
    len_field(&mut text, 1, b"pm_mt_guidance_viewer_follow");
    len_field(&mut text, 2, pattern.as_bytes());
    len_field(&mut text, 4, &piece);
    let mut common = Vec::new();
    len_field(&mut common, 8, &text);
    let mut member = Vec::new();
    len_field(&mut member, 1, &common);
    let batch = batch_of(1, "WebcastMemberMessage", &member);
    v.push(Hostile {
        name: "template-bomb",
        what: format!(
            "a join label template naming a {piece_len}-byte piece {} times",
            pattern.len() / 3
        ),
        frame: push_frame(&gzip(&batch), true),
    });

    // 9. Nesting past the decoder's limit (unknown groups: the schema has no recursive
    //    message), in as many messages as fit.
    let mut nested = Vec::new();
    nested.extend(std::iter::repeat_n([0x9b, 0x06], 10_000).flatten());
    nested.extend(std::iter::repeat_n([0x9c, 0x06], 10_000).flatten());
    let (n, batch) = fill(INFLATED_CAP, |n| batch_of(n, "WebcastChatMessage", &nested));
    v.push(Hostile {
        name: "deep-nesting",
        what: format!("{n} messages of 10000 nested groups"),
        frame: push_frame(&gzip(&batch), true),
    });

    v
}
