// Self time by function of one build's decodeFrame (or session) path in headless Chromium
// (CDP sampling profiler), to see where a frame's time goes.
// Usage: node cpu-profile.mjs DIR [--path decodeFrame|sdk] [--limit 400] [--rounds 5]
// DIR holds a build of the module (tikcast_wasm.js + tikcast_wasm_bg.wasm); keep the
// name section (wasm-bindgen --keep-debug, wasm-opt --debuginfo) to see Rust names.
// `sdk` runs TikTokLiveConnection's frames transport (js/dist, built with the same glue)
// with a `decodedData` listener, over DIR's .wasm.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO, cli } from './lib/cli.mjs';

const { opt, num, positional } = cli();
const dir = resolve(positional[0] ?? '.');
const limit = num('--limit', 400);
const rounds = num('--rounds', 5);
const path = opt('--path', 'decodeFrame');
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>cpu</title>');
  const f = join(REPO, path);
  if (!f.startsWith(REPO) || !existsSync(f)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const url = '/' + dir.slice(REPO.length + 1);
  await page.evaluate(async ([u, limit, path]) => {
    const { splitFrames } = await import('/bench/lib/frames.mjs');
    globalThis.frames = splitFrames(await (await fetch('/bench/data/frames.bin')).arrayBuffer()).slice(0, limit);
    if (path === 'sdk') {
      const tikcast = await import('/js/dist/api.js');
      const { setAssets } = await import('/js/dist/loader.js');
      setAssets({ wasm: () => new URL(`${u}/tikcast_wasm_bg.wasm`, location.href), worker: () => null, hint: '' });
      await tikcast.init();
      globalThis.run = async () => {
        const live = new tikcast.TikTokLiveConnection('bench', { frames: true });
        let n = 0;
        live.on('decodedData', () => n++);
        await live.connect();
        for (const f of globalThis.frames) live.pushFrame(f);
        live.disconnect();
        return n;
      };
    } else {
      const glue = await import(`${u}/tikcast_wasm.js`);
      await glue.default({ module_or_path: `${u}/tikcast_wasm_bg.wasm` });
      globalThis.run = async () => {
        let n = 0;
        for (const f of globalThis.frames) n += glue.decodeFrame(f).events.length;
        return n;
      };
    }
    await globalThis.run();
  }, [url, limit, path]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const ms = await page.evaluate(async (rounds) => {
    const t = performance.now();
    for (let r = 0; r < rounds; r++) await globalThis.run();
    return (performance.now() - t) / (rounds * globalThis.frames.length);
  }, rounds);
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
    total += dt[i] ?? 0;
  });
  console.log(`${ms.toFixed(3)} ms a frame; self time of ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, num('--top', 30))) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
} finally {
  await browser.close();
  server.close();
}
