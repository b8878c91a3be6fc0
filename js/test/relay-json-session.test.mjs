// The session rules for JSON-relay events (relay-json-session.ts) against the same
// expectations as the core's fake-clock tests (crates/tikcast-core/tests/session.rs:
// dedup, history, streaks, like aggregation), then through a connection to a local
// JSON-speaking relay: steps → giftStreak, the end → one gift, duplicates dropped.
import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';

import { TikTokLiveConnection, init } from 'tikcast';
// Internal modules (not exported by the package): tested directly.
import { relayJsonMessages } from '../dist/relay-json.js';
import { MsgIdWindow, RelayJsonSession } from '../dist/relay-json-session.js';
import { shapeProblems } from './event-shape.mjs';
import { until } from './helpers.mjs';

await init();

/** A hosted relay's gift message (group 42 unless given), as TikTool sends it. */
const gift = (msgId, from, streakable, count, end, groupId = 42) => ({
  event: 'gift',
  data: { type: 'gift', msgId: String(msgId), giftId: 5655, giftName: 'Rose', giftType: streakable ? 1 : 2, diamondCount: 1, repeatCount: count, repeatEnd: end, groupId, user: { id: String(from), uniqueId: `u${from}` } },
});
const chat = (msgId, extra = {}) => ({ event: 'chat', data: { msgId: String(msgId), comment: `c${msgId}`, user: { uniqueId: 'ada' }, ...extra } });
const like = (msgId, from, count, total) => ({ event: 'like', data: { msgId: String(msgId), likeCount: count, totalLikes: total, user: { id: String(from) } } });

/** Feeds relay messages; returns what the session delivers. */
function feed(s, now, ...messages) {
  const out = [];
  for (const m of messages) for (const events of relayJsonMessages(m)) out.push(...s.onMessage(now, events));
  for (const e of out) assert.deepEqual(shapeProblems(e), [], `${e.type}: ${shapeProblems(e).join('; ')}`);
  return out;
}
const kinds = (out) => out.map((e) => [e.type, e.repeatCount]);

test('duplicates are dropped by msgId; messages without one always pass', () => {
  const s = new RelayJsonSession();
  assert.deepEqual(feed(s, 0, chat(1), chat(2), chat(1)).map((e) => e.msgId), ['1', '2']);
  assert.deepEqual(feed(s, 0, chat(2), chat(3)).map((e) => e.msgId), ['3']);
  assert.equal(s.stats.duplicates, 2);
  assert.deepEqual(feed(s, 0, chat(0), chat(0), { event: 'chat', data: { comment: 'no id' } }).length, 3);
});

test('the dedup window is bounded and the least recently seen goes first', () => {
  const s = new RelayJsonSession({ dedupCapacity: 3 });
  assert.deepEqual(feed(s, 0, chat(1), chat(2), chat(3)).map((e) => e.msgId), ['1', '2', '3']);
  // Seeing 1 again refreshes it, so 2 is now the least recently seen.
  assert.deepEqual(feed(s, 0, chat(1)), []);
  assert.deepEqual(feed(s, 0, chat(4)).map((e) => e.msgId), ['4']);
  assert.deepEqual(feed(s, 0, chat(1), chat(2)).map((e) => e.msgId), ['2']);
  const w = new MsgIdWindow(10_000);
  for (let id = 0; id < 25_000; id++) assert.ok(w.firstSighting(String(id)));
  assert.equal(w.size, 10_000);
  assert.ok(w.firstSighting('0'), 'evicted long ago');
  assert.ok(!w.firstSighting('24999'));
});

test('history is flagged, or dropped on request', () => {
  const old = chat(5, { isHistory: true });
  const kept = feed(new RelayJsonSession(), 0, old, chat(6));
  assert.deepEqual(kept.map((e) => [e.msgId, e.isHistory]), [['5', true], ['6', false]]);
  const s = new RelayJsonSession({ processInitialData: false });
  assert.deepEqual(feed(s, 0, old, chat(6)).map((e) => e.msgId), ['6']);
  assert.equal(s.stats.historyDropped, 1);
});

