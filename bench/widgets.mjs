// Frame times of each widget of tikcast/widgets under load: headless Chromium, a 1920×1080
// page, one widget listening to a `frames: true` connection fed the benchmark workload
// (../shared/bench/make_frames.py: real captured messages, live-room mix) at 2,000 messages
// per second, on the main thread (the widget page's default) and with `worker: true`.
// Frame times are the intervals between animation frames (requestAnimationFrame, on the
// page's performance timeline clock); long animation frames come from the performance
// timeline (PerformanceObserver 'long-animation-frame'); JS heap from performance.memory.
//
//   node bench/widgets.mjs [--seconds 10] [--rate 2000] [--warmup 1] [--only chat,goal] [--no-worker] [--write]
//     [--baseline] [--profile] [--set attr=value]
//   node bench/widgets.mjs --soak 3600 [--rate 500] [--sample 30] [--only chat] [--worker-only]   (memory)
//   node bench/widgets.mjs --soak-all 3600 [--rate 1000] [--sample 60] [--samples FILE] [--write]
//     (memory: every widget in one page on one connection; SIGTERM/SIGINT ends it early and
//     reports what it covered, labelled partial)
//
// Not part of `npm test`. Needs js/dist (npm run build) and the real captures
// ($TIKCAST_CORPUS, default ../shared/corpus) to make bench/data/frames-widgets.bin once;
// says SKIPPED without them. --write appends a section to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, createReadStream, statSync, writeFileSync } from 'node:fs';
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
const warmup = Number(opt('--warmup', 1));
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
// BENCH_DIST=DIR serves another build of the package (a copy of js/dist: before/after, or a
// long run that a rebuild must not change under it); BENCH_WWW=DIR another www/.
const DIST = resolve(process.env.BENCH_DIST || join(REPO, 'js/dist'));
if (!existsSync(join(DIST, 'widgets/index.js'))) throw new Error(`${DIST}/widgets is missing: run \`npm run build\` first`);
const buf = readFileSync(framesFile);
// Messages per frame, counted with the package itself (derived events left out).
const tikcast = await import(join(REPO, 'js/dist/node.js'));
await tikcast.init();
const DERIVED = new Set(['follow', 'share', 'streamEnd', 'superFan', 'superFanJoin', 'superFanBox']);
const counts = splitFrames(buf).map((f) => tikcast.decodeFrame(f).events.filter((e) => !DERIVED.has(e.type)).length);
log(`${counts.length} frames, ${counts.reduce((a, b) => a + b, 0)} messages`);

// ------------------------------------------------------------------ the page

const ROOTS = [
  ['/pkg/', DIST],
  ['/', resolve(process.env.BENCH_WWW || join(REPO, 'www'))],
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
  ['none', null, {}],
  ['chat', 'tikcast-chat', {}],
  ['gift-alerts', 'tikcast-gift-alerts', {}],
  ['goal', 'tikcast-goal', { metric: 'likes', target: '1000000' }],
  ['leaderboard', 'tikcast-leaderboard', {}],
  ['counter', 'tikcast-counter', { metric: 'viewers' }],
  ['alerts', 'tikcast-alerts', {}],
  ['battle', 'tikcast-battle', {}],
  ['event-log', 'tikcast-event-log', {}],
].filter(([name]) => (opt('--only') ? opt('--only').split(',').includes(name) : name !== 'none' || args.includes('--baseline')));
const profile = args.includes('--profile');
const profiles = [];
// --set name=value (repeatable): an attribute on every widget, e.g. --set max=20.
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--set') continue;
  const [k, ...v] = args[i + 1].split('=');
  for (const w of WIDGETS) w[2] = { ...w[2], [k]: v.join('=') };
}
const modes = args.includes('--no-worker') ? [false] : args.includes('--worker-only') ? [true] : [false, true];

