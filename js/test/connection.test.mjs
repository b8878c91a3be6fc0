// TikTokLiveConnection over real sockets (the `ws` package) against `tikcast mock`:
// relay and TikTok-style (signedUrl) endpoints, drops, duplicates, a stall, credentials.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import test from 'node:test';
import WebSocket from 'ws';

import { TikTokLiveConnection, TikcastError, init } from 'tikcast';
import { MOCK_ROOM_ID, expectedIds, inAnHour, jwt, messageIds, mockMissing, startMock, until } from './helpers.mjs';

const skip = mockMissing();
if (skip) console.log(skip);
await init();

const FAULTS = ['--messages', '300', '--rate', '0', '--batch', '4', '--gzip', 'mixed', '--drop-after', '70', '--duplicate-rate', '0.1', '--stall-after', '200', '--seed', '4'];

/** Quick retries, and a liveness timeout short enough to catch the stall in a second. */
const FAST = { reconnect: { transientBaseMs: 100, transientCapMs: 300 }, livenessTimeoutMs: 1000, seed: 9 };

/** Records everything a connection emits, in one list. */
function record(live) {
  const events = [];
  const states = [];
  const timeline = [];
  live.on('decodedData', (e) => {
    events.push(e);
    timeline.push(e);
  });
  for (const name of ['connecting', 'connected', 'reconnecting', 'disconnected', 'stopped', 'streamEnd', 'error']) {
    live.on(name, (s) => {
      states.push(s);
      timeline.push(s);
    });
  }
  const infos = [];
  live.on('roomInfo', (i) => infos.push(i));
  const stopped = new Promise((resolve) => live.on('stopped', resolve));
  return {
    events,
    states,
    infos,
    stopped,
    named: (n) => states.filter((s) => s.state === n),
    /** States named `n` before the last message: once everything is sent the mock goes
     * quiet, which the short liveness timeout also (rightly) takes for a dead socket. */
    namedBeforeLast: (n) => {
      const last = timeline.findLastIndex((x) => x.type !== 'state');
      return timeline.slice(0, last).filter((x) => x.type === 'state' && x.state === n);
    },
  };
}

async function assertExactlyOnce(mock, r) {
  const stats = await mock.stats();
  const ids = messageIds(r.events);
  assert.equal(new Set(ids).size, ids.length, 'a message was delivered twice');
  assert.deepEqual(ids, expectedIds(stats.messages), 'every message, in order, none missing');
  assert.ok(stats.drops >= 3 && stats.stalls === 1, `faults really happened: ${JSON.stringify(stats)}`);
  assert.ok(stats.duplicatesSent >= 10, `duplicates really sent: ${JSON.stringify(stats)}`);
  assert.equal(stats.reconnectsServed, stats.connections - 1, 'every reconnect resumed from its cursor');
  assert.equal(r.namedBeforeLast('connected').length, stats.drops + stats.stalls + 1);
  const reconnecting = r.namedBeforeLast('reconnecting');
  assert.equal(reconnecting.length, stats.drops + stats.stalls, 'one reconnect per drop or stall');
  for (const s of reconnecting) {
    assert.equal(s.class, 'transient');
    assert.equal(typeof s.delayMs, 'number');
    assert.ok(s.attempt >= 1);
  }
  assert.equal(r.namedBeforeLast('disconnected').filter((d) => d.code === 4006).length, 1, 'the stall is caught by the liveness timeout');
  assert.ok(r.named('disconnected').some((d) => d.code === 1006), 'drops arrive as 1006');
  return stats;
}

