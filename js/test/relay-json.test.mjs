// Hosted relays that send JSON text instead of TikTok's frames: `fromRelayJson` on its
// own, and a TikTokLiveConnection against a small `ws` server speaking that dialect.
import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';

import { TikTokLiveConnection, init } from 'tikcast';
// Internal module (not exported by the package): tested directly for its edge cases.
import { fromRelayJson } from '../dist/relay-json.js';
import { until } from './helpers.mjs';

await init();

test('fromRelayJson: TikTool-style { event, data }', () => {
  const [e] = fromRelayJson({ event: 'chat', data: { comment: 'hi', user: { uniqueId: 'ada' }, msgId: '7400000000000000001', createTime: 5 } });
  assert.equal(e.type, 'chat');
  assert.equal(e.comment, 'hi');
  assert.equal(e.user.uniqueId, 'ada');
  assert.equal(e.msgId, '7400000000000000001');
  assert.equal(e.createTime, 5);
  // Absent ids are "0", as the binary path gives them.
  assert.equal(e.roomId, '0');
  assert.equal(e.isHistory, false);
  // Relay vocabulary maps to our names; common fields are read from `common` too.
  const [v] = fromRelayJson({ event: 'roomUserSeq', data: { viewerCount: 12, common: { msgId: 42, roomId: 7, createTime: '9' } } });
  assert.deepEqual([v.type, v.viewerCount, v.msgId, v.roomId, v.createTime], ['roomUser', 12, '42', '7', 9]);
  const [u] = fromRelayJson({ event: 'somethingNew', data: { x: 1 } });
  assert.deepEqual([u.type, u.method, u.extra.x], ['unknown', 'somethingNew', 1]);
});

test('fromRelayJson: Euler-style bundles { messages: [{ type, data }] }', () => {
  const events = fromRelayJson({
    messages: [
      { type: 'WebcastGiftMessage', data: { giftName: 'Rose', repeatCount: 3, msgId: '1' } },
      { type: 'WebcastLikeMessage', data: { likeCount: 5, msgId: '2' } },
      { type: 'workerInfo', data: {} },
      null,
      { nope: true },
    ],
  });
  assert.deepEqual(
    events.map((e) => [e.type, e.msgId]),
    [
      ['gift', '1'],
      ['like', '2'],
    ],
  );
  assert.equal(events[0].giftName, 'Rose');
});

test('fromRelayJson: room descriptions and junk are not events', () => {
  for (const m of [null, undefined, 'text', 42, { type: 'roomInfo', roomId: '1' }, { event: 'roomInfo', data: {} }, { event: 'ping' }, { messages: [] }, { messages: [{ type: 'workerInfo' }] }]) {
    assert.equal(fromRelayJson(m), null, JSON.stringify(m));
  }
});

test('a JSON-speaking relay: its text messages become events; other text is roomInfo', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  const requests = [];
  wss.on('connection', (socket, req) => {
    requests.push(new URL(req.url, 'http://x').searchParams);
    socket.send(JSON.stringify({ type: 'roomInfo', roomId: '7300000000000000001', isLive: true }));
    socket.send(JSON.stringify({ event: 'chat', data: { comment: 'from json', user: { uniqueId: 'ada.json' }, msgId: '11' } }));
    socket.send(JSON.stringify({ messages: [{ type: 'WebcastMemberMessage', data: { user: { uniqueId: 'bo.json' }, msgId: '12' } }, { type: 'roomUserSeq', data: { viewerCount: 99, msgId: '13' } }] }));
    socket.send('not json at all');
  });
  const { port } = wss.address();
  const live = new TikTokLiveConnection('@ada.demo', { relay: { url: `ws://127.0.0.1:${port}/ws`, jwt: 'token-123' }, WebSocket });
  const chats = [];
  const members = [];
  const viewers = [];
  const infos = [];
  live.on('chat', (e) => chats.push([e.comment, e.user.uniqueId, e.msgId]));
  live.on('member', (e) => members.push(e.user.uniqueId));
  live.on('roomUser', (e) => viewers.push(e.viewerCount));
  live.on('roomInfo', (i) => infos.push(i.data));
  assert.equal((await live.connect()).isConnected, true);
  await until(() => infos.length === 2, 5000, 'two room descriptions');
  assert.deepEqual(chats, [['from json', 'ada.json', '11']]);
  assert.deepEqual(members, ['bo.json']);
  assert.deepEqual(viewers, [99]);
  assert.deepEqual(infos, [{ type: 'roomInfo', roomId: '7300000000000000001', isLive: true }, 'not json at all']);
  // The relay got the handle (without @) and the token; nothing to resume from yet.
  assert.equal(requests[0].get('uniqueId'), 'ada.demo');
  assert.equal(requests[0].get('jwtKey'), 'token-123');
  assert.equal(requests[0].get('cursor'), null);
  const stopped = new Promise((r) => live.once('stopped', r));
  live.disconnect();
  assert.equal((await stopped).code, 'stopped');
});
