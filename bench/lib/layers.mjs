// Where a frame's time goes inside tikcast, one layer at a time (shared by Node and the
// page): the raw wasm `decodeFrame`, the raw wasm `Connection` (session: dedup, gift
// streaks, `giftRaw`), the same without `giftRaw`, and the SDK (`TikTokLiveConnection`
// with a `decodedData` listener). Same frames, rotated rounds; median ms per frame.
import { median } from './frames.mjs';
import { tikcastRun } from './contenders.mjs';

export async function layers(glue, sdk, frames, rounds) {
  const connection = (session) => {
    let n = 0;
    const c = new glue.Connection({ transport: 'frames', session }, (b) => {
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
    'wasm Connection (session)': () => connection({}),
    'wasm Connection, giftRaw off': () => connection({ giftRaw: false }),
    'SDK TikTokLiveConnection, decodedData': () => tikcastRun(sdk, frames, false),
  };
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
