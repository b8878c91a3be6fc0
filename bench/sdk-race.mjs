// The SDK's path (`TikTokLiveConnection`, frames transport, as bench/run.mjs's "tikcast
// full/filtered" rows) of two or more builds of the whole package in one Chromium page,
// with the peer, round by round (bench/lib/variants.mjs's race): a before/after of a change
// to the TypeScript facade or the module that the figures of two separate runs would hide
// in the machine's drift.
// Usage: node sdk-race.mjs DIST... [--rounds 7] [--limit 400]
//   DIST = a built js/dist directory (e.g. ../js/dist, or a worktree's js/dist)
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { REPO, TYPES, buildPeer, cli, launchChromium, listen } from './lib/cli.mjs';

const { num, positional } = cli();
const dists = positional.map((d) => resolve(d));
const rounds = num('--rounds', 7);
const limit = num('--limit', 400);
await buildPeer(esbuild);
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>sdk race</title>');
  let f = null;
  const m = /^\/dist(\d+)\/(.*)$/.exec(path);
  if (m && dists[Number(m[1])]) f = join(dists[Number(m[1])], m[2]);
  else if (path.startsWith('/bench/')) f = join(REPO, path);
  if (!f || f.includes('..') || !existsSync(f)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(readFileSync(f));
});
const origin = await listen(server);
const browser = await launchChromium(chromium);
let res;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('[sdk-race] page error:', e.message));
  await page.goto(`${origin}/`);
  res = await page.evaluate(async ([n, limit, rounds]) => {
    const { proto, gunzipSync } = await import('/bench/dist/peer.js');
    const { splitFrames } = await import('/bench/lib/frames.mjs');
    const { peer, tikcastRun } = await import('/bench/lib/contenders.mjs');
    const { race } = await import('/bench/lib/variants.mjs');
    const frames = splitFrames(await (await fetch('/bench/data/frames.bin')).arrayBuffer()).slice(0, limit);
    const p = peer(proto, (b) => gunzipSync(b));
    const all = { 'peer full': () => p.run(frames, false), 'peer filtered': () => p.run(frames, true) };
    for (let i = 0; i < n; i++) {
      const tikcast = await import(`/dist${i}/api.js`);
      const { setAssets } = await import(`/dist${i}/loader.js`);
      setAssets({ wasm: () => new URL(`/dist${i}/wasm/tikcast_wasm_bg.wasm`, location.href), worker: () => null, hint: '' });
      await tikcast.init();
      all[`${i}: full`] = () => tikcastRun(tikcast, frames, false);
      all[`${i}: filtered`] = () => tikcastRun(tikcast, frames, true);
      all[`${i}: decodeFrame`] = () => {
        let k = 0;
        for (const f of frames) k += tikcast.decodeFrame(f).events.length;
        return k;
      };
    }
    return race(all, frames, rounds, globalThis.gc);
  }, [dists.length, limit, rounds]);
} finally {
  await browser.close();
  server.close();
}
const r = (a, b) => `${Math.round(res[a].framesPerSec)} = ${(res[a].framesPerSec / res[b].framesPerSec).toFixed(2)}×`;
console.log(`Chromium, ${limit} frames, ${rounds} rounds, medians; ratio to the peer's full (full, decodeFrame) or filtered decode; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log('');
console.log('| build | SDK full | SDK chat+gift | decodeFrame |');
console.log('|---|---|---|---|');
dists.forEach((d, i) => console.log(`| ${d.replace(REPO + '/', '')} | ${r(`${i}: full`, 'peer full')} | ${r(`${i}: filtered`, 'peer filtered')} | ${r(`${i}: decodeFrame`, 'peer full')} |`));
console.log('');
console.log(`peer: full ${Math.round(res['peer full'].framesPerSec)}, filtered ${Math.round(res['peer filtered'].framesPerSec)} frames/s`);
