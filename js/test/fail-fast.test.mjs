// A configuration mistake rejects connect() within one attempt, with a code that says
// which mistake and a lowercase message that says what to do: an invalid URL, no
// WebSocket, a closed port, a relay refusing the origin (HTTP 403), the token (4401) or
// the path. Real `tikcast relay`s on 127.0.0.1; no retries happen (the timing shows it).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import test from 'node:test';
import WebSocket from 'ws';

import { TikTokLiveConnection, TikcastError, init } from '../dist/node.js';
import { DEMO_RECORDING, mockMissing, startRelay } from './helpers.mjs';

const skip = mockMissing();
if (skip) console.log(skip);
await init();

/** connect()'s rejection, and how long it took. */
async function refusal(live) {
  const t0 = Date.now();
  const e = await live.connect().then(() => assert.fail('connect() should reject'), (err) => err);
  assert.ok(e instanceof TikcastError, String(e));
  assert.match(e.message, /^[a-z]/, 'messages start lowercase');
  return { code: e.code, message: e.message, ms: Date.now() - t0, state: live.state };
}

async function closedPort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

test('an invalid relay url is invalid_url, before any socket', async () => {
  for (const url of ['not a url', 'http://127.0.0.1:1/ws', 'relay.example/ws']) {
    const r = await refusal(new TikTokLiveConnection('x', { relay: { url }, WebSocket }));
    assert.equal(r.code, 'invalid_url', url);
    assert.equal(r.state, 'idle', 'no socket was tried');
    assert.match(r.message, /must be a ws:\/\/ or wss:\/\/ url/);
  }
  const r = await refusal(new TikTokLiveConnection('x', { relay: { url: 'https://relay.example' }, WebSocket }));
  assert.match(r.message, /use wss:\/\/relay\.example\/ws/);
});

test('no WebSocket in Node 20 is no_websocket, at once', { skip: typeof globalThis.WebSocket === 'function' && 'this Node has a global WebSocket' }, async () => {
  const r = await refusal(new TikTokLiveConnection('x', { relay: { url: 'ws://127.0.0.1:1/ws' } }));
  assert.deepEqual([r.code, r.state], ['no_websocket', 'idle']);
  assert.match(r.message, /pass a websocket constructor/i);
});

test('a closed port is unreachable within one attempt, saying connection refused', async () => {
  const port = await closedPort();
  const r = await refusal(new TikTokLiveConnection('x', { relay: { url: `ws://127.0.0.1:${port}/ws` }, WebSocket }));
  assert.deepEqual([r.code, r.state], ['unreachable', 'stopped']);
  assert.match(r.message, /connection refused at ws:\/\/127\.0\.0\.1:\d+\/ws: start the relay/);
  assert.ok(r.ms < 3000, `took ${r.ms} ms`);
});

test('a relay refusing the origin (http 403) is origin_refused; a refused token invalid_auth; a wrong path invalid_url', { skip, timeout: 30_000 }, async (t) => {
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--jwt-secret', 'fail-fast-secret-0123456789abcdef', '--allow-origin', 'https://overlay.example']);
  t.after(() => relay.stop());
  // A page on another origin (ws sends the Origin header a browser would).
  class FromOrigin extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { origin: 'https://evil.example' });
    }
  }
  const origin = await refusal(new TikTokLiveConnection('demo.host', { relay: { url: relay.url, jwt: 'x.y.z' }, WebSocket: FromOrigin }));
  assert.equal(origin.code, 'origin_refused');
  assert.match(origin.message, /refused this page's origin .*--allow-origin/);
  assert.ok(origin.ms < 3000, `took ${origin.ms} ms`);

  const auth = await refusal(new TikTokLiveConnection('demo.host', { relay: { url: relay.url, jwt: 'not.a.token' }, WebSocket }));
  assert.equal(auth.code, 'invalid_auth');
  assert.ok(auth.ms < 3000, `took ${auth.ms} ms`);

  const path = await refusal(new TikTokLiveConnection('demo.host', { relay: { url: relay.url.replace('/ws', '/nope') }, WebSocket }));
  assert.equal(path.code, 'invalid_url', path.message);
  assert.match(path.message, /check the path/);
  assert.ok(path.ms < 3000, `took ${path.ms} ms`);
});