test('relay: every message exactly once through drops, duplicates and a stall; states and room info', { skip }, async () => {
  const mock = await startMock(FAULTS);
  try {
    const live = new TikTokLiveConnection('@Ada.Demo', { relay: { url: mock.relayUrl }, WebSocket, ...FAST });
    const r = record(live);
    const seenStates = [];
    live.on('connecting', () => seenStates.push(live.state));
    live.on('reconnecting', () => seenStates.push(live.state));
    assert.equal(live.state, 'idle');
    assert.equal((await live.connect()).isConnected, true);
    const total = (await mock.stats()).messages;
    await until(() => messageIds(r.events).length >= total, 20_000, `${total} messages (${mock.log()})`);
    const stats = await assertExactlyOnce(mock, r);
    assert.equal(stats.acks, 0, 'relays are not acked');
    assert.equal(r.named('connecting')[0].attempt, 0);
    assert.equal(seenStates[0], 'connecting');
    assert.ok(seenStates.includes('reconnecting'), `state went through reconnecting: ${seenStates}`);
    // The mock's room description, parsed, at most once per connection.
    assert.ok(r.infos.length >= 1 && r.infos.length <= stats.connections);
    assert.equal(r.infos[0].type, 'roomInfo');
    assert.equal(r.infos[0].data.uniqueId, 'ada.demo');
    assert.equal(r.infos[0].data.roomId, MOCK_ROOM_ID);
    // Typed payloads, 64-bit ids as strings.
    const chat = r.events.find((e) => e.type === 'chat');
    assert.equal(typeof chat.comment, 'string');
    assert.match(chat.user.uniqueId, /\.mock$/);
    assert.match(chat.msgId, /^74\d{17}$/);
    const s = await live.stats();
    assert.equal(s.messages, total);
    assert.ok(s.duplicates >= 1);
    live.disconnect();
    const last = await r.stopped;
    assert.equal(last.code, 'stopped');
    assert.equal(live.state, 'stopped');
  } finally {
    await mock.stop();
  }
});

test('signedUrl (TikTok-style): enter-room, heartbeats, acks, resume; every message exactly once', { skip }, async () => {
  const mock = await startMock(FAULTS);
  try {
    let signed = 0;
    const live = new TikTokLiveConnection('mock.host', {
      signedUrl: async () => {
        signed++;
        await new Promise((r) => setTimeout(r, 5));
        return mock.directUrl;
      },
      roomId: MOCK_ROOM_ID,
      WebSocket,
      ...FAST,
    });
    const r = record(live);
    assert.equal((await live.connect()).isConnected, true);
    const total = (await mock.stats()).messages;
    await until(() => messageIds(r.events).length >= total, 20_000, `${total} messages (${mock.log()})`);
    const stats = await assertExactlyOnce(mock, r);
    assert.ok(stats.acks >= 40, `acks checked by the mock: ${JSON.stringify(stats)}`);
    assert.ok(stats.heartbeats >= stats.connections, `heartbeats: ${JSON.stringify(stats)}`);
    assert.deepEqual(stats.closes, {}, 'the mock never closed us for a protocol fault');
    live.disconnect();
    await r.stopped;
    assert.equal(signed, r.named('connecting').length, 'one freshly signed URL per attempt');
  } finally {
    await mock.stop();
  }
});

test('a bad JWT: connect() rejects with invalid_auth, no retry loop', { skip }, async () => {
  const mock = await startMock(['--messages', '10', '--jwt-secret', 'relay-secret']);
  try {
    const cases = [
      [jwt('wrong-secret', { exp: inAnHour() }), 'invalid_auth', 4401],
      [jwt('relay-secret', { exp: 1_000_000_000 }), 'invalid_auth', 4401],
      [jwt('relay-secret', { exp: inAnHour(), allowedCreators: ['someone.else'] }), 'no_permission', 4403],
    ];
    for (const [token, code, closeCode] of cases) {
      const live = new TikTokLiveConnection('ada.demo', { relay: { url: mock.relayUrl, jwt: token }, WebSocket, ...FAST });
      const r = record(live);
      const started = Date.now();
      await assert.rejects(live.connect(), (e) => {
        assert.ok(e instanceof TikcastError, `a TikcastError: ${e}`);
        assert.equal(e.code, code);
        assert.ok(!e.message.includes(token), 'the credential is never in a message');
        return true;
      });
      const last = await r.stopped;
      assert.equal(last.code, code);
      assert.equal(last.closeCode, closeCode);
      assert.ok(last.error instanceof TikcastError);
      assert.equal(r.named('connecting').length, 1, 'no retry loop');
      assert.equal(r.named('reconnecting').length, 0);
      assert.equal(live.state, 'stopped');
      assert.ok(Date.now() - started < 5000);
    }
  } finally {
    await mock.stop();
  }
});

test('getJwt is called for a fresh token before every attempt', { skip }, async () => {
  const mock = await startMock(['--messages', '120', '--rate', '0', '--drop-after', '50', '--jwt-secret', 'relay-secret']);
  try {
    let calls = 0;
    const live = new TikTokLiveConnection('ada.demo', {
      relay: {
        url: mock.relayUrl,
        getJwt: async () => {
          calls++;
          return jwt('relay-secret', { exp: inAnHour(), allowedCreators: ['ada.demo'] });
        },
      },
      WebSocket,
      ...FAST,
    });
    const r = record(live);
    await live.connect();
    await until(() => messageIds(r.events).length >= 120, 10_000, '120 messages');
    assert.deepEqual(messageIds(r.events), expectedIds(120));
    assert.equal(r.named('connecting').length, 3, 'two drops, three connections');
    assert.equal(calls, 3);
    live.disconnect();
    await r.stopped;
  } finally {
    await mock.stop();
  }
});

