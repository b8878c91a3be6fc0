// `npm run bench` (via scripts/bench.sh): every measurement, then one section appended to
// bench/RESULTS.md. Options: --quick (fewer rounds, for trying the harness), --no-write.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, appendFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..');
const quick = process.argv.includes('--quick');
const write = !process.argv.includes('--no-write');
const corpus = resolve(REPO, process.env.TIKCAST_CORPUS ?? '../shared/corpus');
const makeFrames = resolve(REPO, '../shared/bench/make_frames.py');
const log = (...a) => console.error('[bench]', ...a);
const uptime = () => execFileSync('uptime').toString().trim().replace(/^.*load average: /, '');

if (!existsSync(corpus) || !readdirSync(corpus).some((f) => f.endsWith('.json'))) {
  console.error(`\nSKIPPED: no corpus at ${corpus} (set TIKCAST_CORPUS to the directory of real captures). Nothing was measured.\n`);
  process.exit(0);
}
if (!existsSync(makeFrames)) {
  console.error(`\nSKIPPED: no workload generator at ${makeFrames}. Nothing was measured.\n`);
  process.exit(0);
}
const data = join(HERE, 'data');
const main = join(data, 'frames.bin');
const chat = join(data, 'frames-chat.bin');
const gift = join(data, 'frames-gift.bin');
const gen = (cmd, args, out) => {
  if (existsSync(out)) return;
  log('generating', out);
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
};
execFileSync('mkdir', ['-p', data]);
gen('python3', [makeFrames, corpus, main, '2000', '1'], main);
gen('python3', [join(HERE, 'make_variant.py'), corpus, chat, 'chat', '2000', '1'], chat);
gen('python3', [join(HERE, 'make_variant.py'), corpus, gift, 'gift', '2000', '1'], gift);

