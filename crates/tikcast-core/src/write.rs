//! Decoder v2's pipeline: push frame → (inflate) → batch → events written straight into
//! a [`Sink`] by the schema reader (`reader.rs`, `shape.rs`), with the same limits as
//! [`crate::decode`] ([`DecodeOptions`]). Nothing is decoded into owned structs: the
//! frame, the batch and every message are read as borrowed views of the input and of the
//! inflated batch.
//!
//! ```
//! use tikcast_core::{write_message, EnvelopeInfo, JsonSink};
//! let mut sink = JsonSink::new();
//! write_message("WebcastLikeMessage", &[0x10, 0x05, 0x18, 0x2a], EnvelopeInfo::default(), &mut sink);
//! let json = sink.texts().next().unwrap();
//! assert!(json.starts_with(r#"{"type":"like","msgId":"0""#));
//! assert!(json.contains(r#""likeCount":5,"totalLikeCount":42"#));
//! ```

use alloc::borrow::{Cow, ToOwned};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::decode::{DecodeOptions, EnvelopeInfo, FrameInfo};
use crate::error::DecodeError;
use crate::gzip;
use crate::reader::{count, msg, slot, Ctx, Index, ReadError, Sink, View};
use crate::shape;

pub(crate) fn protobuf(what: &'static str, e: ReadError) -> DecodeError {
    DecodeError::Protobuf {
        what,
        reason: e.reason().to_owned(),
    }
}

/// Writes the events of one push frame into `sink` and returns the frame and batch
/// fields. `keep(envelope, method)` is asked
/// before each message; a refused message costs only its envelope.
///
/// On an error the frame wrote nothing (the sink is truncated back).
pub fn write_frame(
    bytes: &[u8],
    opts: &DecodeOptions,
    keep: impl FnMut(EnvelopeInfo, &str) -> bool,
    sink: &mut dyn Sink,
) -> Result<FrameInfo, DecodeError> {
    let (mut out, batch) = open_frame(bytes, opts)?;
    if let Some(batch) = batch {
        write_batch_into(&batch, opts, &mut out, keep, sink)?;
    }
    Ok(out)
}

/// A frame's fields and its batch (see [`open_frame`]).
pub(crate) type OpenFrame<'a> = (FrameInfo, Option<Cow<'a, [u8]>>);

/// The frame's fields (no batch fields yet) and its batch, inflated when compressed:
/// `None` for a frame that carries no messages (another payload type, or empty).
pub(crate) fn open_frame<'a>(
    bytes: &'a [u8],
    opts: &DecodeOptions,
) -> Result<OpenFrame<'a>, DecodeError> {
    if bytes.len() > opts.max_frame_bytes {
        return Err(DecodeError::TooLarge {
            what: "frame",
            len: bytes.len(),
            cap: opts.max_frame_bytes,
        });
    }
    let mut ix = Index::new();
    ix.build(msg::PushFrame, bytes)
        .map_err(|e| protobuf("frame", e))?;
    let frame = ix.root(bytes);
    use slot::PushFrame as F;
    let payload_type = frame.str(F::payload_type);
    let out = FrameInfo {
        seq_id: frame.u64(F::seq_id),
        log_id: frame.u64(F::log_id),
        payload_type: payload_type.to_string(),
        ..FrameInfo::default()
    };
    // The payload as a slice of `bytes` (the view's borrow ends with this function).
    let payload = within(bytes, frame.bytes(F::payload));
    if !(payload_type.is_empty() || payload_type == "msg") || payload.is_empty() {
        return Ok((out, None));
    }
    // The last `compress_type` header wins, as the typed decoder's first match did for
    // real frames (they carry one).
    let compress = frame
        .msgs(F::headers)
        .find(|h| h.str(slot::PushHeader::key) == "compress_type")
        .map(|h| h.str(slot::PushHeader::value))
        .unwrap_or("");
    let batch = match compress {
        "gzip" => Cow::Owned(gzip::gunzip_capped(
            payload,
            opts.max_inflated_bytes,
            opts.max_gzip_members,
        )?),
        "" | "none" if gzip::looks_like_gzip(payload) => Cow::Owned(gzip::gunzip_capped(
            payload,
            opts.max_inflated_bytes,
            opts.max_gzip_members,
        )?),
        "" | "none" => Cow::Borrowed(payload),
        other => return Err(DecodeError::UnsupportedCompression(other.to_string())),
    };
    Ok((out, Some(batch)))
}

/// `part` (a slice of `whole`) borrowed from `whole`; empty when it is not in it.
fn within<'a>(whole: &'a [u8], part: &[u8]) -> &'a [u8] {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    start
        .checked_add(part.len())
        .and_then(|end| whole.get(start..end))
        .unwrap_or(&[])
}

/// Writes the events of a bare fetch result (an HTTP im/fetch body or an inflated frame
/// payload) into `sink`; see [`write_frame`].
pub fn write_batch(
    bytes: &[u8],
    opts: &DecodeOptions,
    keep: impl FnMut(EnvelopeInfo, &str) -> bool,
    sink: &mut dyn Sink,
) -> Result<FrameInfo, DecodeError> {
    let mut out = FrameInfo {
        payload_type: "msg".to_string(),
        ..FrameInfo::default()
    };
    write_batch_into(bytes, opts, &mut out, keep, sink)?;
    Ok(out)
}

