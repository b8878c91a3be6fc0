// The socket driver (js/src/socket-driver.ts) on its own: the relay URL it builds for each
// attempt (the same rule as the core's `client::with_query`, which the native tools use),
// and a `stop()` from inside the batch callback. Its sessions over real sockets are in
// connection.test.mjs (Node) and tests/browser/ (Chromium).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import test from 'node:test';

import { init } from 'tikcast';
import { REPO } from './helpers.mjs';

const { SocketDriver, withQuery } = await import(`${REPO}js/dist/socket-driver.js`);
const { module } = await import(`${REPO}js/dist/loader.js`);
await init();

test('withQuery: sets the params, replaces same-named ones, keeps the rest, encodes like the core', () => {
  assert.equal(withQuery('wss://r.example/ws', [['uniqueId', 'ada']]), 'wss://r.example/ws?uniqueId=ada');
  assert.equal(
    withQuery('wss://r.example/ws?jwtKey=old&x=1&&cursor', [['cursor', 'c-2'], ['jwtKey', 'new']]),
    'wss://r.example/ws?x=1&cursor=c-2&jwtKey=new',
  );
  // RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes
  // (crates/tikcast-core/src/client.rs: "a/b é" → "a%2Fb%20%C3%A9").
  assert.equal(withQuery('ws://h/ws', [['k', "a/b é-_.~!'()*+&="]]), "ws://h/ws?k=a%2Fb%20%C3%A9-_.~%21%27%28%29%2A%2B%26%3D");
  // A lone surrogate is U+FFFD, as the Rust string it used to become.
  assert.equal(withQuery('ws://h/ws', [['k', 'x\uD800y']]), 'ws://h/ws?k=x%EF%BF%BDy');
  assert.equal(withQuery('ws://h/ws', []), 'ws://h/ws');
});

test('stop() inside the batch callback: the stop batch follows, nothing after it', async () => {
  const demo = new Uint8Array(await readFile(`${REPO}tests/fixtures/demo-frame.bin`));
  const seen = [];
  let driver;
  driver = new SocketDriver(module(), { transport: 'frames', session: { seed: 1 } }, (batch) => {
    for (const item of batch) {
      seen.push(item.type === 'state' ? item.state : item.type);
      if (item.type === 'chat' && seen.filter((s) => s === 'chat').length === 1) driver.stop();
    }
  });
  assert.throws(() => driver.pushFrame(demo), (e) => e.code === 'not_connected');
  driver.start();
  driver.pushFrame(demo);
  // The frame's batch is delivered whole; the stop's batch (running streaks closed) comes
  // from inside it.
  assert.deepEqual(seen.slice(0, 3), ['connecting', 'connected', 'member']);
  assert.ok(seen.includes('stopped'), seen.join());
  assert.equal(seen.filter((s) => s === 'stopped').length, 1);
  assert.throws(() => driver.pushFrame(demo), (e) => e.code === 'not_connected');
  await new Promise((r) => setTimeout(r, 20));
  const n = seen.length;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.length, n, 'no timer fires after the stop');
  assert.equal(driver.cursor(), 't-1767225610000_r-1_d-1_u-1');
  driver.free();
});

test('a socket that cannot be made is a 1006 close with the reason, and fail-fast stops with unreachable', async () => {
  const items = [];
  const d = new SocketDriver(
    module(),
    { transport: 'relay', url: 'ws://127.0.0.1:9/ws', WebSocket: function Refuse() { throw new Error('no'); }, session: { seed: 2 } },
    (batch) => items.push(...batch),
  );
  d.start();
  const until = Date.now() + 5000;
  while (!items.some((i) => i.state === 'stopped') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  const stopped = items.find((i) => i.state === 'stopped');
  assert.ok(stopped, JSON.stringify(items));
  assert.equal(stopped.code, 'unreachable');
  assert.equal(stopped.error.name, 'TikcastError');
  const closed = items.find((i) => i.state === 'disconnected');
  assert.equal(closed?.code, 1006);
  assert.equal(closed?.reason, 'the WebSocket constructor option threw for this url');
  d.free();
});