// --profile: the renderer's main thread split by what it did (Chromium's trace: script,
// style recalculation, layout, paint, GC), and the JS part split by source file (a CDP
// CPU profile: the wasm decoder, the SDK, each widget module). BENCH_TRACE_DUMP=FILE keeps
// the trace events.
const STAGES = [
  [/^(UpdateLayoutTree|RecalculateStyles|ScheduleStyleRecalculation|ParseAuthorStyleSheet)$/, 'style'],
  [/^(Layout|UpdateLayout|InvalidateLayout|ScrollLayer)$/, 'layout'],
  [/^(Paint|PrePaint|Layerize|PaintImage|Decode Image|UpdateLayer|CompositeLayers|Commit|RasterTask)$/, 'paint'],
  [/GC|GCEvent|BlinkGC|V8\.GC/, 'gc'],
  [/^(FunctionCall|EvaluateScript|v8\.|V8\.|TimerFire|FireAnimationFrame|RunMicrotasks|EventDispatch|HandlePostMessage)/, 'script'],
];
const stageOf = (name) => STAGES.find(([re]) => re.test(name))?.[1] ?? 'other';
async function startProfile(page) {
  const browser = page.context().browser();
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute'] });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
  await cdp.send('Profiler.start');
  return {
    async stop() {
      const { profile: cpu } = await cdp.send('Profiler.stop');
      await cdp.detach();
      const trace = JSON.parse((await browser.stopTracing()).toString('utf8'));
      const events = trace.traceEvents ?? trace;
      if (process.env.BENCH_TRACE_DUMP) writeFileSync(process.env.BENCH_TRACE_DUMP, JSON.stringify(events));
      return { stages: traceSplit(events), files: cpuSplit(cpu) };
    },
  };
}
/** Self time (ms) by stage and by event name on the renderer main thread and the decoder's worker. */
function traceSplit(events) {
  const threads = (re) => new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && re.test(e.args?.name ?? '')).map((e) => `${e.pid}:${e.tid}`));
  const split = (keep) => {
    const xs = events.filter((e) => e.ph === 'X' && e.dur >= 0 && keep.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const byName = {};
    const byStage = {};
    let busy = 0;
    const stacks = new Map();
    const close = (stack, until) => {
      while (stack.length && stack.at(-1).end <= until) {
        const f = stack.pop();
        byName[f.name] = (byName[f.name] ?? 0) + f.self / 1000;
        byStage[stageOf(f.name)] = (byStage[stageOf(f.name)] ?? 0) + f.self / 1000;
      }
    };
    for (const e of xs) {
      const key = `${e.pid}:${e.tid}`;
      if (!stacks.has(key)) stacks.set(key, []);
      const stack = stacks.get(key);
      close(stack, e.ts);
      if (stack.length) stack.at(-1).self -= Math.min(e.dur, stack.at(-1).end - e.ts);
      else busy += e.dur / 1000;
      stack.push({ name: e.name, end: e.ts + e.dur, self: e.dur });
    }
    for (const stack of stacks.values()) close(stack, Infinity);
    const top = Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 10);
    return { busy, byStage, top };
  };
  return { main: split(threads(/^CrRendererMain$/)), worker: split(threads(/^DedicatedWorker/)) };
}
/** Sampled self time (ms) of the page's JS by source file (wasm = the decoder). */
function cpuSplit(cpu) {
  const nodes = new Map(cpu.nodes.map((n) => [n.id, n]));
  const byFile = {};
  for (let i = 0; i < cpu.samples.length; i++) {
    const n = nodes.get(cpu.samples[i]);
    const url = n?.callFrame.url ?? '';
    const fn = n?.callFrame.functionName ?? '';
    const file = url.startsWith('wasm:') ? 'wasm' : url ? url.replace(/^https?:\/\/[^/]+/, '') : fn || '(native)';
    byFile[file] = (byFile[file] ?? 0) + (cpu.timeDeltas[i] ?? 0) / 1000;
  }
  return Object.entries(byFile).sort((a, b) => b[1] - a[1]).slice(0, 12);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--enable-precise-memory-info'],
});

