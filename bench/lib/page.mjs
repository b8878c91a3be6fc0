// Runs in headless Chromium (served by run-browser.mjs): the same contenders as
// node-throughput.mjs, in one page, plus latency over a local WebSocket and memory.
// The package's modules one by one (tsc's output), not the dist/index.js bundle: the memory
// probe reads the wasm memory through the glue module, which must be the instance the SDK
// uses (the bundle has its own copy of the glue inside). Same code, same speed.
import * as tikcast from '/js/dist/api.js';
import { setAssets } from '/js/dist/loader.js';
import wasmInit from '/js/dist/wasm/tikcast_wasm.js';

setAssets({
  wasm: () => new URL('/js/dist/wasm/tikcast_wasm_bg.wasm', location.href),
  worker: () => {
    throw new Error('the benchmark page runs no worker');
  },
  hint: 'run npm run build',
});
import { proto, gunzipSync } from '/bench/dist/peer.js';
import { splitFrames, median, percentile } from '/bench/lib/frames.mjs';
import { peer, gunzipStream, tikcastRun, tikcastDecodeFrame } from '/bench/lib/contenders.mjs';

const p = peer(proto, (b) => gunzipSync(b));
let frames = [];
let messages = 0;

async function load(url, limit) {
  frames = splitFrames(await (await fetch(url)).arrayBuffer()).slice(0, limit);
  await tikcast.init();
  messages = 0;
  for (const f of frames) messages += proto.ProtoMessageFetchResult.decode(gunzipSync(proto.WebcastPushFrame.decode(f).payload)).messages.length;
  return { frames: frames.length, messages };
}

async function throughput(rounds, withStream) {
  const contenders = {
    'tikcast full': () => tikcastRun(tikcast, frames, false),
    'tikcast filtered': () => tikcastRun(tikcast, frames, true),
    'tikcast decodeFrame': () => tikcastDecodeFrame(tikcast, frames),
    'peer full': () => p.run(frames, false),
    'peer filtered': () => p.run(frames, true),
    'gunzip only (fflate)': () => {
      let n = 0;
      for (const f of frames) n += gunzipSync(proto.WebcastPushFrame.decode(f).payload).length;
      return n;
    },
  };
  if (withStream) {
    contenders['peer full (DecompressionStream)'] = () => p.runAsync(frames, false, gunzipStream);
    contenders['peer filtered (DecompressionStream)'] = () => p.runAsync(frames, true, gunzipStream);
    contenders['gunzip only (DecompressionStream)'] = async () => {
      let n = 0;
      for (const f of frames) n += (await gunzipStream(proto.WebcastPushFrame.decode(f).payload)).length;
      return n;
    };
  }
  const names = Object.keys(contenders);
  const all = frames;
  frames = all.slice(0, 100);
  for (const n of names) await contenders[n]();
  frames = all;
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const outputs = {};
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      globalThis.gc?.();
      const t0 = performance.now();
      outputs[name] = await contenders[name]();
      times[name].push((performance.now() - t0) / 1000);
    }
  }
  const out = { frames: frames.length, messages, rounds, userAgent: navigator.userAgent, contenders: {} };
  for (const name of names) {
    const s = median(times[name]);
    out.contenders[name] = { seconds: times[name], medianSeconds: s, framesPerSec: frames.length / s, messagesPerSec: messages / s, output: outputs[name] };
  }
  return out;
}

/**
 * Latency: the runner's WebSocket server sends frames at the requested message rate;
 * for every listener call, the time since its frame's `onmessage` began.
 */
function latency(url, who) {
  return new Promise((resolve, reject) => {
    const samples = [];
    const perFrame = [];
    let live;
    let arrival = 0;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const onEvent = () => samples.push(performance.now() - arrival);
    ws.onerror = () => reject(new Error('websocket error'));
    ws.onopen = async () => {
      if (who === 'tikcast') {
        live = new tikcast.TikTokLiveConnection('bench', { frames: true });
        live.on('decodedData', onEvent);
        await live.connect();
      }
      ws.send('go');
    };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') {
        ws.close();
        live?.disconnect();
        samples.sort((a, b) => a - b);
        perFrame.sort((a, b) => a - b);
        const q = (s) => ({ p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1], n: s.length });
        resolve({ who, events: q(samples), frames: q(perFrame), server: JSON.parse(m.data) });
        return;
      }
      arrival = performance.now();
      const bytes = new Uint8Array(m.data);
      if (who === 'tikcast') live.pushFrame(bytes);
      else p.decodeOne(bytes, onEvent, false);
      perFrame.push(performance.now() - arrival);
    };
  });
}

/** Memory after `total` messages: samples every `every` messages, after a forced GC. */
async function memory(who, total, every) {
  const wasm = await wasmInit();
  const samples = [];
  let done = 0;
  let next = every;
  let live;
  let events = 0;
  if (who === 'tikcast') {
    live = new tikcast.TikTokLiveConnection('bench', { frames: true });
    live.on('decodedData', () => events++);
    await live.connect();
  }
  const perFrame = frames.map((f) => proto.ProtoMessageFetchResult.decode(gunzipSync(proto.WebcastPushFrame.decode(f).payload)).messages.length);
  for (let i = 0; done < total; i = (i + 1) % frames.length) {
    if (who === 'tikcast') live.pushFrame(frames[i]);
    else events += p.decodeOne(frames[i], () => {}, false);
    done += perFrame[i];
    if (done >= next) {
      next += every;
      globalThis.gc?.();
      await new Promise((r) => setTimeout(r, 0));
      globalThis.gc?.();
      samples.push({ messages: done, jsHeap: performance.memory?.usedJSHeapSize ?? null, wasmMemory: wasm.memory.buffer.byteLength });
    }
  }
  live?.disconnect();
  return { who, events, samples };
}

/** Sizes of what the page would fetch for tikcast, for the record. */
window.bench = { load, throughput, latency, memory };
window.benchReady = true;