fn write_batch_into(
    bytes: &[u8],
    opts: &DecodeOptions,
    out: &mut FrameInfo,
    mut keep: impl FnMut(EnvelopeInfo, &str) -> bool,
    sink: &mut dyn Sink,
) -> Result<(), DecodeError> {
    let mut ix = Index::new();
    let batch = open_batch(&mut ix, bytes, opts, out)?;
    let start = sink.size();
    let ctx = Ctx::new(start, opts.max_expansion);
    for m in batch.msgs(slot::FetchResult::messages) {
        let (method, payload, env) = envelope(&m);
        if keep(env, method) {
            if let Err(e) = write_one(method, payload, env, sink, &ctx) {
                sink.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Checks a batch against the caps and the schema and fills `out`'s batch fields; the
/// messages are read from the returned view (of `ix`, built over the batch).
pub(crate) fn open_batch<'a>(
    ix: &'a mut Index,
    bytes: &'a [u8],
    opts: &DecodeOptions,
    out: &mut FrameInfo,
) -> Result<View<'a>, DecodeError> {
    if bytes.len() > opts.max_inflated_bytes {
        return Err(DecodeError::TooLarge {
            what: "batch",
            len: bytes.len(),
            cap: opts.max_inflated_bytes,
        });
    }
    use slot::FetchResult as B;
    // Counted before the batch is indexed: the index of a batch past the cap is work
    // (and memory) for nothing.
    let messages = count(msg::FetchResult, bytes, B::messages).map_err(|e| protobuf("batch", e))?;
    if messages > opts.max_messages {
        return Err(DecodeError::TooMany {
            what: "messages in one batch",
            cap: opts.max_messages,
        });
    }
    ix.build(msg::FetchResult, bytes)
        .map_err(|e| protobuf("batch", e))?;
    let batch = ix.root(bytes);
    out.cursor = batch.str(B::cursor).to_string();
    out.internal_ext = batch.str(B::internal_ext).to_string();
    out.need_ack = batch.bool(B::need_ack);
    out.fetch_interval_ms = batch.i64(B::fetch_interval_ms);
    out.heartbeat_duration = batch.i64(B::heartbeat_duration);
    out.now_ms = batch.i64(B::now_ms);
    out.is_first = batch.bool(B::is_first);
    out.push_server = batch.str(B::push_server).to_string();
    let mut params: Vec<(&str, &str)> = batch
        .msgs(B::route_params)
        .map(|e| (e.str(0), e.str(1)))
        .collect();
    crate::small::sort_stable(&mut params, |a, b| a.0.cmp(b.0));
    for (i, (k, v)) in params.iter().enumerate() {
        if params.get(i + 1).is_none_or(|n| n.0 != *k) {
            out.route_params.push((k.to_string(), v.to_string()));
        }
    }
    Ok(batch)
}

/// A message envelope's method, payload and meta.
pub(crate) fn envelope<'a>(m: &View<'a>) -> (&'a str, &'a [u8], EnvelopeInfo) {
    use slot::MessageEnvelope as E;
    let env = EnvelopeInfo {
        msg_id: m.u64(E::msg_id),
        is_history: m.bool(E::is_history),
    };
    (m.str(E::method), m.bytes(E::payload), env)
}

/// Writes the events of one message payload of `method` into `sink`: its events, an
/// `unknown` event for a method the decoder does not know, or a `decodeError` event for
/// a malformed payload. The message gets [`DecodeOptions::max_expansion`] of output; a
/// payload that would write more becomes a `decodeError` event.
pub fn write_message(method: &str, payload: &[u8], env: EnvelopeInfo, sink: &mut dyn Sink) {
    let cap = DecodeOptions::default().max_expansion;
    let ctx = Ctx::new(sink.size(), cap);
    let mark = sink.size();
    if let Err(err) = write_one(method, payload, env, sink, &ctx) {
        sink.truncate(mark);
        write_passthrough("decodeError", method, Some(&err), payload, env, sink);
    }
}

/// One message into `sink`; fails only when the batch's output budget runs out.
pub(crate) fn write_one(
    method: &str,
    payload: &[u8],
    env: EnvelopeInfo,
    sink: &mut dyn Sink,
    ctx: &Ctx,
) -> Result<(), DecodeError> {
    let mark = sink.size();
    let Some(route) = shape::route(method) else {
        write_passthrough("unknown", method, None, payload, env, sink);
        return ctx.check(sink).map_err(|_| too_expensive(ctx));
    };
    match shape::write_known(&route, payload, env, sink, ctx) {
        Ok(()) => Ok(()),
        Err(ReadError::Budget) => Err(too_expensive(ctx)),
        Err(e) => {
            sink.truncate(mark);
            write_passthrough(
                "decodeError",
                method,
                Some(&protobuf("payload", e)),
                payload,
                env,
                sink,
            );
            ctx.check(sink).map_err(|_| too_expensive(ctx))
        }
    }
}

pub(crate) fn too_expensive(ctx: &Ctx) -> DecodeError {
    DecodeError::TooExpensive {
        what: "batch",
        cap: ctx.cap,
    }
}

/// An `unknown` or `decodeError` event: the envelope's meta, the method, the error and
/// the payload (base64).
fn write_passthrough(
    name: &'static str,
    method: &str,
    err: Option<&DecodeError>,
    payload: &[u8],
    env: EnvelopeInfo,
    sink: &mut dyn Sink,
) {
    sink.event_start();
    sink.begin_object();
    sink.key("type");
    sink.str(name);
    sink.key("msgId");
    sink.id(env.msg_id);
    sink.key("roomId");
    sink.id(0);
    sink.key("createTime");
    sink.int(0);
    sink.key("isHistory");
    sink.bool(env.is_history);
    sink.key("method");
    sink.str(method);
    if let Some(err) = err {
        sink.key("error");
        let text: String = alloc::format!("{method}: {err}");
        sink.str(&text);
    }
    sink.key("payload");
    sink.base64(payload);
    sink.end_object();
    sink.event_end();
}
