// The relay's HTTP helpers through the package: fetchAvailableGifts / fetchRoomInfo
// (stand-alone and on a connection) against real `tikcast relay`s replaying the demo
// session, with and without tokens, and their error codes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

import { TikTokLiveConnection, TikcastError, fetchAvailableGifts, fetchRoomInfo } from '../dist/node.js';
// Internal (not exported by the package): the URL rules, checked directly.
import { apiUrl, encodeSegment } from '../dist/relay-http.js';
import { DEMO_GIFTS, DEMO_RECORDING, inAnHour, jwt, mockMissing, startRelay } from './helpers.mjs';

const why = mockMissing();
if (why) console.log(why);

const SECRET = 'relay-http-test-secret-0123456789';
const catalog = JSON.parse(readFileSync(DEMO_GIFTS, 'utf8'));

async function rejects(promise, code) {
  const e = await promise.then(() => assert.fail(`expected a ${code} rejection`), (err) => err);
  assert.ok(e instanceof TikcastError, `a TikcastError, got ${e}`);
  assert.equal(e.code, code, e.message);
  return e;
}

test('the API URL follows the socket URL; a path segment is percent-encoded', () => {
  const u = (s) => apiUrl(s, 'gifts');
  assert.equal(u('ws://127.0.0.1:8080/ws'), 'http://127.0.0.1:8080/api/gifts');
  assert.equal(u('wss://relay.example/ws?uniqueId=a&jwtKey=b'), 'https://relay.example/api/gifts');
  assert.equal(u('wss://relay.example'), 'https://relay.example/api/gifts');
  assert.equal(u('wss://x.example/relay/ws/'), 'https://x.example/relay/api/gifts');
  assert.equal(u('  http://h:1/#top '), 'http://h:1/api/gifts');
  assert.equal(u('https://h/base//'), 'https://h/base/api/gifts');
  for (const bad of ['ftp://h', 'ws:///ws', 'relay.example', '']) {
    assert.throws(() => u(bad), (e) => e instanceof TikcastError && e.code === 'invalid_options', bad);
  }
  // Only RFC 3986 unreserved characters stay (as the relay's own encoder).
  assert.equal(encodeSegment("a.b_c-~/ é!'()*"), 'a.b_c-~%2F%20%C3%A9%21%27%28%29%2A');
});

test('fetchAvailableGifts / fetchRoomInfo against a public relay', { skip: why, timeout: 30_000 }, async (t) => {
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--no-auth', '--public-api', '--gifts', DEMO_GIFTS]);
  t.after(() => relay.stop());

  const gifts = await fetchAvailableGifts(relay.url);
  assert.deepEqual(gifts, catalog.map((g) => ({ ...g, id: String(g.id) })).sort((a, b) => Number(a.id) - Number(b.id)));
  // The http base URL works as well as the socket URL.
  assert.equal((await fetchAvailableGifts(`${relay.http}/`)).length, catalog.length);

  const room = await fetchRoomInfo(relay.url, '@demo.host');
  assert.deepEqual(room, {
    uniqueId: 'demo.host',
    roomId: '7300000000000000001',
    isLive: true,
    title: 'tikcast demo: a lively evening stream',
    viewerCount: 180,
    source: 'upstream',
  });

  const live = new TikTokLiveConnection('demo.host', { relay: { url: relay.url } });
  assert.equal((await live.fetchAvailableGifts()).find((g) => g.id === '5655')?.name, 'Rose');
  assert.equal((await live.fetchRoomInfo()).roomId, '7300000000000000001');

  await rejects(fetchRoomInfo(relay.url, 'not a handle!'), 'http_error');
  await rejects(fetchRoomInfo(relay.url, ''), 'invalid_options');
  await rejects(fetchAvailableGifts('ftp://127.0.0.1/'), 'invalid_options');
  const frames = new TikTokLiveConnection('x', { frames: true });
  await rejects(frames.fetchAvailableGifts(), 'invalid_options');
});

test('the HTTP helpers send the token, and map refusals to codes', { skip: why, timeout: 30_000 }, async (t) => {
  // A relay with tokens and no gift catalog.
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--jwt-secret', SECRET]);
  t.after(() => relay.stop());
  const token = jwt(SECRET, { exp: inAnHour() });

  const e = await rejects(fetchRoomInfo(relay.url, 'demo.host'), 'invalid_auth');
  assert.equal(e.status, 401);
  await rejects(fetchRoomInfo(relay.url, 'demo.host', { jwt: 'not.a.token' }), 'invalid_auth');
  assert.equal((await fetchRoomInfo(relay.url, 'demo.host', { jwt: token })).isLive, true);
  const missing = await rejects(fetchAvailableGifts(relay.url, { jwt: token }), 'not_found');
  assert.equal(missing.status, 404);
  assert.match(missing.message, /--gifts/);

  // On a connection, the relay option's getJwt supplies the token.
  let asked = 0;
  const live = new TikTokLiveConnection('demo.host', { relay: { url: relay.url, getJwt: async () => (asked++, token) } });
  assert.equal((await live.fetchRoomInfo()).title, 'tikcast demo: a lively evening stream');
  assert.equal(asked, 1);

  await relay.stop();
  await rejects(fetchRoomInfo(relay.url, 'demo.host', { jwt: token }), 'network_error');
});
