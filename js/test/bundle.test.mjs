// The browser entries are bundles (js/scripts/bundle-browser.mjs): a page without a bundler
// (an OBS overlay, a CDN import) fetches a handful of files before the first event, not
// the ~14 modules tsc emits one round trip at a time. Start-up (import → first decoded
// event in Chromium) went from 74 ms to 43 ms with it (bench/RESULTS.md). Needs js/dist
// (npm run build).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import test from 'node:test';

import { REPO } from './helpers.mjs';

const DIST = `${REPO}js/dist/`;
if (!existsSync(`${DIST}index.js`)) throw new Error('SKIPPED: js/dist is missing; run `npm run build`');

/** Every file a browser loads before `entry` runs: static imports, followed. */
function staticGraph(entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(`${DIST}${file}`, 'utf8');
    // Top-level static imports and re-exports only (`import(…)` is loaded on demand).
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["'];?$|^import\s*["'](\.{1,2}\/[^"']+)["'];?$/gms)) {
      visit(posix.join(posix.dirname(file), m[1] ?? m[2]));
    }
  };
  visit(entry);
  return [...seen];
}

for (const entry of ['index.js', 'inline.js']) {
  test(`${entry}: a bundle, at most 3 files before it runs, every one of them in the package`, () => {
    const files = staticGraph(entry);
    assert.ok(files.length <= 3, `${entry} loads ${files.length} files: ${files.join(', ')}`);
    for (const f of files) {
      assert.ok(!/^(connection|api|loader|errors|events\.generated)\.js$/.test(f), `${entry} imports tsc's per-module ${f}`);
    }
    const text = readFileSync(`${DIST}${entry}`, 'utf8') + files.map((f) => readFileSync(`${DIST}${f}`, 'utf8')).join('\n');
    // The SDK's class and the wasm loader are inside, not behind another request.
    assert.match(text, /\bTikTokLiveConnection = class\b|\bclass TikTokLiveConnection\b/);
    assert.match(text, /\bTikcastError = class\b|\bclass TikcastError\b/);
  });
}

test('node.js keeps the per-module files (no browser bundle in Node)', () => {
  const files = staticGraph('node.js');
  assert.ok(files.includes('connection.js'), files.join(', '));
  assert.ok(!files.some((f) => /-[A-Z0-9]{8}\.js$/.test(f)), files.join(', '));
});
