// Headless Chromium: throughput (tikcast vs peer in one page), start-up, latency over a
// local WebSocket, memory. Serves the repository's js/ (the built package, unbundled ES
// modules as a plain <script type="module"> would load them) and bench/.
// Usage: node run-browser.mjs --frames data/frames.bin [--variants a.bin,b.bin] [--rounds 5]
//        [--variant-rounds 3] [--limit N] [--startup 7] [--latency-seconds 10] [--rate 2000]
//        [--memory 1000000]   → JSON on stdout
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { HERE, REPO, buildPeer, cli } from './lib/cli.mjs';
import { splitFrames, median } from './lib/frames.mjs';

const { opt } = cli();
const framesFile = resolve(opt('--frames', join(HERE, 'data/frames.bin')));
const variants = (opt('--variants', '') || '').split(',').filter(Boolean).map((f) => resolve(f));
const rounds = Number(opt('--rounds', 5));
const variantRounds = Number(opt('--variant-rounds', 3));
const limit = Number(opt('--limit', 1e9));
const startupSamples = Number(opt('--startup', 7));
const latencySeconds = Number(opt('--latency-seconds', 10));
const rate = Number(opt('--rate', 2000));
const memoryTotal = Number(opt('--memory', 1_000_000));
const only = (opt('--only', 'throughput,startup,latency,memory') || '').split(',');
const log = (...a) => console.error('[browser]', ...a);

await buildPeer(esbuild);
const frames = splitFrames(readFileSync(framesFile));
writeFileSync(join(HERE, 'data/first-frame.bin'), frames[0]);

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json' };
const files = { '/bench/data/main.bin': framesFile };
variants.forEach((v, i) => (files[`/bench/data/variant${i}.bin`] = v));
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = files[path];
  if (!file && path === '/') file = join(HERE, 'lib/blank.html');
  if (!file && path === '/startup.html') file = join(HERE, 'lib/startup.html');
  if (!file && (path.startsWith('/js/dist/') || path.startsWith('/bench/'))) file = join(REPO, path);
  if (!file || !file.startsWith(REPO) && !Object.values(files).includes(file) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(readFileSync(file));
});
// Latency: after the page says "go", frames at `rate` messages/s for `latencySeconds`.
const perFrameMessages = frames.map((f) => countMessages(f));
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => {
  ws.once('message', () => {
    const start = performance.now();
    let i = 0;
    let sent = 0;
    let late = 0;
    let due = 0;
    const tick = () => {
      const now = performance.now() - start;
      while (due <= now) {
        if (now - due > 5) late++;
        ws.send(frames[i % frames.length]);
        sent += perFrameMessages[i % frames.length];
        i++;
        due = (sent / rate) * 1000;
        if (due >= latencySeconds * 1000) {
          const secs = (performance.now() - start) / 1000;
          ws.send(JSON.stringify({ frames: i, messages: sent, seconds: secs, messagesPerSec: sent / secs, lateSends: late }));
          return;
        }
      }
      setTimeout(tick, Math.max(0, due - (performance.now() - start)));
    };
    tick();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--js-flags=--expose-gc', '--enable-precise-memory-info'],
});
const out = { chromium: browser.version() };
try {
  const openBench = async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log('page error:', e.message));
    page.on('console', (m) => m.type() === 'error' && log('console:', m.text()));
    await page.goto(origin + '/');
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    return page;
  };
  if (only.includes('throughput')) {
    const page = await openBench();
    out.throughput = {};
    const sets = [['main', '/bench/data/main.bin', rounds, true], ...variants.map((v, i) => [v.split('/').pop(), `/bench/data/variant${i}.bin`, variantRounds, false])];
    for (const [name, url, r, stream] of sets) {
      log(`throughput ${name}: ${r} rounds`);
      const loaded = await page.evaluate(([u, l]) => window.bench.load(u, l), [url, limit]);
      out.throughput[name] = await page.evaluate(([r, s]) => window.bench.throughput(r, s), [r, stream]);
      out.throughput[name].loaded = loaded;
    }
    await page.close();
  }
  if (only.includes('startup')) {
    log(`start-up: ${startupSamples} fresh contexts each`);
    out.startup = {};
    for (const who of ['tikcast', 'peer']) out.startup[who] = [];
    for (let i = 0; i < startupSamples; i++) {
      for (const who of i % 2 ? ['peer', 'tikcast'] : ['tikcast', 'peer']) {
        const ctx = await browser.newContext();
        const page = await ctx.newPage();
        await page.goto(`${origin}/startup.html?who=${who}`);
        const r = await page.waitForFunction(() => window.result, null, { timeout: 60_000 });
        out.startup[who].push((await r.jsonValue()).ms);
        await ctx.close();
      }
    }
    for (const who of ['tikcast', 'peer']) out.startup[who] = { samples: out.startup[who], median: median(out.startup[who]) };
  }
  if (only.includes('latency')) {
    const page = await openBench();
    await page.evaluate(([u]) => window.bench.load(u, 200), ['/bench/data/main.bin']);
    out.latency = {};
    for (const who of ['tikcast', 'peer']) {
      log(`latency ${who}: ${latencySeconds} s at ${rate} messages/s`);
      out.latency[who] = await page.evaluate(([u, w]) => window.bench.latency(u, w), [origin.replace('http', 'ws') + '/ws', who]);
    }
    await page.close();
  }
  if (only.includes('memory')) {
    out.memory = {};
    for (const who of ['tikcast', 'peer']) {
      log(`memory ${who}: ${memoryTotal} messages`);
      const page = await openBench();
      await page.evaluate(([u, l]) => window.bench.load(u, l), ['/bench/data/main.bin', Math.min(limit, 500)]);
      out.memory[who] = await page.evaluate(([w, t]) => window.bench.memory(w, t, t / 10), [who, memoryTotal]);
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));

/** Messages in one frame, without the peer: a minimal walk of our own (frame field 8 → gunzip → field 1 count). */
function countMessages(frame) {
  const payload = field(frame, 8);
  const inner = new Uint8Array(gunzip(payload));
  let n = 0;
  walk(inner, (num) => num === 1 && n++);
  return n;
}
function field(bytes, want) {
  let found;
  walk(bytes, (num, v) => num === want && (found = v));
  return found;
}
function walk(b, cb) {
  let i = 0;
  const varint = () => {
    let x = 0, s = 0, c;
    do { c = b[i++]; x += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80);
    return x;
  };
  while (i < b.length) {
    const key = varint();
    const num = Math.floor(key / 8), wt = key & 7;
    if (wt === 0) cb(num, varint());
    else if (wt === 2) { const len = varint(); cb(num, b.subarray(i, i + len)); i += len; }
    else if (wt === 1) i += 8;
    else if (wt === 5) i += 4;
    else break;
  }
}
import { gunzipSync as gunzip } from 'node:zlib';
