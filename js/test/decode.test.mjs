// Stand-alone decoding through the built package (js/dist, via the package's own name).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import test from 'node:test';

import { TikcastError, buildInfo, decodeFrame, decodeMessage, init, version } from 'tikcast';
import { REPO } from './helpers.mjs';

const demo = new Uint8Array(await readFile(`${REPO}tests/fixtures/demo-frame.bin`));

test('using the module before init() is a clear not_initialized error', () => {
  assert.throws(
    () => decodeFrame(demo),
    (e) => e instanceof TikcastError && e.code === 'not_initialized' && /await init\(\)/.test(e.message),
  );
});

test('init() is memoised', async () => {
  const a = init();
  const b = init();
  assert.equal(a, b);
  await a;
});

test('decodeFrame: the demo frame gives exactly the expected events', async () => {
  await init();
  const d = decodeFrame(demo);
  assert.equal(d.payloadType, 'msg');
  assert.equal(d.logId, '7301234567890123456');
  assert.equal(d.seqId, '1');
  assert.equal(d.needAck, true);
  assert.equal(d.cursor, 't-1767225610000_r-1_d-1_u-1');
  assert.equal(d.internalExt, 'internal_src:pushserver|wss_msg_type:r|demo:1');
  assert.equal(d.nowMs, 1767225610000);
  const ev = d.events;
  assert.deepEqual(
    ev.map((e) => e.type),
    ['member', 'chat', 'chat', 'chat', 'gift', 'gift', 'gift', 'like', 'social', 'follow', 'social', 'share', 'roomUser', 'unknown'],
  );
  // Ids beyond 2^53 survive as strings, consecutive as the fixture made them.
  assert.deepEqual(
    [...new Set(ev.map((e) => e.msgId))],
    Array.from({ length: 12 }, (_, i) => String(7400000000000000001n + BigInt(i))),
  );
  for (const e of ev) {
    // The unknown message carries no common block, so no room.
    assert.equal(e.roomId, e.type === 'unknown' ? '0' : '7300000000000000001');
    assert.equal(typeof e.createTime, 'number');
    assert.equal(e.isHistory, false);
  }
  assert.equal(ev[0].label, 'Ada joined');
  assert.equal(ev[0].user.uniqueId, 'ada.demo');
  assert.equal(ev[1].comment, 'hello from the demo room');
  assert.equal(ev[1].language, 'en');
  assert.equal(ev[1].user.nickname, 'Ada');
  assert.equal(ev[1].user.userId, '7100000000000000001');
  assert.equal(ev[1].user.gifterLevel, 12);
  assert.equal(ev[1].atUser, null);
  assert.equal(ev[2].user.isModerator, true);
  assert.equal(ev[3].comment, '<img src=x onerror=alert(1)>');
  assert.equal(ev[3].user.nickname, 'Cy <b>');
  assert.deepEqual(
    ev.slice(4, 7).map((g) => [g.giftName, g.repeatCount, g.repeatEnd, g.giftId, g.diamondCount]),
    [
      ['Rose', 1, false, '5655', 1],
      ['Rose', 2, false, '5655', 1],
      ['Rose', 3, true, '5655', 1],
    ],
  );
  assert.equal(ev[6].receiverUserId, '7000000000000000001');
  assert.deepEqual([ev[7].likeCount, ev[7].totalLikeCount, ev[7].user.uniqueId], [15, 1015, 'bo.demo']);
  assert.equal(ev[9].msgId, ev[8].msgId, 'follow is derived from its social message');
  assert.equal(ev[11].msgId, ev[10].msgId, 'share too');
  assert.equal(ev[12].viewerCount, 321);
  assert.equal(ev[13].method, 'WebcastFutureFeatureMessage');
});

test('decodeFrame: malformed frames throw a TikcastError with decode_failed', async () => {
  await init();
  for (const bytes of [new Uint8Array([0x42, 0x64, 0x01]), demo.subarray(0, demo.length - 40)]) {
    assert.throws(
      () => decodeFrame(bytes),
      (e) =>
        e instanceof TikcastError &&
        e instanceof Error &&
        e.name === 'TikcastError' &&
        e.code === 'decode_failed' &&
        typeof e.detail === 'string' &&
        e.detail.length > 0,
    );
  }
});

test('decodeMessage: one payload, never throws', async () => {
  await init();
  // LikeMessage { count: 5, total: 42 }
  const [like] = decodeMessage('WebcastLikeMessage', new Uint8Array([0x10, 0x05, 0x18, 0x2a]));
  assert.equal(like.type, 'like');
  assert.deepEqual([like.likeCount, like.totalLikeCount], [5, 42]);
  assert.equal(decodeMessage('WebcastNoSuchMessage', new Uint8Array([8, 1]))[0].type, 'unknown');
  assert.equal(decodeMessage('WebcastChatMessage', new Uint8Array([0xff, 0xff, 0xff]))[0].type, 'decodeError');
});

test('version() and buildInfo()', async () => {
  await init();
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(version(), pkg.version);
  const info = buildInfo();
  assert.equal(info.version, pkg.version);
  assert.equal(info.coreVersion, pkg.version);
  assert.match(info.gitSha, /^[0-9a-f]*$/);
});
