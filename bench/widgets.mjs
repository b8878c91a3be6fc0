// Frame times of each widget of tikcast/widgets under load: headless Chromium, a 1920×1080
// page, one widget listening to a `frames: true` connection fed the benchmark workload
// (../shared/bench/make_frames.py: real captured messages, live-room mix) at 2,000 messages
// per second, on the main thread (the widget page's default) and with `worker: true`.
// Frame times are the intervals between animation frames (requestAnimationFrame, on the
// page's performance timeline clock); long animation frames come from the performance
// timeline (PerformanceObserver 'long-animation-frame'); JS heap from performance.memory.
//
//   node bench/widgets.mjs [--seconds 10] [--rate 2000] [--only chat,goal] [--no-worker] [--write]
//
// Not part of `npm test`. Needs js/dist (npm run build) and the real captures
// ($TIKCAST_CORPUS, default ../shared/corpus) to make bench/data/frames-widgets.bin once;
// says SKIPPED without them. --write appends a section to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { splitFrames, percentile } from './lib/frames.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..');
const require = createRequire(join(REPO, 'js/package.json'));
const { chromium } = require('playwright-core');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const seconds = Number(opt('--seconds', 10));
const rate = Number(opt('--rate', 2000));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const log = (...a) => console.error('[widgets]', ...a);

// ------------------------------------------------------------------ the workload

const corpus = resolve(process.env.TIKCAST_CORPUS ?? join(REPO, '../shared/corpus'));
const framesFile = join(HERE, 'data/frames-widgets.bin');
if (!existsSync(framesFile)) {
  const make = resolve(REPO, '../shared/bench/make_frames.py');
  if (!existsSync(make) || !existsSync(corpus)) {
    console.log(`SKIPPED: bench/widgets.mjs needs ${make} and the captures at ${corpus} (TIKCAST_CORPUS) to make its workload`);
    process.exit(0);
  }
  mkdirSync(join(HERE, 'data'), { recursive: true });
  const frames = Math.ceil((rate * seconds * 1.3) / 40);
  log(`making ${framesFile} (${frames} frames)`);
  execFileSync('python3', [make, corpus, framesFile, String(frames), '1'], { stdio: 'inherit' });
}
if (!existsSync(join(REPO, 'js/dist/widgets/index.js'))) throw new Error('js/dist/widgets is missing: run `npm run build` first');
const buf = readFileSync(framesFile);
// Messages per frame, counted with the package itself (derived events left out).
const tikcast = await import(join(REPO, 'js/dist/node.js'));
await tikcast.init();
const DERIVED = new Set(['follow', 'share', 'streamEnd', 'superFan', 'superFanJoin', 'superFanBox']);
const counts = splitFrames(buf).map((f) => tikcast.decodeFrame(f).events.filter((e) => !DERIVED.has(e.type)).length);
log(`${counts.length} frames, ${counts.reduce((a, b) => a + b, 0)} messages`);

// ------------------------------------------------------------------ the page