test('a streak whose end never comes gets its final gift with timedOut', { skip }, async () => {
  const dir = await mkdtemp(`${tmpdir()}/tikcast-js-test-`);
  const script = `${dir}/script.jsonl`;
  await writeFile(
    script,
    [
      { type: 'gift', user: 'ada.test', streakable: true, repeatCount: 1, repeatEnd: false, groupId: 7 },
      { type: 'gift', user: 'ada.test', streakable: true, repeatCount: 2, repeatEnd: false, groupId: 7 },
      { type: 'chat', user: 'bo.test', comment: 'and then nothing' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const mock = await startMock(['--script', script, '--rate', '0']);
  try {
    const live = new TikTokLiveConnection('ada.demo', { relay: { url: mock.relayUrl }, WebSocket, giftStreakTimeoutMs: 300, livenessTimeoutMs: 10_000 });
    const streaks = [];
    const gifts = [];
    live.on('giftStreak', (e) => streaks.push(e.repeatCount));
    live.on('gift', (e) => gifts.push(e));
    await live.connect();
    await until(() => gifts.length === 1, 5000, 'the timed-out final gift');
    assert.deepEqual(streaks, [1, 2]);
    assert.equal(gifts[0].repeatCount, 2);
    assert.equal(gifts[0].timedOut, true);
    assert.equal(gifts[0].repeatEnd, true, 'a final gift, though its end never came');
    assert.equal(gifts[0].user.uniqueId, 'ada.test');
    assert.equal(gifts[0].giftName, 'Rose');
    live.disconnect();
  } finally {
    await mock.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unreachable relay rejects connect() at once with unreachable, or after maxAttempts with failFast off', async () => {
  // A port nothing listens on: every attempt fails at once.
  const t = performance.now();
  const live = new TikTokLiveConnection('ada.demo', { relay: { url: 'ws://127.0.0.1:9/ws' }, WebSocket });
  const r = record(live);
  await assert.rejects(live.connect(), (e) => e instanceof TikcastError && e.code === 'unreachable' && /connection refused at .*: start the relay/.test(e.message));
  assert.ok(performance.now() - t < 5000, 'within one attempt, not after minutes of retries');
  assert.equal(r.named('connecting').length, 1);
  assert.equal(r.named('reconnecting').length, 0);

  const patient = new TikTokLiveConnection('ada.demo', {
    relay: { url: 'ws://127.0.0.1:9/ws' },
    WebSocket,
    reconnect: { failFast: false, maxAttempts: 2, transientBaseMs: 10, transientCapMs: 20 },
  });
  const p = record(patient);
  await assert.rejects(patient.connect(), (e) => e instanceof TikcastError && e.code === 'attempts_exhausted');
  assert.equal(p.named('connecting').length, 3);
  assert.equal(p.named('reconnecting').length, 2);
});

test('no WebSocket implementation rejects connect() with no_websocket at once', async () => {
  if (typeof globalThis.WebSocket === 'function') return; // Node 22+ has one
  const live = new TikTokLiveConnection('ada.demo', { relay: { url: 'ws://127.0.0.1:9/ws' } });
  await assert.rejects(live.connect(), (e) => e instanceof TikcastError && e.code === 'no_websocket' && /ws/.test(e.message));
  assert.equal(live.state, 'idle');
});

test('a relay url that is not ws:// rejects connect() with invalid_url', async () => {
  const live = new TikTokLiveConnection('ada.demo', { relay: { url: 'https://relay.example/ws' }, WebSocket });
  await assert.rejects(live.connect(), (e) => e instanceof TikcastError && e.code === 'invalid_url' && /wss:\/\/relay\.example\/ws/.test(e.message));
});

test('disconnect() right after connect(), before it has loaded: connect() rejects with stopped', async () => {
  const live = new TikTokLiveConnection('ada.demo', { relay: { url: 'ws://127.0.0.1:9/ws' }, WebSocket });
  const r = record(live);
  const connecting = live.connect();
  live.disconnect();
  await assert.rejects(connecting, (e) => e instanceof TikcastError && e.code === 'stopped');
  assert.equal(live.state, 'stopped');
  assert.equal((await r.stopped).code, 'stopped');
  assert.equal(r.named('connected').length, 0);
});
