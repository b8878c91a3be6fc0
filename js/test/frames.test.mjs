// TikTokLiveConnection without a socket (`frames: true` + pushFrame): the facade's
// listeners, listener-aware decoding, the async iterator, gift streaks, errors.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import test from 'node:test';

import { ControlEvent, TikTokLiveConnection, TikcastError, WebcastEvent, init } from 'tikcast';
import { REPO } from './helpers.mjs';

const demo = new Uint8Array(await readFile(`${REPO}tests/fixtures/demo-frame.bin`));
await init();

/** A started frames connection and a log of every event name it emitted. */
async function framesConnection(options = {}) {
  const live = new TikTokLiveConnection('@ada.demo', { frames: true, ...options });
  const log = [];
  for (const name of ['connecting', 'connected', 'reconnecting', 'disconnected', 'stopped', 'error']) {
    live.on(name, (s) => log.push(`state:${s.state}`));
  }
  return { live, log };
}

test('constructor: exactly one transport', () => {
  for (const options of [{}, { frames: true, relay: { url: 'ws://127.0.0.1:1/ws' } }, { frames: true, signedUrl: () => 'ws://x' }]) {
    assert.throws(
      () => new TikTokLiveConnection('ada.demo', options),
      (e) => e instanceof TikcastError && e.code === 'invalid_options',
    );
  }
  assert.equal(new TikTokLiveConnection('@ada.demo', { frames: true }).uniqueId, 'ada.demo');
});

test('WebcastEvent and ControlEvent name the events', () => {
  assert.equal(WebcastEvent.CHAT, 'chat');
  assert.equal(WebcastEvent.GIFT_STREAK, 'giftStreak');
  assert.equal(ControlEvent.CONNECTED, 'connected');
  assert.equal(ControlEvent.DECODED_DATA, 'decodedData');
});

test('pushFrame before connect() is not_connected', () => {
  const live = new TikTokLiveConnection('ada.demo', { frames: true });
  assert.throws(() => live.pushFrame(demo), (e) => e instanceof TikcastError && e.code === 'not_connected');
});

test('frames: connect() resolves, events arrive typed and in order, disconnect() stops', async () => {
  const { live, log } = await framesConnection();
  assert.equal(live.state, 'idle');
  const events = [];
  live.on('decodedData', (e) => events.push(e));
  const chats = [];
  live.on('chat', (e) => chats.push(`${e.user.uniqueId}: ${e.comment}`));
  assert.equal((await live.connect()).isConnected, true);
  assert.equal(live.state, 'connected');
  await assert.rejects(live.connect(), (e) => e instanceof TikcastError && e.code === 'already_connected');
  live.pushFrame(demo);
  assert.deepEqual(
    events.map((e) => e.type),
    ['member', 'chat', 'chat', 'chat', 'giftRaw', 'giftStreak', 'giftRaw', 'giftStreak', 'giftRaw', 'gift', 'like', 'social', 'follow', 'social', 'share', 'roomUser', 'unknown'],
  );
  assert.deepEqual(chats, ['ada.demo: hello from the demo room', 'bo.demo: welcome in!', 'cy.demo: <img src=x onerror=alert(1)>']);
  // The same frame again: all duplicates, nothing emitted.
  live.pushFrame(demo);
  assert.equal(events.length, 17);
  const stats = await live.stats();
  assert.equal(stats.duplicates, 12);
  assert.equal(stats.messages, 12);
  assert.equal(stats.skipped, 0, 'decodedData wants everything');
  // A frame that does not decode is an `error` state; the connection survives it.
  const errors = [];
  live.on('error', (s) => errors.push(s));
  live.pushFrame(new Uint8Array([0x42, 0x64, 0x01]));
  assert.equal(errors.length, 1);
  assert.ok(errors[0].error instanceof TikcastError);
  assert.equal(errors[0].error.code, 'decode_failed');
  assert.equal(live.state, 'connected');

  const stopped = new Promise((resolve) => live.once('stopped', resolve));
  live.disconnect();
  const s = await stopped;
  assert.equal(s.code, 'stopped');
  assert.equal(s.error, undefined, 'a requested stop is no error');
  assert.equal(live.state, 'stopped');
  assert.deepEqual(log, ['state:connecting', 'state:connected', 'state:error', 'state:disconnected', 'state:stopped']);
  assert.throws(() => live.pushFrame(demo), (e) => e instanceof TikcastError && e.code === 'not_connected');
});

