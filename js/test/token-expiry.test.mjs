// A relay ends a socket when its token expires (close 4401 "token expired"); the SDK's
// getJwt path reconnects at once with a fresh token and the resume cursor, and no
// message is lost or repeated. Real `tikcast mock` upstream behind a real `tikcast relay`.
import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';

import { TikTokLiveConnection, init } from 'tikcast';
import { expectedIds, jwt, messageIds, mockMissing, startMock, startRelay, until } from './helpers.mjs';

const skip = mockMissing();
if (skip) console.log(skip);
await init();

const SECRET = 'token-expiry-secret';

test('an expired token on an open socket is replaced without losing or repeating a message', { skip, timeout: 60_000 }, async () => {
  const mock = await startMock(['--messages', '5000', '--rate', '40', '--batch', '2']);
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `mock:${mock.relayUrl}`, '--jwt-secret', SECRET]);
  try {
    let tokens = 0;
    const live = new TikTokLiveConnection('ada.demo', {
      relay: {
        url: relay.url,
        // Each token lives one second (the relay adds its 5 s leeway before closing).
        getJwt: async () => {
          tokens++;
          return jwt(SECRET, { exp: Math.floor(Date.now() / 1000) + 1, allowedCreators: ['ada.demo'], maxWebSockets: 2 });
        },
      },
      WebSocket,
    });
    const events = [];
    const reconnects = [];
    live.on('decodedData', (e) => events.push(e));
    live.on('reconnecting', (s) => reconnects.push(s));
    const stopped = new Promise((resolve) => live.on('stopped', resolve));
    await live.connect();
    await until(() => reconnects.length >= 2 && messageIds(events).length > 0, 30_000, 'two token renewals');
    // Let the second fresh socket deliver for a moment, then stop.
    const seen = messageIds(events).length;
    await until(() => messageIds(events).length > seen + 20, 10_000, 'messages after the renewal');
    live.disconnect();
    await stopped;
    for (const r of reconnects) {
      assert.match(r.reason, /4401.*token expired/, JSON.stringify(r));
      assert.equal(r.delayMs, 0, 'renewed at once');
    }
    assert.ok(tokens >= 3, `a fresh token for every socket (${tokens})`);
    const ids = messageIds(events);
    assert.equal(new Set(ids).size, ids.length, 'a message was delivered twice');
    assert.deepEqual(ids, expectedIds(ids.length), 'every message from the first, in order, none missing');
    assert.ok(ids.length > 200, `${ids.length} messages over the renewals`);
  } finally {
    await relay.stop();
    await mock.stop();
  }
});