const ROOTS = [
  ['/pkg/', join(REPO, 'js/dist')],
  ['/', join(REPO, 'www')],
];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.bin': 'application/octet-stream' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = path === '/frames.bin' ? framesFile : null;
  for (const [prefix, root] of ROOTS) {
    if (file || !path.startsWith(prefix)) continue;
    const f = resolve(root, path.slice(prefix.length) || 'index.html');
    if (f.startsWith(root + sep)) file = f;
  }
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const WIDGETS = [
  ['chat', 'tikcast-chat', {}],
  ['gift-alerts', 'tikcast-gift-alerts', {}],
  ['goal', 'tikcast-goal', { metric: 'likes', target: '1000000' }],
  ['leaderboard', 'tikcast-leaderboard', {}],
  ['counter', 'tikcast-counter', { metric: 'viewers' }],
  ['alerts', 'tikcast-alerts', {}],
  ['battle', 'tikcast-battle', {}],
  ['event-log', 'tikcast-event-log', {}],
].filter(([name]) => !opt('--only') || opt('--only').split(',').includes(name));
const modes = args.includes('--no-worker') ? [false] : args.includes('--worker-only') ? [true] : [false, true];

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--enable-precise-memory-info'],
});
const rows = [];
for (const worker of modes) {
  for (const [name, tag, attrs] of WIDGETS) {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${base}/widget.html?embed=1&transparent=1`);
    const r = await page.evaluate(
      async ({ tag, attrs, counts, rate, seconds, worker }) => {
        const { TikTokLiveConnection } = await import('/pkg/index.js');
        await import('/pkg/widgets/index.js');
        const bytes = new Uint8Array(await (await fetch('/frames.bin')).arrayBuffer());
        const dv = new DataView(bytes.buffer);
        const frames = [];
        for (let at = 0; at + 4 <= bytes.length; at += 4 + dv.getUint32(at, true)) frames.push(bytes.slice(at + 4, at + 4 + dv.getUint32(at, true)));
        const conn = new TikTokLiveConnection('bench', { frames: true, worker });
        const w = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs)) w.setAttribute(k, v);
        w.connection = conn;
        document.body.append(w);
        await conn.connect();
        // Warm up: one second of frames, then measure.
        const loaf = [];
        const po = new PerformanceObserver((l) => loaf.push(...l.getEntries().map((e) => e.blockingDuration ?? e.duration)));
        try {
          po.observe({ type: 'long-animation-frame' });
        } catch {
          // Older Chromium: no long animation frames.
        }
        const heap0 = performance.memory?.usedJSHeapSize ?? 0;
        const deltas = [];
        let sent = 0;
        let next = 0;
        const t0 = performance.now();
        let last = t0;
        let running = true;
        const tick = (t) => {
          deltas.push(t - last);
          last = t;
          if (running) requestAnimationFrame(tick);
        };
        requestAnimationFrame((t) => {
          last = t;
          requestAnimationFrame(tick);
        });
        await new Promise((done) => {
          const pump = setInterval(() => {
            const elapsed = (performance.now() - t0) / 1000;
            while (sent < rate * elapsed && next < frames.length) {
              conn.pushFrame(frames[next]);
              sent += counts[next];
              next += 1;
            }
            if (elapsed >= seconds || next >= frames.length) {
              clearInterval(pump);
              done();
            }
          }, 5);
        });
        running = false;
        const elapsed = (performance.now() - t0) / 1000;
        await new Promise((r) => setTimeout(r, 200));
        po.disconnect();
        const heap1 = performance.memory?.usedJSHeapSize ?? 0;
        const nodes = w.shadowRoot.querySelectorAll('*').length;
        const stats = await conn.stats();
        conn.disconnect();
        return { deltas, loaf, sent, elapsed, heap0, heap1, nodes, delivered: stats.events ?? stats.delivered ?? null };
      },
      { tag, attrs, counts, rate, seconds, worker },
    );
    await page.close();
    const d = r.deltas.slice(10).sort((a, b) => a - b);
    const row = {
      widget: name,
      worker,
      rate: Math.round(r.sent / r.elapsed),
      frames: d.length,
      p50: percentile(d, 50),
      p99: percentile(d, 99),
      max: d.at(-1),
      over33: d.filter((x) => x > 33.4).length,
      loaf: r.loaf.length,
      loafMs: r.loaf.reduce((a, b) => a + b, 0),
      heapMB: (r.heap1 - r.heap0) / 1e6,
      nodes: r.nodes,
    };
    rows.push(row);
    log(JSON.stringify(row));
  }
}
await browser.close();
server.close();

const f = (x, n = 1) => (Number.isFinite(x) ? x.toFixed(n) : '–');
const load = () => (process.platform === 'linux' ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : '?');
const L = [];
L.push(`\n## Widgets under load (bench/widgets.mjs, ${new Date().toISOString().slice(0, 10)})\n`);
L.push(`Headless Chromium (${CHROMIUM}), 1920×1080 page, one widget on a \`frames: true\` connection fed \`make_frames.py\` frames (real captured messages) at ${rate} messages/s for ${seconds} s; frame time = interval between animation frames; LoAF = long animation frames (performance timeline, total blocking ms); heap = JS heap growth over the run. Load average at the end: ${load()} (2 cores shared with other work: read the p99 with that in mind).\n`);
L.push('| widget | decode | msg/s | frames | p50 ms | p99 ms | max ms | frames > 33 ms | LoAF (blocking ms) | heap Δ MB | shadow nodes |');
L.push('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  L.push(`| ${r.widget} | ${r.worker ? 'worker' : 'main'} | ${r.rate} | ${r.frames} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.over33} | ${r.loaf} (${f(r.loafMs, 0)}) | ${f(r.heapMB)} | ${r.nodes} |`);
}
const section = L.join('\n') + '\n';
console.log(section);
if (args.includes('--write')) appendFileSync(join(HERE, 'RESULTS.md'), section);