test('gift streaks: giftStreak while running, one final gift, giftRaw for each message', async () => {
  const { live } = await framesConnection();
  const streak = [];
  const gifts = [];
  const raw = [];
  live.on('giftStreak', (e) => streak.push([e.giftName, e.repeatCount, e.repeatEnd]));
  live.on('gift', (e) => gifts.push([e.user.uniqueId, e.giftName, e.repeatCount, e.repeatEnd, e.timedOut, e.diamondCount]));
  live.on('giftRaw', (e) => raw.push(e.repeatCount));
  await live.connect();
  live.pushFrame(demo);
  assert.deepEqual(streak, [
    ['Rose', 1, false],
    ['Rose', 2, false],
  ]);
  assert.deepEqual(gifts, [['ada.demo', 'Rose', 3, true, false, 1]]);
  assert.deepEqual(raw, [1, 2, 3]);
  live.disconnect();
});

test('listener-aware decoding: only what someone listens to is decoded, visible in stats().skipped', async () => {
  const { live } = await framesConnection();
  const chats = [];
  live.on(WebcastEvent.CHAT, (e) => chats.push(e.comment));
  await live.connect();
  live.pushFrame(demo);
  assert.equal(chats.length, 3);
  const stats = await live.stats();
  // 12 messages: 3 chats decoded, the other 9 skipped (member, 3 gifts, like, 2 socials,
  // roomUser, the unknown one).
  assert.equal(stats.messages, 3);
  assert.equal(stats.skipped, 9);
  live.disconnect();

  // `follow` is derived from social messages, so those are decoded for it.
  const b = await framesConnection();
  const follows = [];
  b.live.on('follow', (e) => follows.push(e.user.uniqueId));
  await b.live.connect();
  b.live.pushFrame(demo);
  assert.deepEqual(follows, ['cy.demo']);
  assert.deepEqual([(await b.live.stats()).messages, (await b.live.stats()).skipped], [2, 10]);
  b.live.disconnect();

  // An open async iterator wants everything.
  const c = await framesConnection();
  c.live.on('chat', () => {});
  await c.live.connect();
  const it = c.live.events();
  c.live.pushFrame(demo);
  assert.equal((await c.live.stats()).skipped, 0);
  await it.return();
  c.live.disconnect();
});

test('once, off and the unsubscribe function', async () => {
  const { live } = await framesConnection();
  const once = [];
  const kept = [];
  const removed = [];
  const unsubscribed = [];
  live.once('chat', (e) => once.push(e.comment));
  live.on('chat', (e) => kept.push(e.comment));
  const removedListener = (e) => removed.push(e.comment);
  live.on('chat', removedListener);
  live.off('chat', removedListener);
  const unsubscribe = live.on('chat', (e) => unsubscribed.push(e.comment));
  unsubscribe();
  unsubscribe(); // twice is harmless
  // A throwing listener does not stop the others; its error is rethrown from a
  // microtask (caught here, so the test runner does not count it as a failure).
  const thrown = [];
  const queue = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (fn) =>
    queue(() => {
      try {
        fn();
      } catch (e) {
        thrown.push(e.message);
      }
    });
  live.on('chat', () => {
    throw new Error('listener bug');
  });
  await live.connect();
  live.pushFrame(demo);
  assert.deepEqual(once, ['hello from the demo room']);
  assert.deepEqual(kept, ['hello from the demo room', 'welcome in!', '<img src=x onerror=alert(1)>']);
  assert.deepEqual(removed, []);
  assert.deepEqual(unsubscribed, []);
  await new Promise((r) => setTimeout(r, 10));
  globalThis.queueMicrotask = queue;
  assert.deepEqual(thrown, ['listener bug', 'listener bug', 'listener bug']);
  live.disconnect();
});

