// The wasm-probe module (bench/wasm-probe): tikcast-core in wasm with raw exports, no JS
// objects. Splits the SDK's time into decoding in wasm and building JS objects.
import { readFileSync, existsSync } from 'node:fs';

export function loadProbe(path) {
  if (!existsSync(path)) return null;
  const { exports: x } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {});
  const put = (f) => {
    const at = x.buf(f.length); // may grow memory: read the buffer after
    new Uint8Array(x.memory.buffer, at, f.length).set(f);
  };
  return {
    full(frames) {
      let n = 0;
      for (const f of frames) { put(f); n += x.decode_full(); }
      return n;
    },
    chatGift(frames) {
      let n = 0;
      for (const f of frames) { put(f); n += x.decode_chat_gift(); }
      return n;
    },
    /** `payloads[i]` = [offset, length] of frame i's gzip payload. */
    gunzip(frames, payloads) {
      let n = 0;
      frames.forEach((f, i) => { put(f); n += x.gunzip_only(payloads[i][0], payloads[i][1]); });
      return n;
    },
    /** Inflater comparison: the same gunzip with `lib` = 'miniz', 'zlibrs' or 'zune' (null if absent). */
    gunzipWith(lib) {
      const g = x[`gunzip_${lib}`];
      if (!g) return null;
      return (frames, payloads) => {
        let n = 0;
        frames.forEach((f, i) => { put(f); n += g(payloads[i][0], payloads[i][1]); });
        return n;
      };
    },
  };
}