// --soak SECONDS: memory over a long run. Each widget listens to a connection fed the
// workload's frames in a loop at --rate messages/s (default 500; the session forgets
// message ids after 16, so every loop is new messages to the widgets) for SECONDS; every
// --sample seconds (default 30) the page is garbage-collected (CDP HeapProfiler) and its JS
// heap (Runtime.getHeapUsage), DOM node and listener counts (Memory.getDOMCounters) and the
// widget's shadow DOM size are read. Reports start, end and max and the slope of a least-
// squares line over the samples after the first minute (MB per hour).
async function soakWidget(name, tag, attrs, worker, soakSeconds, soakRate, every) {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${base}/widget.html?embed=1&transparent=1`);
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(
    async ({ tag, attrs, worker, counts, rate }) => {
      const { TikTokLiveConnection } = await import('/pkg/index.js');
      await import('/pkg/widgets/index.js');
      const bytes = new Uint8Array(await (await fetch('/frames.bin')).arrayBuffer());
      const dv = new DataView(bytes.buffer);
      const frames = [];
      for (let at = 0; at + 4 <= bytes.length; at += 4 + dv.getUint32(at, true)) frames.push(bytes.slice(at + 4, at + 4 + dv.getUint32(at, true)));
      const conn = new TikTokLiveConnection('soak', { frames: true, worker, dedupCapacity: 16 });
      const w = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) w.setAttribute(k, v);
      w.connection = conn;
      document.body.append(w);
      await conn.connect();
      let sent = 0;
      let next = 0;
      const t0 = performance.now();
      window.__soak = { sent: 0, events: 0, w };
      // Counts what reaches the widgets (the loop must not be eaten by duplicate detection).
      conn.on('decodedData', () => window.__soak.events++);
      window.__soakTimer = setInterval(() => {
        const due = (rate * (performance.now() - t0)) / 1000;
        while (sent < due) {
          conn.pushFrame(frames[next % frames.length]);
          sent += counts[next % frames.length];
          next += 1;
        }
        window.__soak.sent = sent;
      }, 10);
    },
    { tag, attrs, worker, counts, rate: soakRate },
  );
  const samples = [];
  const t0 = Date.now();
  for (;;) {
    const t = (Date.now() - t0) / 1000;
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const dom = await cdp.send('Memory.getDOMCounters');
    const shadow = await page.evaluate(() => ({ nodes: window.__soak.w.shadowRoot.querySelectorAll('*').length, sent: window.__soak.sent, events: window.__soak.events }));
    samples.push({ t, heapMB: usedSize / 1e6, nodes: dom.nodes, listeners: dom.jsEventListeners, shadow: shadow.nodes, sent: shadow.sent, events: shadow.events });
    log(`soak ${name}${worker ? ' (worker)' : ''} ${t.toFixed(0)} s: heap ${(usedSize / 1e6).toFixed(2)} MB, ${dom.nodes} nodes, ${dom.jsEventListeners} listeners, ${shadow.nodes} in the widget, ${shadow.sent} messages, ${shadow.events} events`);
    if (t >= soakSeconds) break;
    await new Promise((r) => setTimeout(r, Math.min(every, soakSeconds - t) * 1000));
  }
  await page.evaluate(() => clearInterval(window.__soakTimer));
  await page.close();
  const late = samples.filter((s) => s.t >= Math.min(60, soakSeconds / 3));
  const slope = (key) => {
    const n = late.length;
    if (n < 2) return NaN;
    const mt = late.reduce((a, s) => a + s.t, 0) / n;
    const mv = late.reduce((a, s) => a + s[key], 0) / n;
    const num = late.reduce((a, s) => a + (s.t - mt) * (s[key] - mv), 0);
    const den = late.reduce((a, s) => a + (s.t - mt) ** 2, 0);
    return (num / den) * 3600;
  };
  const pick = (key) => ({ start: samples[0][key], end: samples.at(-1)[key], max: Math.max(...samples.map((s) => s[key])), perHour: slope(key) });
  return { widget: name, worker, seconds: samples.at(-1).t, rate: samples.at(-1).sent / samples.at(-1).t, eventRate: samples.at(-1).events / samples.at(-1).t, heap: pick('heapMB'), nodes: pick('nodes'), listeners: pick('listeners'), shadow: pick('shadow') };
}

// --soak-all SECONDS: every widget (or --only's) in ONE 1920×1080 page, each in a box of its
// own size, all listening to ONE `frames: true` connection fed the workload's frames in a
// loop at --rate messages/s (default 1,000, about 10× a busy room). Every --sample seconds
// (default 60) after a forced GC: the page's JS heap, DOM nodes and listeners, and each
// widget's shadow DOM node count; each sample is also a JSON line in --samples FILE as it
// is taken. SIGTERM or SIGINT stops the run at the next sample and reports what it covered.
async function soakAll(soakSeconds, soakRate, every) {
  const tags = WIDGETS.filter(([, tag]) => tag);
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${base}/widget.html?embed=1&transparent=1`);
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(
    async ({ tags, counts, rate }) => {
      const { TikTokLiveConnection } = await import('/pkg/index.js');
      await import('/pkg/widgets/index.js');
      const bytes = new Uint8Array(await (await fetch('/frames.bin')).arrayBuffer());
      const dv = new DataView(bytes.buffer);
      const frames = [];
      for (let at = 0; at + 4 <= bytes.length; at += 4 + dv.getUint32(at, true)) frames.push(bytes.slice(at + 4, at + 4 + dv.getUint32(at, true)));
      const conn = new TikTokLiveConnection('soak', { frames: true, dedupCapacity: 16 });
      document.body.style.cssText = 'margin: 0; display: grid; grid-template-columns: repeat(4, 480px); grid-auto-rows: 540px;';
      const widgets = {};
      for (const [name, tag, attrs] of tags) {
        const box = document.createElement('div');
        box.style.cssText = 'overflow: hidden; contain: strict;';
        const w = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs)) w.setAttribute(k, v);
        w.style.cssText = 'height: 100%;';
        w.connection = conn;
        box.append(w);
        document.body.append(box);
        widgets[name] = w;
      }
      await conn.connect();
      let sent = 0;
      let next = 0;
      const t0 = performance.now();
      window.__soak = { sent: 0, events: 0, widgets };
      conn.on('decodedData', () => window.__soak.events++);
      window.__soakTimer = setInterval(() => {
        const due = (rate * (performance.now() - t0)) / 1000;
        while (sent < due) {
          conn.pushFrame(frames[next % frames.length]);
          sent += counts[next % frames.length];
          next += 1;
        }
        window.__soak.sent = sent;
      }, 10);
    },
    { tags, counts, rate: soakRate },
  );
  let stop = null;
  let wake = () => {};
  const onSignal = (sig) => {
    stop = sig;
    log(`${sig}: stopping at the next sample`);
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const samplesFile = opt('--samples');
  const samples = [];
  const t0 = Date.now();
  for (;;) {
    const t = (Date.now() - t0) / 1000;
    // Twice: the first collection frees the wrappers, the second the DOM nodes they held.
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const dom = await cdp.send('Memory.getDOMCounters');
    const p = await page.evaluate(() => ({
      sent: window.__soak.sent,
      events: window.__soak.events,
      shadow: Object.fromEntries(Object.entries(window.__soak.widgets).map(([k, w]) => [k, w.shadowRoot.querySelectorAll('*').length])),
    }));
    const sample = { t, at: new Date().toISOString(), heapMB: usedSize / 1e6, nodes: dom.nodes, listeners: dom.jsEventListeners, sent: p.sent, events: p.events, shadow: p.shadow };
    samples.push(sample);
    if (samplesFile) appendFileSync(samplesFile, JSON.stringify(sample) + '\n');
    log(`soak-all ${t.toFixed(0)} s: heap ${sample.heapMB.toFixed(2)} MB, ${dom.nodes} nodes, ${dom.jsEventListeners} listeners, ${p.sent} messages, ${p.events} events; ${Object.entries(p.shadow).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (t >= soakSeconds || stop) break;
    await new Promise((r) => {
      wake = r;
      setTimeout(r, Math.min(every, soakSeconds - t) * 1000);
    });
  }
  await page.evaluate(() => clearInterval(window.__soakTimer));
  await page.close();
  // The slope over the samples after the first minute (warm-up: lists filling to their caps).
  const late = samples.filter((s) => s.t >= Math.min(60, soakSeconds / 3));
  const slopeOf = (get) => {
    const n = late.length;
    if (n < 2) return NaN;
    const mt = late.reduce((a, s) => a + s.t, 0) / n;
    const mv = late.reduce((a, s) => a + get(s), 0) / n;
    const num = late.reduce((a, s) => a + (s.t - mt) * (get(s) - mv), 0);
    const den = late.reduce((a, s) => a + (s.t - mt) ** 2, 0);
    return (num / den) * 3600;
  };
  const pick = (get) => ({ start: get(samples[0]), end: get(samples.at(-1)), max: Math.max(...samples.map(get)), perHour: slopeOf(get) });
  const last = samples.at(-1);
  return {
    seconds: last.t,
    samples: samples.length,
    stoppedBy: stop,
    rate: last.sent / last.t,
    eventRate: last.events / last.t,
    heap: pick((s) => s.heapMB),
    nodes: pick((s) => s.nodes),
    listeners: pick((s) => s.listeners),
    widgets: Object.keys(last.shadow).map((k) => ({ widget: k, ...pick((s) => s.shadow[k]) })),
    from: samples[0].at,
    to: last.at,
  };
}

const soakAllSeconds = Number(opt('--soak-all', 0));
if (soakAllSeconds > 0) {
  const soakRate = Number(opt('--rate', 1000));
  const every = Number(opt('--sample', 60));
  const r = await soakAll(soakAllSeconds, soakRate, every);
  await browser.close();
  server.close();
  const f = (x, n = 2) => (Number.isFinite(x) ? x.toFixed(n) : '–');
  const load = process.platform === 'linux' ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : '?';
  const covered = `${f(r.seconds / 60, 1)} minutes, ${r.samples} samples${r.stoppedBy ? ` (stopped by ${r.stoppedBy} before the ${soakAllSeconds} s asked: partial)` : ''}`;
  const L = [];
  L.push(`\n## Widgets: memory with every widget in one page (bench/widgets.mjs --soak-all ${soakAllSeconds}, ${r.from.slice(0, 16).replace('T', ' ')} to ${r.to.slice(11, 16)} UTC)\n`);
  L.push(`Headless Chromium, one 1920×1080 page holding ${r.widgets.length} widgets (480×540 boxes), all on one \`frames: true\` connection fed the workload's frames in a loop at ${soakRate} messages/s (measured ${f(r.rate, 0)} msg/s, ${f(r.eventRate, 0)} events/s), main-thread decoding; sampled every ${every} s after forced GCs (CDP HeapProfiler.collectGarbage twice; Runtime.getHeapUsage, Memory.getDOMCounters). Covered: ${covered}. Slope: least squares over the samples after the first minute, per hour. Load average at the end: ${load}.\n`);
  L.push('| what | start | end | max | slope per hour |');
  L.push('|---|---|---|---|---|');
  L.push(`| page JS heap (MB) | ${f(r.heap.start)} | ${f(r.heap.end)} | ${f(r.heap.max)} | ${f(r.heap.perHour)} |`);
  L.push(`| page DOM nodes | ${r.nodes.start} | ${r.nodes.end} | ${r.nodes.max} | ${f(r.nodes.perHour, 0)} |`);
  L.push(`| page JS event listeners | ${r.listeners.start} | ${r.listeners.end} | ${r.listeners.max} | ${f(r.listeners.perHour, 1)} |`);
  for (const w of r.widgets) L.push(`| ${w.widget}: shadow DOM nodes | ${w.start} | ${w.end} | ${w.max} | ${f(w.perHour, 1)} |`);
  const section = L.join('\n') + '\n';
  console.log(section);
  if (args.includes('--write')) appendFileSync(join(HERE, 'RESULTS.md'), section);
  process.exit(0);
}

const soakSeconds = Number(opt('--soak', 0));
if (soakSeconds > 0) {
  const soakRate = Number(opt('--rate', 500));
  const every = Number(opt('--sample', 30));
  const results = [];
  // One mode: the main thread, or the worker with --worker-only.
  for (const worker of modes.slice(0, 1)) {
    for (const [name, tag, attrs] of WIDGETS) {
      if (!tag) continue;
      results.push(await soakWidget(name, tag, attrs, worker, soakSeconds, soakRate, every));
    }
  }
  await browser.close();
  server.close();
  const f = (x, n = 2) => (Number.isFinite(x) ? x.toFixed(n) : '–');
  const L = [];
  L.push(`\n## Widgets: memory over a long run (bench/widgets.mjs --soak ${soakSeconds}, ${new Date().toISOString().slice(0, 10)})\n`);
  L.push(`Headless Chromium, 1920×1080 page, one widget per page on a \`frames: true\` connection fed the workload's frames in a loop at ${soakRate} messages/s for ${soakSeconds} s, sampled every ${every} s after a forced GC (CDP). Slope: least squares over the samples after the first minute, per hour.\n`);
  L.push('| widget | decode | msg/s (events/s) | JS heap MB start / end / max | heap slope MB/h | DOM nodes start / end / max | nodes slope /h | listeners end | widget nodes end / max |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    L.push(`| ${r.widget} | ${r.worker ? 'worker' : 'main'} | ${f(r.rate, 0)} (${f(r.eventRate, 0)}) | ${f(r.heap.start)} / ${f(r.heap.end)} / ${f(r.heap.max)} | ${f(r.heap.perHour)} | ${r.nodes.start} / ${r.nodes.end} / ${r.nodes.max} | ${f(r.nodes.perHour, 0)} | ${r.listeners.end} | ${r.shadow.end} / ${r.shadow.max} |`);
  }
  const section = L.join('\n') + '\n';
  console.log(section);
  if (args.includes('--write')) appendFileSync(join(HERE, 'RESULTS.md'), section);
  process.exit(0);
}

const rows = [];
for (const worker of modes) {
  for (const [name, tag, attrs] of WIDGETS) {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${base}/widget.html?embed=1&transparent=1`);
    await page.evaluate(
      async ({ tag, attrs, worker }) => {
        const { TikTokLiveConnection } = await import('/pkg/index.js');
        await import('/pkg/widgets/index.js');
        const bytes = new Uint8Array(await (await fetch('/frames.bin')).arrayBuffer());
        const dv = new DataView(bytes.buffer);
        const frames = [];
        for (let at = 0; at + 4 <= bytes.length; at += 4 + dv.getUint32(at, true)) frames.push(bytes.slice(at + 4, at + 4 + dv.getUint32(at, true)));
        const conn = new TikTokLiveConnection('bench', { frames: true, worker });
        let w = null;
        if (tag) {
          w = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs)) w.setAttribute(k, v);
          w.connection = conn;
          document.body.append(w);
        } else {
          // The baseline: the same connection and events with no widget (one listener, so
          // every event is decoded and delivered as it is to a widget).
          conn.on('decodedData', () => {});
        }
        await conn.connect();
        window.__bench = { conn, w, frames };
      },
      { tag, attrs, worker },
    );
    const prof = profile ? await startProfile(page) : null;
    const r = await page.evaluate(
      async ({ counts, rate, seconds, warmup }) => {
        const { conn, w, frames } = window.__bench;
        const loaf = [];
        const po = new PerformanceObserver((l) => loaf.push(...l.getEntries().map((e) => e.blockingDuration ?? e.duration)));
        try {
          po.observe({ type: 'long-animation-frame' });
        } catch {
          // Older Chromium: no long animation frames.
        }
        let heap0 = 0;
        const deltas = [];
        let sent = 0;
        let next = 0;
        let t0 = performance.now();
        let last = t0;
        let running = true;
        // The first `warmup` seconds (JIT, caches, the widget's first lines) are not counted.
        let warm = warmup <= 0;
        const tick = (t) => {
          if (warm) deltas.push(t - last);
          last = t;
          if (running) requestAnimationFrame(tick);
        };
        requestAnimationFrame((t) => {
          last = t;
          requestAnimationFrame(tick);
        });
        await new Promise((done) => {
          const pump = setInterval(() => {
            let elapsed = (performance.now() - t0) / 1000;
            if (!warm && elapsed >= warmup) {
              warm = true;
              t0 += warmup * 1000;
              elapsed -= warmup;
              sent -= rate * warmup;
              heap0 = performance.memory?.usedJSHeapSize ?? 0;
              loaf.length = 0;
            }
            while (sent < rate * elapsed && next < frames.length) {
              conn.pushFrame(frames[next]);
              sent += counts[next];
              next += 1;
            }
            if ((warm && elapsed >= seconds) || next >= frames.length) {
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
        const nodes = w ? w.shadowRoot.querySelectorAll('*').length : 0;
        const stats = await conn.stats();
        conn.disconnect();
        return { deltas, loaf, sent, elapsed, heap0, heap1, nodes, delivered: stats.events ?? stats.delivered ?? null };
      },
      { counts, rate, seconds, warmup },
    );
    if (prof) profiles.push({ widget: name, worker, ...(await prof.stop()), seconds: r.elapsed });
    await page.close();
    const d = r.deltas.slice().sort((a, b) => a - b);
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
if (profiles.length) {
  L.push('\nWhere the time went (--profile; ms per second of run; main = the renderer main thread, by trace self time; worker = the decoder\'s worker):\n');
  L.push('| widget | decode | main busy | script | style | layout | paint | gc | other | worker busy | top trace events | top JS files (sampled) |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of profiles) {
    const per = (x) => f((x ?? 0) / p.seconds, 0);
    const m = p.stages.main;
    L.push(`| ${p.widget} | ${p.worker ? 'worker' : 'main'} | ${per(m.busy)} | ${per(m.byStage.script)} | ${per(m.byStage.style)} | ${per(m.byStage.layout)} | ${per(m.byStage.paint)} | ${per(m.byStage.gc)} | ${per(m.byStage.other)} | ${per(p.stages.worker.busy)} | ${m.top.slice(0, 5).map(([k, v]) => `${k} ${per(v)}`).join(', ')} | ${p.files.slice(0, 5).map(([k, v]) => `${k} ${per(v)}`).join(', ')} |`);
  }
}
const section = L.join('\n') + '\n';
console.log(section);
if (args.includes('--write')) appendFileSync(join(HERE, 'RESULTS.md'), section);