test('the async iterator yields every event in order and ends on disconnect()', async () => {
  const { live } = await framesConnection();
  await live.connect();
  const seen = [];
  const done = (async () => {
    for await (const e of live) {
      seen.push(e.type);
      if (e.type === 'unknown') live.disconnect();
    }
    return 'ended';
  })();
  live.pushFrame(demo);
  assert.equal(await done, 'ended');
  assert.equal(seen.length, 17);
  assert.equal(seen[0], 'member');
  assert.equal(seen.at(-1), 'unknown');
  // A new iterator on a stopped connection ends at once.
  assert.deepEqual(await live.events().next(), { value: undefined, done: true });
});

test('worker: true needs Web Workers: connect() rejects with invalid_options in Node', async () => {
  const live = new TikTokLiveConnection('ada.demo', { frames: true, worker: true });
  await assert.rejects(live.connect(), (e) => e instanceof TikcastError && e.code === 'invalid_options' && /Web Workers/.test(e.message));
});

test('rawData: every pushed frame, raw, before its events; it turns skipping off', async () => {
  const { live } = await framesConnection();
  const order = [];
  const raw = [];
  live.on('rawData', (r) => {
    order.push('rawData');
    raw.push(r);
  });
  live.on('chat', () => order.push('chat'));
  await live.connect();
  live.pushFrame(demo);
  assert.equal(raw.length, 1);
  assert.equal(raw[0].type, 'rawData');
  assert.ok(raw[0].bytes instanceof Uint8Array);
  assert.deepEqual(raw[0].bytes, demo);
  assert.deepEqual(order, ['rawData', 'chat', 'chat', 'chat']);
  assert.equal((await live.stats()).skipped, 0);
  live.disconnect();
});

test('disconnect() right after connect(), before it has loaded, still stops', async () => {
  const { live, log } = await framesConnection();
  const connecting = live.connect();
  live.disconnect();
  // Pushed frames connect synchronously on start, so connect() resolves, and the
  // requested stop follows at once (a socket transport rejects instead: see
  // connection.test.mjs).
  assert.equal((await connecting).isConnected, true);
  assert.equal(live.state, 'stopped');
  assert.equal(log.at(-1), 'state:stopped');
  // And it can connect again afterwards.
  assert.equal((await live.connect()).isConnected, true);
  live.disconnect();
  assert.equal(live.state, 'stopped');
});

/** Protobuf bytes: a varint, and a length-delimited field. */
function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function lenField(field, bytes) {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

test('a hostile frame within the 4 MiB cap costs milliseconds, not the tab', async () => {
  // 200,000 empty gzip members: it used to take seconds of CPU (quadratic inflate);
  // now the member cap refuses it at once and the next frame decodes as usual.
  const member = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const payload = new Uint8Array(member.length * 200_000);
  for (let i = 0; i < 200_000; i++) payload.set(member, i * member.length);
  const enc = new TextEncoder();
  const header = lenField(5, [...lenField(1, enc.encode('compress_type')), ...lenField(2, enc.encode('gzip'))]);
  const head = [...header, ...lenField(7, enc.encode('msg')), ...varint((8 << 3) | 2), ...varint(payload.length)];
  const frame = new Uint8Array(head.length + payload.length);
  frame.set(head);
  frame.set(payload, head.length);
  assert.ok(frame.length <= 4 * 1024 * 1024);

  const { live } = await framesConnection();
  const errors = [];
  live.on('error', (s) => errors.push(s));
  const chats = [];
  live.on('chat', (e) => chats.push(e.comment));
  await live.connect();
  const t = performance.now();
  live.pushFrame(frame);
  const took = performance.now() - t;
  assert.ok(took < 500, `took ${took} ms`);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error.code, 'decode_failed');
  assert.equal(errors[0].error.detail, 'too_many');
  assert.match(errors[0].message, /too many gzip members/);
  live.pushFrame(demo);
  assert.equal(chats.length, 3, 'the connection carries on');
  live.disconnect();
});
