// Per-layer cost of a frame in Node and headless Chromium (bench/lib/layers.mjs): how
// much the session and the SDK facade add to the raw decode. A diagnostic, not part of
// `npm run bench`. Usage: node layers.mjs [FRAMES.bin] [--frames 800] [--rounds 7]
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as sdk from '../js/dist/node.js';
import * as glue from '../js/dist/wasm/tikcast_wasm.js';
import { splitFrames } from './lib/frames.mjs';
import { layers } from './lib/layers.mjs';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const file = resolve(args[0] && !args[0].startsWith('--') ? args[0] : join(REPO, 'bench/data/frames.bin'));
const count = opt('--frames', 800);
const rounds = opt('--rounds', 7);
if (!existsSync(file)) {
  console.error(`no workload at ${file}: run \`npm run bench\` once (it makes bench/data/frames.bin)`);
  process.exit(1);
}
const frames = splitFrames(readFileSync(file)).slice(0, count);

// bench/floor.sh's builds at the shipped opt-level, when they exist.
const FLOOR = join(REPO, 'target/wasm-floor/opt');
const floorFiles = {
  'floor: inflate only (zlib-rs, no protobuf)': 'inflate__zlib_rs__s.wasm',
  'floor: decode into a digest (no session, no JS objects)': 'decoder__zlib_rs_s.wasm',
  'floor: session + decode into a digest (no JS objects)': 'decoder___session__zlib_rs_s.wasm',
};
const floor = {};
for (const [label, f] of Object.entries(floorFiles)) {
  if (existsSync(join(FLOOR, f))) floor[label] = readFileSync(join(FLOOR, f));
}
if (!Object.keys(floor).length) console.error('no bench/floor.sh builds: run `bash bench/floor.sh` for the floor rows');

await sdk.init();
const node = await layers(glue, sdk, frames, rounds, floor);

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>layers</title>');
  if (path === '/frames.bin') return res.writeHead(200).end(readFileSync(file));
  const f = join(REPO, path);
  if (!f.startsWith(REPO) || !(path.startsWith('/js/dist/') || path.startsWith('/bench/lib/')) || !existsSync(f)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
let page;
try {
  const p = await browser.newPage();
  await p.goto(`http://127.0.0.1:${server.address().port}/`);
  const floorB64 = Object.fromEntries(Object.entries(floor).map(([k, v]) => [k, v.toString('base64')]));
  page = await p.evaluate(async ([count, rounds, floorB64]) => {
    const glue = await import('/js/dist/wasm/tikcast_wasm.js');
    await glue.default({ module_or_path: '/js/dist/wasm/tikcast_wasm_bg.wasm' });
    const sdk = await import('/js/dist/index.js');
    await sdk.init();
    const { splitFrames } = await import('/bench/lib/frames.mjs');
    const { layers } = await import('/bench/lib/layers.mjs');
    const frames = splitFrames(await (await fetch('/frames.bin')).arrayBuffer()).slice(0, count);
    const floor = Object.fromEntries(
      Object.entries(floorB64).map(([k, v]) => [k, Uint8Array.from(atob(v), (c) => c.charCodeAt(0))]),
    );
    return layers(glue, sdk, frames, rounds, floor);
  }, [count, rounds, floorB64]);
} finally {
  await browser.close();
  server.close();
}
console.log(`${frames.length} frames of ${file}, median of ${rounds} rounds, ms per frame:`);
console.log('| layer | Node | Chromium |\n|---|---:|---:|');
for (const k of Object.keys(node)) console.log(`| ${k} | ${node[k].toFixed(3)} | ${page[k].toFixed(3)} |`);
