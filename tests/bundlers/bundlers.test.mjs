// The packed package in every bundler, in a real browser. `npm pack` of js/ is unpacked
// into tests/bundlers/node_modules/tikcast (beside the bundlers of package.json, installed
// once by scripts/test-bundlers.sh), then one app (app/run.js) is built in this process by
// Vite (build, and its dev server), webpack 5, esbuild (ESM and iife, through the README's
// `tikcast/inline` line), Rollup (with the README's `importMetaAssets()` line), Parcel and
// as a no-bundler import-map page, and each page is loaded in one headless Chromium, on the
// main thread and with `worker: true`. Each page decodes tests/fixtures/demo-frame.bin,
// pushes it through a `frames` connection and receives a `tikcast mock` relay's messages;
// the results must equal the same package run in Node. In worker mode the page must never
// compile or instantiate wasm itself, the .wasm must be fetched exactly once (none at all
// with tikcast/inline), and the pushed frame's buffer must be transferred (detached).
// esbuild with the default entry (no README line) must fail with a TikcastError whose
// code and message say what to do.
//
// Run: `bash scripts/test-bundlers.sh` (installs the bundlers when needed, builds js/ and
// the tikcast binary when missing). CHROMIUM overrides the browser path.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { REPO, expectedIds, mockMissing, startMock } from '../../js/test/helpers.mjs';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('./', import.meta.url));
const APP = join(HERE, 'app');
const NM = join(HERE, 'node_modules');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MESSAGES = 12;
const FRAME = join(REPO, 'tests/fixtures/demo-frame.bin');

const { chromium } = createRequire(`${REPO}js/package.json`)('playwright-core');

if (!existsSync(join(NM, 'vite')) || !existsSync(join(NM, 'parcel'))) {
  throw new Error('the bundlers are not installed: run `bash scripts/test-bundlers.sh` (it runs `npm ci` in tests/bundlers)');
}
if (!existsSync(`${REPO}js/dist/index.js`)) throw new Error('js/dist is missing: run `npm run build` at the repository root first');
const why = existsSync(CHROMIUM) ? mockMissing() : `SKIPPED: no Chromium at ${CHROMIUM}; set CHROMIUM`;
if (why) console.log(why);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

/** JSON round trip, so values from the page and from Node compare alike. */
const plain = (v) => JSON.parse(JSON.stringify(v));

const elapsed = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The same steps as app/run.js, with the packed package's Node entry. */
async function reference(tk, frame) {
  await tk.init();
  const decoded = tk.decodeFrame(frame);
  const live = new tk.TikTokLiveConnection('ada.demo', { frames: true });
  const pushed = [];
  live.on('decodedData', (e) => pushed.push(e));
  const stopped = new Promise((resolve) => live.once('stopped', resolve));
  await live.connect();
  const larger = new Uint8Array(frame.byteLength + 8);
  larger.set(frame, 4);
  live.pushFrame(larger.subarray(4, 4 + frame.byteLength));
  live.pushFrame(frame.slice());
  const stats = await live.stats();
  live.disconnect();
  await stopped;
  return plain({ version: tk.version(), decoded, pushed, stats });
}

