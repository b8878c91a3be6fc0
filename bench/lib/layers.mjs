// Where a frame's time goes inside tikcast, one layer at a time (shared by Node and the
// page): the raw wasm `decodeFrame`, the raw wasm `Engine` (session: dedup, gift
// streaks, `giftRaw`), the same without `giftRaw`, and the SDK (`TikTokLiveConnection`
// with a `decodedData` listener). Same frames, rotated rounds; median ms per frame.
import { median } from './frames.mjs';
import { tikcastRun } from './contenders.mjs';
import { framesSession } from './frames-session.mjs';

// `floor` (optional): bench/wasm-floor builds by label, as bytes. They run tikcast-core
// with raw exports and no JS objects (bench/floor.sh): the time of inflating alone, of
// decoding into a digest, and of the session too; the difference to the rows above is the
// cost of building the objects listeners receive.
export async function layers(glue, sdk, frames, rounds, floor = {}) {
  const connection = (session) => {
    let n = 0;
    const c = framesSession(glue, session, (b) => {
      n += b.length;
    });
    c.start();
    for (const f of frames) c.pushFrame(f);
    c.stop();
    c.free();
    return n;
  };
  const runs = {
    'wasm decodeFrame (no session)': () => frames.reduce((n, f) => n + glue.decodeFrame(f).events.length, 0),
    'wasm Engine (session)': () => connection({}),
    'wasm Engine, giftRaw off': () => connection({ giftRaw: false }),
    'SDK TikTokLiveConnection, decodedData': () => tikcastRun(sdk, frames, false),
  };
  for (const [label, bytes] of Object.entries(floor)) {
    const w = (await WebAssembly.instantiate(bytes, {})).instance.exports;
    const inputs = label.includes('inflate') ? frames.map(gzipPayload) : frames;
    runs[label] = () => {
      let n = 0;
      for (const f of inputs) {
        const at = w.buf(f.length); // may grow the memory: take its buffer after
        new Uint8Array(w.memory.buffer, at, f.length).set(f);
        n += Number(w.run() & 1n);
      }
      return n;
    };
  }
  const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  const names = Object.keys(runs);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      const t = performance.now();
      await runs[name]();
      times[name].push((performance.now() - t) / frames.length);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(times[k])]));
}

/** The payload (field 8) of a push frame: the gzip member the inflate-only floor takes. */
function gzipPayload(frame) {
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = frame[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (i < frame.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      if (key >>> 3 === 8) return frame.subarray(i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${wire} in a bench frame`);
  }
  throw new Error('a bench frame without a payload');
}
