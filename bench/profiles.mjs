// Compares builds of the wasm module made by bench/profiles.sh, all in one process and
// the same rounds (bench/lib/variants.mjs), in Node and in headless Chromium.
// Usage: node profiles.mjs DIR... [--rounds 5] [--limit 400]   (DIR = target/profiles/NAME)
// → a markdown table on stdout (frames/s and the ratio to the peer's same path).
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import * as proto from 'tiktok-live-proto/v3';
import { HERE, REPO, TYPES, buildPeer, cli, launchChromium, listen } from './lib/cli.mjs';
import { splitFrames } from './lib/frames.mjs';
import { contenders, race } from './lib/variants.mjs';

const { num, positional } = cli();
const dirs = positional.map((d) => resolve(d));
const rounds = num('--rounds', 5);
const limit = num('--limit', 400);
const frames = splitFrames(readFileSync(join(HERE, 'data/frames.bin'))).slice(0, limit);
const log = (...a) => console.error('[profiles]', ...a);

// Node.
const glues = [];
for (const d of dirs) {
  const glue = await import(pathToFileURL(join(d, 'tikcast_wasm.js')).href + `?${basename(d)}`);
  glue.initSync({ module: readFileSync(join(d, 'tikcast_wasm_bg.wasm')) });
  glues.push({ name: basename(d), glue });
}
log(`node: ${glues.length} builds, ${frames.length} frames, ${rounds} rounds`);
const node = await race(contenders(glues, proto, (b) => gunzipSync(b), frames), frames, rounds, globalThis.gc);

// Chromium: the same module, served with the builds and the peer's bundle.
await buildPeer(esbuild);
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>profiles</title>');
  const f = join(REPO, path);
  const ok = f.startsWith(REPO) && (path.startsWith('/bench/') || path.startsWith('/target/profiles/')) && existsSync(f);
  if (!ok) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(readFileSync(f));
});
const origin = await listen(server);
const browser = await launchChromium(chromium);
let chrome;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(`${origin}/`);
  log(`chromium: ${glues.length} builds`);
  chrome = await page.evaluate(async ([urls, limit, rounds]) => {
    const { proto, gunzipSync } = await import('/bench/dist/peer.js');
    const { splitFrames } = await import('/bench/lib/frames.mjs');
    const { contenders, race } = await import('/bench/lib/variants.mjs');
    const glues = [];
    for (const u of urls) {
      const glue = await import(`${u}/tikcast_wasm.js`);
      await glue.default({ module_or_path: `${u}/tikcast_wasm_bg.wasm` });
      glues.push({ name: u.split('/').pop(), glue });
    }
    const frames = splitFrames(await (await fetch('/bench/data/frames.bin')).arrayBuffer()).slice(0, limit);
    return race(contenders(glues, proto, (b) => gunzipSync(b), frames), frames, rounds, globalThis.gc);
  }, [dirs.map((d) => '/' + d.slice(REPO.length + 1)), limit, rounds]);
} finally {
  await browser.close();
  server.close();
}

const size = (d) => {
  const b = readFileSync(join(d, 'tikcast_wasm_bg.wasm'));
  return [b.length, gzipSync(b, { level: 9 }).length];
};
const cell = (res, a, b) => `${Math.round(res[a].framesPerSec)} = ${(res[a].framesPerSec / res[b].framesPerSec).toFixed(2)}×`;
console.log(`${frames.length} frames, ${rounds} rounds, medians; frames/s = ratio to the peer (decodeFrame and session full vs peer full, chat+gift vs peer filtered); load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log('');
console.log('| build | .wasm raw | gzip | Node decodeFrame | Node session full | Node chat+gift | Chromium decodeFrame | Chromium session full | Chromium chat+gift |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const d of dirs) {
  const n = basename(d);
  const [raw, gz] = size(d);
  console.log(`| ${n} | ${raw} | ${gz} | ${cell(node, `${n}: decodeFrame`, 'peer full')} | ${cell(node, `${n}: session full`, 'peer full')} | ${cell(node, `${n}: session chat+gift`, 'peer filtered')} | ${cell(chrome, `${n}: decodeFrame`, 'peer full')} | ${cell(chrome, `${n}: session full`, 'peer full')} | ${cell(chrome, `${n}: session chat+gift`, 'peer filtered')} |`);
}
console.log('');
console.log(`peer: Node full ${Math.round(node['peer full'].framesPerSec)}, filtered ${Math.round(node['peer filtered'].framesPerSec)} frames/s; Chromium full ${Math.round(chrome['peer full'].framesPerSec)}, filtered ${Math.round(chrome['peer filtered'].framesPerSec)}`);
