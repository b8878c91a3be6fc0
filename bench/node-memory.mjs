// Memory after N messages in Node: JS heap (after a forced GC) and the wasm linear
// memory, sampled every N/10 messages; tikcast (`frames: true` connection, everything
// decoded) and the peer each in a fresh process (run twice by run.mjs).
// Usage: node --expose-gc node-memory.mjs FRAMES.bin tikcast|peer [TOTAL]
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as proto from 'tiktok-live-proto/v3';
import * as tikcast from '../js/dist/node.js';
import { initSync } from '../js/dist/wasm/tikcast_wasm.js';
import { splitFrames } from './lib/frames.mjs';
import { peer } from './lib/contenders.mjs';

const [file, who, totalArg] = process.argv.slice(2);
const total = Number(totalArg ?? 1_000_000);
const frames = splitFrames(readFileSync(file)).slice(0, 500);
const counts = frames.map((f) => proto.ProtoMessageFetchResult.decode(gunzipSync(proto.WebcastPushFrame.decode(f).payload)).messages.length);
await tikcast.init();
const wasm = initSync(); // already initialised by the package: returns its exports (memory)
const p = peer(proto, (b) => gunzipSync(b));
let live;
let events = 0;
if (who === 'tikcast') {
  live = new tikcast.TikTokLiveConnection('bench', { frames: true });
  live.on('decodedData', () => events++);
  await live.connect();
}
const samples = [];
let done = 0;
let next = total / 10;
for (let i = 0; done < total; i = (i + 1) % frames.length) {
  if (live) live.pushFrame(frames[i]);
  else events += p.decodeOne(frames[i], () => {}, false);
  done += counts[i];
  if (done >= next) {
    next += total / 10;
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    const m = process.memoryUsage();
    samples.push({ messages: done, jsHeap: m.heapUsed, external: m.external, rss: m.rss, wasmMemory: wasm.memory.buffer.byteLength });
  }
}
live?.disconnect();
console.log(JSON.stringify({ who, events, samples }));
