// What one row of the event log costs to lay out when its text changes: headless Chromium,
// 62 rows (a 1080 px list) in the event log's CSS, their text set from the events of the
// widgets' workload (bench/data/frames-widgets.bin, real captured messages: names with emoji,
// Arabic, Cyrillic, ...) and laid out (a forced layout, timed), 60 rounds; then the same with
// the characters outside ASCII replaced by '?', with emoji only replaced, and in one text node
// a row instead of three spans. Variants interleaved (5 passes of 20 rounds each); the
// median and p90 ms of a round.
//
//   node bench/event-log-rows.mjs      (after npm run build and one run of bench/widgets.mjs)
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..');
const require = createRequire(join(REPO, 'js/package.json'));
const { chromium } = require('playwright-core');
const DIST = resolve(process.env.BENCH_DIST || join(REPO, 'js/dist'));
const FRAMES = join(HERE, 'data/frames-widgets.bin');
if (!existsSync(FRAMES)) {
  console.log('SKIPPED: run bench/widgets.mjs once first (it makes bench/data/frames-widgets.bin)');
  process.exit(0);
}
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><meta charset=utf-8><body style="margin:0;font:500 16px/1.35 system-ui">');
    return;
  }
  const file = path === '/frames.bin' ? FRAMES : path.startsWith('/pkg/') ? resolve(DIST, path.slice(5)) : null;
  if (!file || !file.startsWith(path === '/frames.bin' ? FRAMES : DIST) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
await page.goto(`http://127.0.0.1:${server.address().port}/`);
const out = await page.evaluate(async () => {
  const { TikTokLiveConnection } = await import('/pkg/index.js');
  const { describeEvent } = await import('/pkg/widgets/index.js');
  const bytes = new Uint8Array(await (await fetch('/frames.bin')).arrayBuffer());
  const dv = new DataView(bytes.buffer);
  const conn = new TikTokLiveConnection('rows', { frames: true });
  const events = [];
  conn.on('decodedData', (e) => events.push(e));
  await conn.connect();
  for (let at = 0, k = 0; at + 4 <= bytes.length && k < 60; at += 4 + dv.getUint32(at, true), k++) conn.pushFrame(bytes.slice(at + 4, at + 4 + dv.getUint32(at, true)));
  await new Promise((r) => setTimeout(r, 500));
  const texts = events.map((e) => describeEvent(e));
  const types = events.map((e) => String(e.type).padEnd(13) + ' ');
  const CSS = `.list { height: 1080px; overflow: auto; contain: strict; margin: 0; padding: 0; list-style: none; font: 0.85em/1.35 ui-monospace, monospace; }
.row { display: block; white-space: pre; overflow: hidden; text-overflow: ellipsis; height: 1.35em; contain: strict; }
.time { opacity: 0.7; } .type { color: #fe2c55; }`;
  const variants = {
    'real text, three spans (the widget)': { map: (t) => t },
    'emoji replaced by ?': { map: (t) => t.replace(/\p{Extended_Pictographic}|\uFE0F|\u200D/gu, '?') },
    'all non-ASCII replaced by ?': { map: (t) => t.replace(/[^\x00-\x7f]/g, '?') },
    'real text, one text node a row': { map: (t) => t, one: true },
  };
  const ROWS = 62;
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  let next = 0;
  for (let pass = 0; pass < 5; pass++) for (const [name, v] of Object.entries(variants)) {
    const host = document.createElement('div');
    document.body.replaceChildren(host);
    const root = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = CSS;
    const list = document.createElement('ol');
    list.className = 'list';
    root.append(style, list);
    const rows = [];
    for (let i = 0; i < ROWS; i++) {
      const li = document.createElement('li');
      li.className = 'row';
      const nodes = [document.createTextNode(''), document.createTextNode(''), document.createTextNode('')];
      if (v.one) li.append(nodes[0]);
      else
        for (const [j, c] of ['time', 'type', 'text'].entries()) {
          const span = document.createElement('span');
          span.className = c;
          span.append(nodes[j]);
          li.append(span);
        }
      list.append(li);
      rows.push(nodes);
    }
    void document.body.offsetHeight;
    for (let round = 0; round < 20; round++) {
      for (const nodes of rows) {
        const j = next++ % texts.length;
        if (v.one) nodes[0].data = `00:00:00 ${types[j]}${v.map(texts[j])}`;
        else {
          nodes[0].data = '00:00:00 ';
          nodes[1].data = types[j];
          nodes[2].data = v.map(texts[j]);
        }
      }
      const t0 = performance.now();
      void document.body.offsetHeight;
      times[name].push(performance.now() - t0);
    }
  }
  const result = {};
  for (const [name, t] of Object.entries(times)) {
    t.sort((a, b) => a - b);
    result[name] = { p50: t[t.length >> 1], p90: t[Math.floor(t.length * 0.9)] };
  }
  return { events: texts.length, nonAscii: texts.filter((t) => /[^\x00-\x7f]/.test(t)).length, emoji: texts.filter((t) => /\p{Extended_Pictographic}/u.test(t)).length, result };
});
await browser.close();
server.close();
const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${out.events} event texts (${out.nonAscii} with non-ASCII characters, ${out.emoji} with emoji); 62 rows changed and laid out, 100 rounds a variant (interleaved); load ${load}`);
console.log('| rows | layout ms p50 | p90 | per row (p50) |');
console.log('|---|---|---|---|');
for (const [name, r] of Object.entries(out.result)) console.log(`| ${name} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${(r.p50 / 62).toFixed(3)} |`);