/** Serves `routes` (URL prefix → directory) on 127.0.0.1. */
async function serve(routes) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file;
    for (const [prefix, dir] of Object.entries(routes)) {
      if (path.startsWith(prefix)) file = join(dir, normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
    }
    if (file && path.endsWith('/')) file = join(file, 'index.html');
    try {
      if (!file || (path.startsWith('/pkg-nowasm/') && path.endsWith('.wasm'))) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        // The Vite dev page (another origin) fetches the frame from here.
        'access-control-allow-origin': '*',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
      res.end('not found\n');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

const page = (script, module) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tikcast</title><link rel="icon" href="data:,"></head>` +
  `<body><script${module ? ' type="module"' : ''} src="${script}"></script></body></html>\n`;

/** Builds every bundle into `out/NAME/`; returns the time each took. */
async function buildAll(out, work) {
  const times = {};
  const timed = async (name, fn) => {
    const t0 = performance.now();
    await fn(join(out, name));
    times[name] = elapsed(t0);
  };

  const vite = await import('vite');
  await timed('vite', (dir) =>
    vite.build({
      root: APP,
      base: './',
      configFile: false,
      logLevel: 'warn',
      cacheDir: join(work, 'vite-build-cache'),
      build: { outDir: dir, emptyOutDir: true },
    }),
  );

  const webpack = (await import('webpack')).default;
  await timed('webpack', (dir) =>
    new Promise((resolve, reject) => {
      webpack({ mode: 'production', context: APP, entry: './default.js', output: { path: dir, filename: 'main.js' } }).run(
        async (err, stats) => {
          if (err) return reject(err);
          if (stats.hasErrors()) return reject(new Error(stats.toString('errors-only')));
          await writeFile(join(dir, 'index.html'), page('main.js', false));
          resolve();
        },
      );
    }),
  );

  const esbuild = await import('esbuild');
  for (const [name, entry, format] of [
    ['esbuild-esm', 'inline.js', 'esm'],
    ['esbuild-iife', 'inline.js', 'iife'],
    ['esbuild-esm-default', 'default.js', 'esm'],
    ['esbuild-iife-default', 'default.js', 'iife'],
  ]) {
    await timed(name, async (dir) => {
      await esbuild.build({ entryPoints: [join(APP, entry)], bundle: true, format, outfile: join(dir, 'main.js'), logLevel: 'silent' });
      await writeFile(join(dir, 'index.html'), page('main.js', format === 'esm'));
    });
  }

  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const { importMetaAssets } = await import('@web/rollup-plugin-import-meta-assets');
  await timed('rollup', async (dir) => {
    const bundle = await rollup({ input: join(APP, 'default.js'), plugins: [nodeResolve({ browser: true }), importMetaAssets()], logLevel: 'silent' });
    await bundle.write({ dir, format: 'es', entryFileNames: 'main.js' });
    await bundle.close();
    await writeFile(join(dir, 'index.html'), page('main.js', true));
  });

  const { Parcel } = await import('@parcel/core');
  await timed('parcel', async (dir) => {
    const bundler = new Parcel({
      entries: join(APP, 'index.html'),
      defaultConfig: createRequire(join(HERE, 'package.json')).resolve('@parcel/config-default'),
      mode: 'production',
      shouldDisableCache: true,
      cacheDir: join(work, 'parcel-cache'),
      defaultTargetOptions: { distDir: dir, publicUrl: './', sourceMaps: false },
      logLevel: 'error',
      shouldPatchConsole: false,
    });
    await bundler.run();
  });

  // No bundler: an import map names the unpacked package (importmap-nowasm: a server
  // that has lost the .wasm, for the error it must give).
  for (const [name, base] of [['importmap', '/pkg/'], ['importmap-nowasm', '/pkg-nowasm/']]) await timed(name, async (dir) => {
    await mkdir(dir, { recursive: true });
    const map = { imports: { tikcast: `${base}dist/index.js` } };
    await writeFile(
      join(dir, 'index.html'),
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tikcast</title><link rel="icon" href="data:,">` +
        `<script type="importmap">${JSON.stringify(map)}</script></head>` +
        `<body><script type="module" src="/app/default.js"></script></body></html>\n`,
    );
  });
  return times;
}