test('a streak gives updates and exactly one final gift; a non-streakable gift is one gift', () => {
  const s = new RelayJsonSession();
  const seen = feed(s, 0, gift(100, 9, true, 1, false), gift(101, 9, true, 2, false), gift(102, 9, true, 3, false), gift(103, 9, true, 4, true));
  assert.deepEqual(kinds(seen), [
    ['giftRaw', 1], ['giftStreak', 1], ['giftRaw', 2], ['giftStreak', 2], ['giftRaw', 3], ['giftStreak', 3], ['giftRaw', 4], ['gift', 4],
  ]);
  assert.equal(seen.at(-1).timedOut, false);
  assert.equal(s.nextDeadline(), null, 'nothing left to time out');
  assert.deepEqual(kinds(feed(s, 0, gift(200, 9, false, 1, false))), [['giftRaw', 1], ['gift', 1]]);
});

test('a streak without end times out once; its late end is only a raw gift', () => {
  const s = new RelayJsonSession();
  feed(s, 0, gift(1, 9, true, 1, false));
  feed(s, 4_000, gift(2, 9, true, 5, false));
  assert.equal(s.nextDeadline(), 14_000);
  assert.deepEqual(s.handleTimeout(13_999), []);
  const out = s.handleTimeout(14_000);
  assert.deepEqual(out.map((g) => [g.type, g.repeatCount, g.timedOut, g.repeatEnd]), [['gift', 5, true, true]]);
  assert.deepEqual(shapeProblems(out[0]), []);
  assert.deepEqual(kinds(feed(s, 14_001, gift(3, 9, true, 6, true))), [['giftRaw', 6]]);
});

test('an ended streak gets no second final gift, but a new group does', () => {
  const s = new RelayJsonSession({ giftRaw: false });
  let now = 0;
  const types = (m) => feed(s, now, m).map((e) => e.type);
  assert.deepEqual(types(gift(1, 9, true, 1, false, 7)), ['giftStreak']);
  assert.deepEqual(types(gift(2, 9, true, 2, true, 7)), ['gift']);
  // The end resent under a new msg id, and a late update: nothing more.
  assert.deepEqual(types(gift(3, 9, true, 2, true, 7)), []);
  assert.deepEqual(types(gift(4, 9, true, 1, false, 7)), []);
  // The sender's next streak (a new group) is its own.
  assert.deepEqual(types(gift(5, 9, true, 1, false, 8)), ['giftStreak']);
  assert.deepEqual(types(gift(6, 9, true, 3, true, 8)), ['gift']);
  // Once the late window (the streak timeout) has passed, group 7 may start again.
  now += 10_000;
  assert.deepEqual(types(gift(7, 9, true, 1, false, 7)), ['giftStreak']);
  // Without a group id two streaks cannot be told apart, so none is suppressed.
  assert.deepEqual(types(gift(8, 9, true, 1, true, 0)), ['gift']);
  assert.deepEqual(types(gift(9, 9, true, 1, false, 0)), ['giftStreak']);
});

test('streaks are per sender and flushed on stop', () => {
  const s = new RelayJsonSession({ giftRaw: false });
  feed(s, 0, gift(1, 9, true, 1, false), gift(2, 8, true, 1, false));
  feed(s, 0, gift(3, 9, true, 2, true));
  const out = s.flush();
  assert.deepEqual(out.map((g) => [g.type, g.user.userId, g.timedOut, g.repeatEnd]), [['gift', '8', true, true]]);
  assert.deepEqual(s.flush(), []);
});

test('like aggregation is off by default and merges per user when on', () => {
  const off = new RelayJsonSession();
  assert.deepEqual(feed(off, 0, like(1, 9, 5, 100), like(2, 9, 3, 103)).map((e) => e.type), ['like', 'like']);
  assert.equal(off.nextDeadline(), null);
  const s = new RelayJsonSession({ likeAggregateMs: 2_000 });
  feed(s, 0, like(1, 9, 5, 100), like(2, 8, 1, 101));
  feed(s, 1_000, like(3, 9, 3, 104));
  assert.equal(s.nextDeadline(), 2_000);
  const merged = s.handleTimeout(2_000);
  for (const e of merged) assert.deepEqual(shapeProblems(e), []);
  assert.deepEqual(merged.map((l) => [l.type, l.user.userId, l.likeCount, l.totalLikeCount, l.batches]).sort(), [
    ['likeAggregate', '8', 1, 101, 1],
    ['likeAggregate', '9', 8, 104, 2],
  ]);
});

