// The npm package as users get it, in a real browser: `npm pack` the built js/ package,
// unpack the tarball, serve it with a plain page over HTTP on 127.0.0.1, and let headless
// Chromium (driven by playwright-core) import it without a bundler, connect to
// `tikcast mock`'s relay endpoint and receive events, on the main thread and with
// `worker: true`, and on the main thread of a page whose Content-Security-Policy forbids
// compiling code (no 'unsafe-eval': the event tape then builds objects key by key).
//
// Run: `node --test tests/browser/` after `npm run build` and `cargo build -p tikcast`
// (scripts/test-js.sh does all of it). CHROMIUM overrides the browser path.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import test from 'node:test';
import { promisify } from 'node:util';

import { DEMO_GIFTS, DEMO_RECORDING, MOCK_ROOM_ID, REPO, expectedIds, mockMissing, startMock, startRelay } from '../../js/test/helpers.mjs';

const run = promisify(execFile);
// playwright-core is a dev dependency of the js/ package.
const { chromium } = createRequire(`${REPO}js/package.json`)('playwright-core');

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MESSAGES = 60;

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };

/** A policy that lets the page run its own scripts and compile wasm, but not `eval` or `new Function`. */
const STRICT_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; connect-src 'self' ws://127.0.0.1:*; worker-src 'self'; img-src data:";

/** Serves the test page at /, `pkgDir` under /pkg/ and `extra` (path → text), on 127.0.0.1 only.
 * `/?csp=1` serves the page with `STRICT_CSP`. */