/** Counts the page's own WebAssembly compiles and instantiations (workers are not counted). */
const COUNT_WASM = () => {
  const calls = (window.__wasmCalls = []);
  const W = WebAssembly;
  for (const k of ['instantiate', 'instantiateStreaming', 'compile', 'compileStreaming']) {
    const f = W[k];
    W[k] = function (...a) {
      calls.push(k);
      return f.apply(this, a);
    };
  }
  for (const k of ['Module', 'Instance']) {
    const C = W[k];
    W[k] = new Proxy(C, {
      construct(target, args, newTarget) {
        calls.push(k);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
};

test('the packed package in Vite (dev, build), webpack, esbuild (ESM, iife), Rollup, Parcel and an import map; main thread and worker', { skip: why, timeout: 300_000 }, async (t) => {
  const t0 = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'tikcast-bundlers-'));
  t.after(() => rm(work, { recursive: true, force: true }));

  // The package exactly as published.
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: `${REPO}js` });
  const tarball = join(work, stdout.trim().split('\n').pop());
  const pkg = join(NM, 'tikcast');
  await rm(pkg, { recursive: true, force: true });
  await mkdir(pkg, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1']);
  for (const f of ['dist/index.js', 'dist/inline.js', 'dist/inline-assets.js', 'dist/worker.js', 'dist/wasm/tikcast_wasm_bg.wasm']) {
    assert.ok(existsSync(join(pkg, f)), `the tarball has ${f}`);
  }

  const frame = new Uint8Array(await readFile(FRAME));
  const ref = await reference(await import(pathToFileURL(join(pkg, 'dist/node.js')).href), frame);
  assert.ok(ref.decoded.events.some((e) => e.type === 'chat' && e.comment === '<img src=x onerror=alert(1)>'));
  assert.ok(ref.pushed.some((e) => e.type === 'gift' && e.giftName === 'Rose' && e.repeatCount === 3 && e.repeatEnd));
  assert.ok(ref.stats.duplicates > 0, `the second push is dropped as duplicates: ${JSON.stringify(ref.stats)}`);

  const out = join(work, 'out');
  const tb = performance.now();
  const times = await buildAll(out, work);
  t.diagnostic(`builds: ${elapsed(tb)} (${Object.entries(times).map(([k, v]) => `${k} ${v}`).join(', ')})`);

  const { server, origin } = await serve({ '/out/': out, '/pkg/': pkg, '/pkg-nowasm/': pkg, '/app/': APP, '/fixtures/': join(REPO, 'tests/fixtures') });
  t.after(() => new Promise((r) => server.close(r)));

  const vite = await import('vite');
  const dev = await vite.createServer({
    root: APP,
    configFile: false,
    logLevel: 'warn',
    cacheDir: join(work, 'vite-dev-cache'),
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  await dev.listen();
  t.after(() => dev.close());
  const devOrigin = dev.resolvedUrls.local[0].replace(/\/$/, '');

  const mock = await startMock(['--messages', String(MESSAGES), '--rate', '0', '--batch', '3']);
  t.after(() => mock.stop());

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => browser.close());

  /** Loads one page in a fresh context; returns its result, problems and requests. */
  async function load(url, mode) {
    const context = await browser.newContext();
    try {
      const p = await context.newPage();
      await p.addInitScript(COUNT_WASM);
      const problems = [];
      p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      const requests = [];
      p.on('request', (r) => requests.push(new URL(r.url()).pathname));
      const q = new URLSearchParams({ mode, frame: `${origin}/fixtures/demo-frame.bin`, relay: mock.relayUrl, messages: String(MESSAGES) });
      await p.goto(`${url}?${q}`);
      await p.waitForFunction(() => window.result?.done, null, { timeout: 30_000 });
      const result = await p.evaluate(() => window.result);
      const wasmCalls = await p.evaluate(() => window.__wasmCalls);
      return { result, problems, requests, wasmCalls };
    } finally {
      await context.close();
    }
  }

  const pages = [
    ['Vite dev server', `${devOrigin}/index.html`, 'tikcast'],
    ['Vite build', `${origin}/out/vite/index.html`, 'tikcast'],
    ['webpack 5', `${origin}/out/webpack/index.html`, 'tikcast'],
    ['esbuild ESM', `${origin}/out/esbuild-esm/index.html`, 'tikcast/inline'],
    ['esbuild iife', `${origin}/out/esbuild-iife/index.html`, 'tikcast/inline'],
    ['Rollup', `${origin}/out/rollup/index.html`, 'tikcast'],
    ['Parcel', `${origin}/out/parcel/index.html`, 'tikcast'],
    ['import map, no bundler', `${origin}/out/importmap/index.html`, 'tikcast'],
  ];
  const tp = performance.now();
  for (const [name, url, entry] of pages) {
    // Both modes of one bundle at once: the browser mostly waits on each.
    const loads = await Promise.all(['main', 'worker'].map((mode) => load(url, mode)));
    for (const [i, mode] of ['main', 'worker'].entries()) {
      await t.test(`${name}, ${mode === 'main' ? 'main thread' : 'worker: true'}`, async () => {
        const { result: r, problems, requests, wasmCalls } = loads[i];
        assert.equal(r.error, undefined, `the page failed: ${JSON.stringify(r.error)}`);
        assert.deepEqual(problems, [], 'no errors or warnings in the page');
        assert.equal(r.entry, entry);

        // The frame through a `frames` connection: the same events as in Node.
        assert.deepEqual(plain(r.pushed), ref.pushed);
        assert.equal(r.pushedStats.messages, ref.stats.messages);
        assert.equal(r.pushedStopped, 'stopped');
        // The mock relay: every message once, in order, with typed values.
        // connect() resolves v2's state object.
        assert.equal(r.connected.isConnected, true);
        assert.equal(r.connected.roomId, '7300000000000000001');
        assert.deepEqual(r.ids, expectedIds(MESSAGES));
        assert.ok(r.chats.length > 0);
        for (const c of r.chats) {
          assert.match(c.uniqueId, /^[a-z]+\.mock$/);
          assert.ok(r.ids.includes(c.msgId) && c.comment.length > 0, JSON.stringify(c));
        }
        assert.equal(r.liveStopped, 'stopped');

        const wasmRequests = requests.filter((p) => p.endsWith('.wasm'));
        if (mode === 'main') {
          assert.equal(r.version, ref.version);
          assert.deepEqual(plain(r.decoded), ref.decoded);
          assert.ok(wasmCalls.length > 0, 'the page instantiated the wasm');
          assert.equal(r.frameBytesAfterPush, r.frameBytes, 'the main thread leaves the pushed bytes alone');
          assert.equal(r.largerBytesAfterPush, r.frameBytes + 8);
        } else {
          assert.equal(r.decoded, undefined);
          assert.deepEqual(wasmCalls, [], 'the page never compiles or instantiates wasm in worker mode');
          assert.equal(r.frameBytesAfterPush, 0, 'the pushed frame was transferred to the worker (detached here)');
          assert.equal(r.largerBytesAfterPush, r.frameBytes + 8, 'a view onto part of a buffer is copied, the buffer stays');
        }
        if (entry === 'tikcast/inline') {
          assert.deepEqual(wasmRequests, [], 'tikcast/inline fetches no .wasm');
        } else {
          // Once per page: two connections started together, one module (in worker mode
          // the first worker compiles it and hands it to the second).
          assert.equal(wasmRequests.length, 1, `one .wasm request: ${requests}`);
        }
      });
    }
  }

  // esbuild without the README line: it copies no assets, so the default entry cannot
  // find its .wasm or worker; the error must say so, typed.
  for (const [name, format] of [['esbuild-esm-default', 'ESM'], ['esbuild-iife-default', 'iife']]) {
    const loads = await Promise.all(['main', 'worker'].map((mode) => load(`${origin}/out/${name}/index.html`, mode)));
    for (const [i, mode] of ['main', 'worker'].entries()) {
      await t.test(`esbuild ${format} with the default entry, ${mode === 'main' ? 'main thread' : 'worker: true'}: a TikcastError that says what to do`, async () => {
        const { result: r } = loads[i];
        assert.ok(r.error, 'the page must fail');
        assert.equal(r.error.isTikcastError, true, JSON.stringify(r.error));
        assert.equal(r.error.name, 'TikcastError');
        const code = mode === 'worker' && format === 'ESM' ? 'worker_failed' : 'init_failed';
        assert.equal(r.error.code, code, JSON.stringify(r.error));
        assert.match(r.error.message, /tikcast\/inline/, r.error.message);
        if (code === 'init_failed' && format === 'ESM') assert.match(r.error.message, /answered HTTP 404/);
      });
    }
  }
  // The .wasm is missing on the server: init_failed naming the URL and its status, also
  // when the worker is the one that fetches it.
  {
    const loads = await Promise.all(['main', 'worker'].map((mode) => load(`${origin}/out/importmap-nowasm/index.html`, mode)));
    for (const [i, mode] of ['main', 'worker'].entries()) {
      await t.test(`a server without the .wasm, ${mode === 'main' ? 'main thread' : 'worker: true'}: init_failed naming the URL`, async () => {
        const { result: r } = loads[i];
        assert.ok(r.error, 'the page must fail');
        assert.equal(r.error.isTikcastError, true, JSON.stringify(r.error));
        assert.equal(r.error.code, 'init_failed', JSON.stringify(r.error));
        assert.match(r.error.message, new RegExp(`${origin}/pkg-nowasm/dist/wasm/tikcast_wasm_bg\\.wasm answered HTTP 404`), r.error.message);
        assert.match(r.error.message, /the bundler did not copy/, 'the page\'s hint, from the worker too');
      });
    }
  }
  t.diagnostic(`pages: ${elapsed(tp)}; whole matrix without install: ${elapsed(t0)}`);
});
