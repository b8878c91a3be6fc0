// Decode throughput in one Node process: tikcast (wasm, through the public SDK) against
// tiktok-live-proto v3 + node:zlib, on the same frames, interleaved round by round.
// Usage: node node-throughput.mjs FRAMES.bin [--rounds 5] [--limit N]   → JSON on stdout
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as proto from 'tiktok-live-proto/v3';
import * as tikcast from '../js/dist/node.js';
import { splitFrames, median } from './lib/frames.mjs';
import { peer, tikcastRun, tikcastDecodeFrame } from './lib/contenders.mjs';
import { loadProbe } from './lib/probe.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const file = args[0];
const rounds = opt('--rounds', 5);
let frames = splitFrames(readFileSync(file));
const limit = opt('--limit', frames.length);
frames = frames.slice(0, limit);

await tikcast.init();
const p = peer(proto, (b) => gunzipSync(b));
// Messages in the file (the input rate both sides are credited with).
let messages = 0;
let inflatedBytes = 0;
for (const f of frames) {
  const fr = proto.WebcastPushFrame.decode(f);
  const raw = gunzipSync(fr.payload);
  inflatedBytes += raw.length;
  messages += proto.ProtoMessageFetchResult.decode(raw).messages.length;
}

const contenders = {
  'tikcast full': () => tikcastRun(tikcast, frames, false),
  'tikcast filtered': () => tikcastRun(tikcast, frames, true),
  'tikcast decodeFrame': () => tikcastDecodeFrame(tikcast, frames),
  'peer full': () => p.run(frames, false),
  'peer filtered': () => p.run(frames, true),
  'gunzip only (node:zlib)': () => {
    let n = 0;
    for (const f of frames) n += gunzipSync(proto.WebcastPushFrame.decode(f).payload).length;
    return n;
  },
};
// Diagnostics: tikcast-core in wasm without JS objects (bench/wasm-probe), as shipped
// (opt-level z) and at opt-level 3.
const PROBE = new URL('../target/wasm-probe/wasm32-unknown-unknown/', import.meta.url).pathname;
const payloads = frames.map((f) => {
  const len = proto.WebcastPushFrame.decode(f).payload.length;
  return [f.length - len, len]; // the payload is the frame's last field
});
for (const [profile, label] of [['size', 'opt-level z'], ['release', 'opt-level 3']]) {
  const probe = loadProbe(`${PROBE}${profile}/wasm_probe.wasm`);
  if (!probe) continue;
  contenders[`probe: core in wasm, full, no JS objects (${label})`] = () => probe.full(frames);
  contenders[`probe: core in wasm, chat+gift, no JS objects (${label})`] = () => probe.chatGift(frames);
  contenders[`probe: gunzip only in wasm, core = zlib-rs (${label})`] = () => probe.gunzip(frames, payloads);
  // The inflater alone: the probe's own copy of the wrapper and checks around each library.
  for (const [lib, name] of [['miniz', 'miniz_oxide, probe wrapper'], ['zlibrs', 'zlib-rs, probe wrapper'], ['zune', 'zune-inflate, its own gzip']]) {
    const g = probe.gunzipWith(lib);
    if (g) contenders[`probe: gunzip only in wasm, ${name} (${label})`] = () => g(frames, payloads);
  }
}
const names = Object.keys(contenders);
// Warm-up: JIT and wasm tier-up on a slice of the frames.
for (const name of names) {
  const saved = frames;
  frames = saved.slice(0, 100);
  await contenders[name]();
  frames = saved;
}
const times = Object.fromEntries(names.map((n) => [n, []]));
const outputs = {};
for (let r = 0; r < rounds; r++) {
  // Rotate the order so no contender always runs first (or right after a GC-heavy one).
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length];
    globalThis.gc?.();
    const t0 = performance.now();
    outputs[name] = await contenders[name]();
    times[name].push((performance.now() - t0) / 1000);
  }
}
const result = { file, frames: frames.length, messages, inflatedBytes, rounds, node: process.version, contenders: {} };
for (const name of names) {
  const s = median(times[name]);
  result.contenders[name] = {
    seconds: times[name],
    medianSeconds: s,
    framesPerSec: frames.length / s,
    messagesPerSec: messages / s,
    output: outputs[name],
  };
}
console.log(JSON.stringify(result));
