// The decoders under test, written once for Node and the browser. Each contender takes
// the frames and returns how many event objects reached the application; the caller
// times it. Both sides do the same job: push frame bytes in, finished JS objects out.
//
// - tikcast: `TikTokLiveConnection` with the `frames: true` transport and `pushFrame`, so
//   every object is the one a listener receives (session included: dedup, gift streaks).
//   Full = a `decodedData` listener (everything decoded); filtered = `chat` + `gift`
//   listeners only (listener-aware skipping). `decodeFrame` is the stand-alone call.
// - peer: tiktok-live-proto's v3 schema (the decoder TikTok-Live-Connector v2 uses):
//   push frame → gunzip → fetch result → each message decoded by the type its method
//   names (methods the schema lacks are skipped, as the connector does). Filtered = the
//   same but only chat and gift payloads are decoded.

export const FILTER = new Set(['WebcastChatMessage', 'WebcastGiftMessage']);

/** The peer, parameterised by its gunzip (node:zlib, fflate) and the v3 module. */
export function peer(proto, gunzip) {
  const Frame = proto.WebcastPushFrame;
  const Result = proto.ProtoMessageFetchResult;
  const types = new Map();
  const typeOf = (method) => {
    let t = types.get(method);
    if (t === undefined) {
      const c = proto[method];
      t = c && typeof c.decode === 'function' ? c : null;
      types.set(method, t);
    }
    return t;
  };
  const decodeOne = (bytes, sink, filter) => {
    const frame = Frame.decode(bytes);
    const gz = frame.headers.some((h) => h.key === 'compress_type' && h.value === 'gzip');
    const inner = gz ? gunzip(frame.payload) : frame.payload;
    const result = Result.decode(inner);
    let n = 0;
    for (const m of result.messages) {
      if (filter && !FILTER.has(m.method)) continue;
      const T = typeOf(m.method);
      if (T === null) continue;
      sink(T.decode(m.payload), m.method);
      n++;
    }
    return n;
  };
  return {
    decodeOne,
    run(frames, filter, sink = () => {}) {
      let n = 0;
      for (const f of frames) n += decodeOne(f, sink, filter);
      return n;
    },
    /** The same with an async gunzip (DecompressionStream). */
    async runAsync(frames, filter, gunzipAsync) {
      let n = 0;
      for (const bytes of frames) {
        const frame = Frame.decode(bytes);
        const result = Result.decode(await gunzipAsync(frame.payload));
        for (const m of result.messages) {
          if (filter && !FILTER.has(m.method)) continue;
          const T = typeOf(m.method);
          if (T === null) continue;
          T.decode(m.payload);
          n++;
        }
      }
      return n;
    },
  };
}

/** gunzip with the browser's DecompressionStream (async, native). */
export async function gunzipStream(bytes) {
  const ds = new DecompressionStream('gzip');
  const out = new Response(new Blob([bytes]).stream().pipeThrough(ds));
  return new Uint8Array(await out.arrayBuffer());
}

/** tikcast through the public SDK: a `frames: true` connection per run. */
export async function tikcastRun(tikcast, frames, filter) {
  const live = new tikcast.TikTokLiveConnection('bench', { frames: true });
  let n = 0;
  const count = () => {
    n++;
  };
  if (filter) {
    live.on('chat', count);
    live.on('gift', count);
  } else {
    live.on('decodedData', count);
  }
  await live.connect();
  for (const f of frames) live.pushFrame(f);
  live.disconnect();
  return n;
}

/** tikcast's stand-alone `decodeFrame` (no session): every event of every frame. */
export function tikcastDecodeFrame(tikcast, frames) {
  let n = 0;
  for (const f of frames) n += tikcast.decodeFrame(f).events.length;
  return n;
}