async function serve(pkgDir, extra = {}) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    if (path === '/' && url.searchParams.get('csp') === '1') res.setHeader('content-security-policy', STRICT_CSP);
    if (extra[path] !== undefined) {
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(extra[path]);
      return;
    }
    let file;
    if (path === '/') file = join(REPO, 'tests/browser/index.html');
    else if (path.startsWith('/pkg/')) file = join(pkgDir, normalize(path.slice('/pkg/'.length)).replace(/^(\.\.[/\\])+/, ''));
    try {
      if (!file) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const why = existsSync(CHROMIUM) ? mockMissing() : `SKIPPED: no Chromium at ${CHROMIUM}; set CHROMIUM`;
if (!existsSync(`${REPO}js/dist/index.js`)) throw new Error('js/dist is missing: run `npm run build` at the repository root first');
if (why) console.log(why);

test('npm pack → plain <script type="module"> page → events from the mock relay, main thread and worker', { skip: why, timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tikcast-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: `${REPO}js` });
  const tarball = join(dir, stdout.trim().split('\n').pop());
  await run('tar', ['-xzf', tarball, '-C', dir]);
  const pkgDir = join(dir, 'package');
  for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/worker.js', 'dist/wasm/tikcast_wasm_bg.wasm', 'LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.ok(existsSync(join(pkgDir, f)), `the tarball has ${f}`);
  }
  assert.ok(!existsSync(join(pkgDir, 'src')) && !existsSync(join(pkgDir, 'test')), 'sources and tests stay out of the tarball');

  // The ported v2 README examples (js/test/v2/readme-examples.ts), as the page imports them.
  const ts = createRequire(`${REPO}js/package.json`)('typescript');
  const examples = ts.transpileModule(await readFile(`${REPO}js/test/v2/readme-examples.ts`, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  }).outputText.replace(/from 'tikcast'/g, "from '/pkg/dist/index.js'");
  const server = await serve(pkgDir, { '/blank': '<!doctype html><title>v2</title><link rel="icon" href="data:,">', '/v2/readme-examples.mjs': examples });
  t.after(() => new Promise((r) => server.close(r)));
  const origin = `http://127.0.0.1:${server.address().port}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => browser.close());

  for (const [worker, csp] of [[false, false], [true, false], [false, true]]) {
    await t.test(csp ? "main thread, Content-Security-Policy without 'unsafe-eval'" : worker ? 'worker: true' : 'main thread', async () => {
      // A fresh mock per mode: its drop schedule counts first transmissions.
      const mock = await startMock(['--messages', String(MESSAGES), '--rate', '0', '--batch', '3', '--drop-after', '25', '--duplicate-rate', '0.1', '--seed', '2']);
      try {
        const page = await browser.newPage();
        const problems = [];
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        const refused = [];
        page.on('console', (m) => {
          // Under the policy the tape tries to compile one shape function, once: the
          // browser reports that refusal, and nothing else may go wrong.
          if (csp && /unsafe-eval/.test(m.text())) refused.push(m.text());
          else if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
        });
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
        const requests = [];
        page.on('request', (r) => requests.push(new URL(r.url()).pathname));
        const violations = [];
        if (csp) await page.exposeFunction('cspViolation', (v) => violations.push(v));
        if (csp) await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => window.cspViolation(e.violatedDirective)));
        await page.goto(`${origin}/?relay=${encodeURIComponent(mock.relayUrl)}&messages=${MESSAGES}&worker=${worker ? 1 : 0}&csp=${csp ? 1 : 0}`);
        await page.waitForFunction(() => window.result?.done, null, { timeout: 30_000 });
        const r = await page.evaluate(() => window.result);
        await page.close();

        assert.equal(r.error, undefined, `the page failed: ${JSON.stringify(r.error)}`);
        assert.deepEqual(problems, [], 'no errors or warnings in the page');
        if (csp) {
          // The policy was in force, and compiling was refused once, not per object.
          assert.deepEqual(violations, ['script-src'], `violations: ${violations}`);
          assert.ok(refused.length <= 1, `${refused}`);
        }
        assert.deepEqual(r.connected, { isConnected: true, roomId: MOCK_ROOM_ID });
        assert.match(r.version, /^\d+\.\d+\.\d+/);
        // Every message once, in order, through the mock's drops and duplicates.
        assert.deepEqual(r.ids, expectedIds(MESSAGES));
        const stats = await mock.stats();
        assert.ok(stats.drops >= 2 && stats.duplicatesSent >= 1, JSON.stringify(stats));
        assert.ok(r.states.includes('reconnecting'), `${r.states}`);
        assert.equal(r.states[0], 'connecting');
        assert.equal(r.states.at(-1), 'stopped');
        assert.equal(r.stoppedCode, 'stopped');
        assert.equal(r.stats.messages, MESSAGES);
        // Typed payloads with the right fields; 64-bit ids as exact strings.
        assert.ok(r.chats.length >= 5);
        for (const c of r.chats) {
          assert.equal(typeof c.comment, 'string');
          assert.ok(c.comment.length > 0);
          assert.match(c.uniqueId, /^[a-z]+\.mock$/);
          assert.match(c.msgId, /^74000000000000000\d\d$/);
          assert.equal(c.roomId, '7300000000000000001');
          assert.equal(typeof c.createTime, 'number');
        }
        assert.ok(r.gifts.some((g) => g.giftName === 'Rose' && g.repeatCount === 3 && g.repeatEnd), JSON.stringify(r.gifts));
        assert.ok(r.types.includes('giftStreak') && r.types.includes('member') && r.types.includes('like'));
        assert.equal(r.infos[0].uniqueId, 'ada.demo');
        assert.ok(r.isTikcastError);
        // Where the code ran: the worker script is only fetched with worker: true.
        assert.equal(requests.includes('/pkg/dist/worker.js'), worker, `${requests}`);
        assert.ok(requests.includes('/pkg/dist/wasm/tikcast_wasm_bg.wasm'));
      } finally {
        await mock.stop();
      }
    });
  }

  await t.test("v2 README examples in a page, against a replay relay", async () => {
    const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--speed', '16', '--no-auth', '--public-api', '--allow-origin', '*', '--gifts', DEMO_GIFTS]);
    try {
      const page = await browser.newPage();
      const problems = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.goto(`${origin}/blank`);
      const lines = await page.evaluate(async (url) => {
        const lines = [];
        for (const k of ['log', 'info', 'error']) console[k] = (...a) => lines.push(a.map(String).join(' '));
        const ex = await import('/v2/readme-examples.mjs');
        const conns = [ex.events(url, WebSocket), ex.gettingStarted(url, WebSocket)];
        await conns[0].connect();
        await ex.roomInfo(url, WebSocket);
        await ex.availableGifts(url, WebSocket);
        const deadline = Date.now() + 20_000;
        while (!lines.includes('stream ended by the host') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        for (const c of conns) c.disconnect();
        return lines;
      }, relay.url);
      await page.close();
      assert.deepEqual(problems, []);
      const has = (l) => assert.ok(lines.includes(l), `logged ${JSON.stringify(l)}: ${lines.slice(0, 30).join(' | ')}`);
      has(`connected: room ${MOCK_ROOM_ID}`);
      has(`state connected true ${MOCK_ROOM_ID}`);
      has('stream ended by the host');
      has('chat ada.demo -> hello from the demo room!');
      has('chat ada.demo (ada.demo): hello from the demo room!');
      has('final ada.demo Rose x12');
      has('streak ada.demo Rose x11');
      has(`room ${MOCK_ROOM_ID} live true title tikcast demo: a lively evening stream`);
      has('catalog 5655 Rose 1');
      assert.deepEqual(lines.filter((l) => /^(connect failed|error event|TikcastError)/.test(l)), []);
    } finally {
      await relay.stop();
    }
  });

  await t.test('fail fast in a page: a relay refusing the origin is origin_refused, a closed port unreachable', async () => {
    const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--no-auth', '--allow-origin', 'https://overlay.example']);
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/blank`);
      const outcome = await page.evaluate(async ([refusing, closed]) => {
        const { TikTokLiveConnection } = await import('/pkg/dist/index.js');
        const attempt = async (url) => {
          const t0 = performance.now();
          const e = await new TikTokLiveConnection('demo.host', { relay: { url } }).connect().then(() => null, (err) => err);
          return { code: e?.code, message: e?.message, ms: performance.now() - t0 };
        };
        return [await attempt(refusing), await attempt(closed)];
      }, [relay.url, 'ws://127.0.0.1:9/ws']);
      await page.close();
      const [refused, down] = outcome;
      assert.equal(refused.code, 'origin_refused', refused.message);
      assert.match(refused.message, /refused this page \(http:\/\/127\.0\.0\.1:\d+\): add the origin to the relay's --allow-origin/);
      assert.equal(down.code, 'unreachable', down.message);
      assert.match(down.message, /nothing answers at ws:\/\/127\.0\.0\.1:9\/ws/);
      for (const r of outcome) assert.ok(r.ms < 5000, `within one attempt: ${r.ms} ms`);
    } finally {
      await relay.stop();
    }
  });

  await t.test('disconnect() right after connect() stops, main thread and worker', async () => {
    const mock = await startMock(['--messages', '10', '--rate', '0']);
    try {
      for (const worker of [0, 1]) {
        const page = await browser.newPage();
        await page.goto(`${origin}/?relay=${encodeURIComponent(mock.relayUrl)}&quickstop=1&worker=${worker}`);
        await page.waitForFunction(() => window.result?.done, null, { timeout: 10_000 });
        const r = await page.evaluate(() => window.result);
        await page.close();
        assert.equal(r.error, undefined, `worker ${worker}: ${JSON.stringify(r.error)}`);
        assert.equal(r.quickstop, 'TikcastError stopped', `worker ${worker}`);
        assert.equal(r.stoppedCode, 'stopped');
        assert.ok(!r.states.includes('connected'), `worker ${worker}: ${r.states}`);
      }
    } finally {
      await mock.stop();
    }
  });
});