const steps = [];
const step = (name, fn) => {
  const before = uptime();
  log(`${name} (load ${before})`);
  const t0 = Date.now();
  const r = fn();
  steps.push({ name, before, after: uptime(), seconds: (Date.now() - t0) / 1000 });
  return r;
};
const node = (args) => {
  const r = spawnSync(process.execPath, ['--expose-gc', ...args], { cwd: HERE, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
  return JSON.parse(r.stdout.toString());
};
const R = quick ? { main: 2, variants: 1, limit: 500, mem: 200_000, startup: 3, lat: 4 } : { main: 5, variants: 3, limit: 2000, mem: 1_000_000, startup: 9, lat: 10 };

const nodeMain = step('node throughput, live-room mix', () => node(['node-throughput.mjs', main, '--rounds', R.main, '--limit', R.limit].map(String)));
const nodeVariants = {
  chat: step('node throughput, chat-heavy', () => node(['node-throughput.mjs', chat, '--rounds', R.variants, '--limit', Math.min(R.limit, 1000)].map(String))),
  gift: step('node throughput, gift-heavy', () => node(['node-throughput.mjs', gift, '--rounds', R.variants, '--limit', Math.min(R.limit, 1000)].map(String))),
};
const nodeMem = {
  tikcast: step('node memory, tikcast', () => node(['node-memory.mjs', main, 'tikcast', String(R.mem)])),
  peer: step('node memory, peer', () => node(['node-memory.mjs', main, 'peer', String(R.mem)])),
};
const browser = step('chromium: throughput, start-up, latency, memory', () => node(['run-browser.mjs', '--frames', main, '--variants', `${chat},${gift}`,
  '--rounds', R.main, '--variant-rounds', R.variants, '--limit', R.limit, '--startup', R.startup, '--latency-seconds', R.lat, '--memory', R.mem].map(String)));
const size = step('size', () => node(['size.mjs']));

// Native (criterion, run by scripts/bench.sh just before): medians per 200-frame iteration.
const native = {};
const crit = join(REPO, 'target/criterion/workload');
if (existsSync(crit)) {
  for (const d of readdirSync(crit)) {
    const f = join(crit, d, 'new/estimates.json');
    if (existsSync(f) && Date.now() - statSync(f).mtimeMs < 6 * 3600e3) native[d] = 200 / (JSON.parse(readFileSync(f)).median.point_estimate / 1e9);
  }
}

// ---- the markdown section ----
const fmt = (x, d = 0) => (x == null || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b) => (a && b ? `**${fmt(a / b, 2)}×**` : '–');
const c = (r, k) => r.contenders[k];
const L = [];
const sha = (() => { try { return execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).toString().trim(); } catch { return '?'; } })();
const dirty = (() => { try { return execFileSync('git', ['-C', REPO, 'status', '--porcelain']).toString().trim() ? ' + uncommitted changes' : ''; } catch { return ''; } })();
const cpu = (os.cpus()[0]?.model ?? '?').trim();
L.push(`## Decoders compared: tikcast vs tiktok-live-proto (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)${quick ? ' — quick run' : ''}`, '');
L.push('```sh', 'npm run bench', '```', '');
L.push(`- Machine: ${cpu}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM; Node ${process.version}, Chromium ${browser.chromium}; tikcast ${sha}${dirty}.`);
L.push(`- Workload: \`make_frames.py\` (live-room mix) ${nodeMain.frames} frames, ${fmt(nodeMain.messages)} messages, ${fmt(nodeMain.inflatedBytes / 1e6, 1)} MB inflated; chat-heavy and gift-heavy variants from \`bench/make_variant.py\` (first ${fmt(nodeVariants.chat.frames)} frames each). Peer: tiktok-live-proto 0.2.4 (v3 schema) + @bufbuild/protobuf, gunzip by \`node:zlib\` in Node and \`fflate\` in the page (DecompressionStream measured too).`);
L.push(`- Each figure is the median of ${R.main} rounds (${R.variants} for the variants); every round runs every contender on the same frames in the same process/page, in rotated order. Ratios compare figures of the same run.`);
L.push('- Load average (1/5/15 min) before → after each step (2 cores, other work may have been running; nothing isolates the benchmark):', '');
for (const s of steps) L.push(`  - ${s.name}: ${s.before} → ${s.after} (${fmt(s.seconds)} s)`);
L.push('');
const table = (title, r, peerFull, peerFilt) => {
  L.push(`### ${title}`, '');
  L.push('| contender | frames/s | messages/s | vs peer | objects out |', '|---|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(r.contenders)) {
    const base = /filtered|chat\+gift/.test(k) ? c(r, peerFilt) : c(r, peerFull);
    const vs = k.startsWith('tikcast') ? ratio(v.framesPerSec, base?.framesPerSec) : '';
    L.push(`| ${k} | ${fmt(v.framesPerSec)} | ${fmt(v.messagesPerSec)} | ${vs} | ${k.startsWith('gunzip') ? fmt(v.output / 1e6, 0) + ' MB' : fmt(v.output)} |`);
  }
  L.push('');
};
table(`Throughput in Node ${nodeMain.node}, live-room mix`, nodeMain, 'peer full', 'peer filtered');
for (const [k, r] of Object.entries(nodeVariants)) table(`Throughput in Node, ${k}-heavy`, r, 'peer full', 'peer filtered');
const bt = browser.throughput ?? {};
for (const [k, r] of Object.entries(bt)) table(`Throughput in Chromium, ${k === 'main' ? 'live-room mix' : k}`, r, 'peer full', 'peer filtered');
L.push('"objects out" counts what reached the application: tikcast\'s session delivers one `gift` per finished streak (plus `giftStreak` updates) and derived events (`follow`, `share`, ...), and decodes every method it knows (96); the peer decodes the 62 of them its schema has and skips the rest. "messages/s" is input messages (the same file) per second for every row. Filtered = chat + gift only (tikcast: listener-aware skipping with `chat` and `gift` listeners; peer: only those two payloads decoded). `probe:` rows are diagnostics (`bench/wasm-probe`): tikcast-core in wasm with raw exports and no JS objects.', '');
if (Object.keys(native).length) {
  L.push('### Native tikcast-core (criterion, `cargo bench -p tikcast-core --bench decode`, first 200 frames)', '');
  L.push('| bench | frames/s | wasm SDK in Node / native |', '|---|---:|---:|');
  const wasmOf = { 'decode_frame full': 'tikcast decodeFrame', 'session full': 'tikcast full', 'session chat+gift': 'tikcast filtered' };
  for (const [k, v] of Object.entries(native)) L.push(`| ${k} | ${fmt(v)} | ${wasmOf[k] ? fmt(c(nodeMain, wasmOf[k]).framesPerSec / v, 2) : ''} |`);
  L.push('');
}
const s = size;
const row = (n, x) => `| ${n} | ${fmt(x.raw)} | ${fmt(x.gzip)} | ${fmt(x.brotli)} |`;
L.push('### Size (bytes)', '', '| what | raw | gzip -9 | brotli 11 |', '|---|---:|---:|---:|');
L.push(row('tikcast `.wasm`', s.tikcast.wasm), row('tikcast wasm-bindgen glue', s.tikcast.glue), row('**tikcast `.wasm` + glue**', s.tikcast.wasmPlusGlue),
  row('tikcast whole package JS bundled (esbuild, minified) + `.wasm`', s.tikcast.packagePlusWasm),
  row(`**peer, same events** (${s.methods.peerHas} of our ${s.methods.ours} methods its schema has, push frame, fetch result, fflate; esbuild minified, browser)`, s.peer.sameEvents),
  row('peer, chat + gift only', s.peer.chatAndGiftOnly), row('peer, whole v3 schema', s.peer.wholeV3Schema));
L.push('', `tikcast .wasm + glue / peer (same events), gzip: **${fmt(s.tikcast.wasmPlusGlue.gzip / s.peer.sameEvents.gzip, 2)}×**; target ≤ 60 kB gzip: ${s.tikcast.wasmPlusGlue.gzip <= 60000 ? 'holds' : `missed by ${fmt(s.tikcast.wasmPlusGlue.gzip - 60000)} bytes (${fmt(s.tikcast.wasmPlusGlue.gzip / 60000, 2)}×)`}.`, '');
if (browser.startup) {
  const st = browser.startup;
  L.push('### Start-up in Chromium (import → first decoded event, fresh context each, ms)', '');
  L.push('| contender | median | samples |', '|---|---:|---|');
  for (const w of ['tikcast', 'peer']) L.push(`| ${w} | ${fmt(st[w].median, 1)} | ${st[w].samples.map((x) => fmt(x, 1)).join(', ')} |`);
  L.push('', `tikcast / peer: ${fmt(st.tikcast.median / st.peer.median, 2)}× (tikcast: fetch + compile + instantiate the .wasm, then the first frame; peer: parse the JS bundle, then the first frame).`, '');
}
if (browser.latency) {
  const lt = browser.latency;
  L.push(`### Latency in Chromium (frame arrival → listener call, ms; ${fmt(lt.tikcast.server.messagesPerSec)} messages/s over a local WebSocket, workload frames)`, '');
  L.push('| contender | p50 | p90 | p99 | max | listener calls | whole-frame decode p50 / p99 |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const w of ['tikcast', 'peer']) {
    const e = lt[w].events, f = lt[w].frames;
    L.push(`| ${w} | ${fmt(e.p50, 2)} | ${fmt(e.p90, 2)} | ${fmt(e.p99, 2)} | ${fmt(e.max, 2)} | ${fmt(e.n)} | ${fmt(f.p50, 2)} / ${fmt(f.p99, 2)} |`);
  }
  L.push('', 'Arrival = the start of the page\'s `onmessage`; the frame goes to `pushFrame` (tikcast) or the peer\'s decode, and each listener call records the time since. `performance.now()` in Chromium is coarsened to 0.1 ms (5 µs cross-origin-isolated). Each frame carries ~40 messages (137 kB inflated): a listener call waits for its whole frame to be inflated and decoded, so p99 is about the decode time of the largest frames.', '');
}
const memRows = (label, m) => {
  const ss = m.samples;
  const warm = ss[Math.min(1, ss.length - 1)], last = ss[ss.length - 1];
  const mb = (x) => (x == null ? '–' : fmt(x / 2 ** 20, 2));
  L.push(`| ${label} | ${fmt(last.messages)} | ${mb(warm.jsHeap)} → ${mb(last.jsHeap)} | ${mb(warm.wasmMemory)} → ${mb(last.wasmMemory)} |`);
};
L.push('### Memory (MiB after a forced GC; after warm-up (2nd sample) → at the end)', '', '| run | messages | JS heap | wasm memory |', '|---|---:|---:|---:|');
memRows('Node, tikcast (`decodedData` listener)', nodeMem.tikcast);
memRows('Node, peer (wasm column: tikcast module idle)', nodeMem.peer);
if (browser.memory) { memRows('Chromium, tikcast', browser.memory.tikcast); memRows('Chromium, peer', browser.memory.peer); }
L.push('');
L.push('<details><summary>raw results (JSON)</summary>', '', '```json', JSON.stringify({ nodeMain, nodeVariants, nodeMem, browser, size, native }), '```', '', '</details>', '');
const md = L.join('\n');
if (write) appendFileSync(join(HERE, 'RESULTS.md'), '\n' + md);
console.log(md);
