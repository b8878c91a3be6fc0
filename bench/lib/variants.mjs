// Several builds of the wasm module in one JS process, against the peer, round by round
// (bench/profiles.mjs). Each build is its own wasm-bindgen glue + module, so they share
// nothing; the peer runs in the same rounds, so ratios hold when the machine's speed
// drifts. Per build: `decodeFrame` (bytes → event objects, no session) and the session's
// connection in frames mode, everything and chat + gift only (the SDK's path without the
// TypeScript facade, which is the same for every build).
import { peer, FILTER } from './contenders.mjs';
import { median } from './frames.mjs';
import { framesSession } from './frames-session.mjs';

/** `glues`: [{ name, glue }] with each glue initialised. */
export function contenders(glues, proto, gunzip, frames) {
  const p = peer(proto, gunzip);
  const out = {
    'peer full': () => p.run(frames, false),
    'peer filtered': () => p.run(frames, true),
  };
  for (const { name, glue } of glues) {
    out[`${name}: decodeFrame`] = () => {
      let n = 0;
      for (const f of frames) n += glue.decodeFrame(f).events.length;
      return n;
    };
    const session = (wanted) => () => {
      let n = 0;
      const c = framesSession(glue, undefined, (batch) => {
        for (const item of batch) if (item.type !== 'state' && item.type !== 'roomInfo') n++;
      });
      if (wanted) c.setWantedEvents(wanted);
      c.start();
      for (const f of frames) c.pushFrame(f);
      c.stop?.();
      c.free?.();
      return n;
    };
    out[`${name}: session full`] = session(null);
    out[`${name}: session chat+gift`] = session([...FILTER].map((m) => (m === 'WebcastChatMessage' ? 'chat' : 'gift')));
  }
  return out;
}

/** Runs every contender `rounds` times, rotating the order; medians in frames/s. */
export async function race(all, frames, rounds, gc = () => {}) {
  const names = Object.keys(all);
  for (const n of names) await all[n]();
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const outputs = {};
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      gc();
      const t0 = performance.now();
      outputs[name] = await all[name]();
      times[name].push((performance.now() - t0) / 1000);
    }
  }
  const res = {};
  for (const n of names) res[n] = { framesPerSec: frames.length / median(times[n]), seconds: times[n], output: outputs[n] };
  return res;
}