test('a JSON relay through a connection: steps are giftStreak, the end one gift, duplicates dropped, a cut streak ends on disconnect', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (socket) => {
    socket.send(JSON.stringify({ event: 'roomInfo', roomId: '7300000000000000001' }));
    for (const m of [
      gift(11, 9, true, 1, false),
      gift(12, 9, true, 2, false),
      gift(12, 9, true, 2, false), // the same message again
      gift(13, 9, true, 3, true),
      chat(14),
      chat(14),
      gift(15, 8, true, 1, false), // still running at disconnect
      { event: 'control', data: { action: 1, msgId: '16' } },
    ]) socket.send(JSON.stringify(m));
  });
  const { port } = wss.address();
  const live = new TikTokLiveConnection('@ada.demo', { relay: { url: `ws://127.0.0.1:${port}/ws` }, WebSocket });
  const got = [];
  for (const name of ['gift', 'giftStreak', 'giftRaw', 'chat', 'controlMessage']) {
    live.on(name, (e) => got.push([name, e.msgId, e.repeatCount ?? null, e.timedOut ?? null, shapeProblems(e)]));
  }
  await live.connect();
  await until(() => got.some(([n]) => n === 'controlMessage'), 5000, 'the relay messages');
  const stopped = new Promise((r) => live.once('stopped', r));
  live.disconnect();
  await stopped;
  for (const [, , , , problems] of got) assert.deepEqual(problems, []);
  assert.deepEqual(
    got.map(([n, id, count, timedOut]) => [n, id, count, timedOut]),
    [
      ['giftRaw', '11', 1, false],
      ['giftStreak', '11', 1, false],
      ['giftRaw', '12', 2, false],
      ['giftStreak', '12', 2, false],
      ['giftRaw', '13', 3, false],
      ['gift', '13', 3, false],
      ['chat', '14', null, null],
      ['giftRaw', '15', 1, false],
      ['giftStreak', '15', 1, false],
      ['controlMessage', '16', null, null],
      // disconnect(): the running streak gets its final gift, repeatEnd set.
      ['gift', '15', 1, true],
    ],
  );
  const stats = await live.stats();
  assert.equal(stats.jsonDuplicates, 2);
});

test('a JSON relay through a connection: the streak timeout and like windows fire on their own', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (socket) => {
    for (const m of [gift(21, 9, true, 2, false), like(22, 9, 5, 50), like(23, 9, 2, 52)]) socket.send(JSON.stringify(m));
  });
  const { port } = wss.address();
  const live = new TikTokLiveConnection('@ada.demo', { relay: { url: `ws://127.0.0.1:${port}/ws` }, WebSocket, giftStreakTimeoutMs: 150, likeAggregateMs: 100 });
  const gifts = [];
  const merged = [];
  live.on('gift', (e) => gifts.push([e.msgId, e.repeatCount, e.timedOut, e.repeatEnd, shapeProblems(e)]));
  live.on('likeAggregate', (e) => merged.push([e.user.userId, e.likeCount, e.totalLikeCount, e.batches, shapeProblems(e)]));
  const t0 = Date.now();
  await live.connect();
  await until(() => gifts.length === 1 && merged.length === 1, 5000, 'the timed-out gift and the like window');
  assert.ok(Date.now() - t0 >= 100);
  assert.deepEqual(gifts, [['21', 2, true, true, []]]);
  assert.deepEqual(merged, [['9', 7, 52, 2, []]]);
  const stopped = new Promise((r) => live.once('stopped', r));
  live.disconnect();
  await stopped;
  assert.equal(gifts.length, 1, 'no second final gift at stop');
});
