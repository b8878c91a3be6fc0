// TikTok-Live-Connector v2's README examples (js/test/v2/readme-examples.ts, ported with
// only the import and transport lines changed) running against `tikcast relay` replaying
// the demo session, and the rest of the v2 layer: giftMode 'v2' with a streak cut by
// disconnect(), enableExtendedGiftInfo, unknown event names, what needs a server.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import WebSocket from 'ws';

import { ControlEvent, TikTokLiveConnection, TikcastError, WebcastEvent, init } from '../dist/node.js';
import { DEMO_GIFTS, DEMO_RECORDING, REPO, mockMissing, startRelay, until } from './helpers.mjs';

const skip = mockMissing();
if (skip) console.log(skip);
await init();

const ts = createRequire(`${REPO}js/package.json`)('typescript');
const ROOM = '7300000000000000001';
const catalog = JSON.parse(readFileSync(DEMO_GIFTS, 'utf8'));
const giftName = new Map(catalog.map((g) => [String(g.id), g.name]));
const session = readFileSync(`${REPO}tests/fixtures/demo-session.jsonl`, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));

/** The examples, compiled to JS (types are checked by types.test.mjs), importing `pkg`. */
export async function loadExamples(dir, pkg) {
  const source = await readFile(`${REPO}js/test/v2/readme-examples.ts`, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 } });
  const file = join(dir, 'readme-examples.mjs');
  await writeFile(file, outputText.replace(/from 'tikcast'/g, `from '${pkg}'`));
  return import(pathToFileURL(file).href);
}

/** Runs `fn` with console.log/info/error captured into `lines` (strings). */
function capture(lines) {
  const saved = { log: console.log, info: console.info, error: console.error };
  for (const k of Object.keys(saved)) console[k] = (...a) => lines.push(a.map((x) => (x instanceof Error ? `${x.name} ${x.code} ${x.message}` : String(x))).join(' '));
  return () => Object.assign(console, saved);
}

test('v2 README examples, ported, against a replay relay', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tikcast-v2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ex = await loadExamples(dir, pathToFileURL(`${REPO}js/dist/node.js`).href);
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--speed', '16', '--no-auth', '--public-api', '--gifts', DEMO_GIFTS]);
  t.after(() => relay.stop());

  const lines = [];
  const restore = capture(lines);
  const conns = [];
  let extended = [];
  try {
    // The events example connects first (its listeners are on before connect()).
    const events = ex.events(relay.url, WebSocket);
    conns.push(events);
    const connected = events.connect();
    const started = ex.gettingStarted(relay.url, WebSocket);
    conns.push(started);
    const withOptions = ex.withOptions(relay.url, WebSocket);
    conns.push(withOptions);
    withOptions.on(WebcastEvent.GIFT, (e) => extended.push(e));
    await withOptions.connect();
    await ex.roomInfo(relay.url, WebSocket);
    await ex.availableGifts(relay.url, WebSocket);
    const state = await connected;
    assert.deepEqual([state.isConnected, state.roomId, state.upgradedToWebsocket], [true, ROOM, true]);
    assert.equal(events.roomId, ROOM);
    assert.equal(events.isConnected, true);
    await until(() => lines.includes('stream ended by the host'), 30_000, 'the replay to reach its streamEnd');
    assert.equal(withOptions.availableGifts.length, catalog.length);
  } finally {
    for (const c of conns) c.disconnect();
    restore();
  }
  const has = (l) => assert.ok(lines.includes(l), `logged ${JSON.stringify(l)}; got:\n${lines.slice(0, 40).join('\n')}`);
  const count = (re) => lines.filter((l) => re.test(l)).length;

  assert.deepEqual(lines.filter((l) => /^(connect failed|error event|TikcastError)/.test(l)), [], 'no errors');
  // Getting started.
  has(`connected: room ${ROOM}`);
  // Control events.
  has('control connected');
  has(`state connected true ${ROOM}`);
  has('websocket open, attempt 0');
  assert.ok(count(/^raw WebcastPushFrame [1-9]\d*$/) > 10, 'rawData gets (messageTypeName, binary)');
  assert.ok(count(/^decoded chat \d{15,} 0$/) > 10, 'decodedData gets (type, event, binary)');
  assert.equal(count(/^stream ended/), 1);
  // Decoded events: every chat, with v2's flat fields, in both examples.
  const chats = session.filter((e) => e.type === 'chat');
  for (const c of chats) {
    has(`chat ${c.user} -> ${c.comment}`);
    has(`chat ${c.user} (${c.user}): ${c.comment}`);
  }
  for (const type of ['member', 'follow', 'share', 'subscribe', 'emote']) {
    for (const e of session.filter((x) => x.type === type)) has(`${type} ${e.user}`);
  }
  for (const e of session.filter((x) => x.type === 'like')) assert.ok(count(new RegExp(`^like ${e.user.replace('.', '\\.')} ${e.count} total \\d+$`)) >= 1, `like ${e.user} ${e.count}`);
  has('viewers 180');
  // Gifts in v2 mode: each streak step, then exactly one final with the full count.
  for (const s of session.filter((x) => x.type === 'streak')) {
    const name = giftName.get(String(s.giftId));
    assert.equal(count(new RegExp(`^final ${s.user} ${name} x${s.count}$`)), 1, `one final gift for ${s.user}'s streak`);
    const steps = lines.filter((l) => l.startsWith(`streak ${s.user} ${name} x`)).map((l) => Number(l.split(' x').pop()));
    assert.ok(steps.length >= s.count - 1 && steps.every((n) => n < s.count), `${s.user}'s steps: ${steps}`);
  }
  for (const g of session.filter((x) => x.type === 'gift')) has(`final ${g.user} ${giftName.get(String(g.giftId))} x1`);
  // Room info and the gift catalog through the relay.
  has(`room ${ROOM} live true title tikcast demo: a lively evening stream`);
  for (const g of catalog) has(`catalog ${g.id} ${g.name} ${g.diamondCount}`);
  // enableExtendedGiftInfo: the catalog entry joined by id.
  assert.ok(extended.length >= 5);
  for (const e of extended) assert.equal(e.extendedGiftInfo?.name, giftName.get(e.giftId), `gift ${e.giftId}`);
  // The flat v2 fields are not enumerable: JSON shows the canonical event.
  assert.equal(Object.keys(extended[0]).includes('uniqueId'), false);
  assert.equal(extended[0].uniqueId, extended[0].user.uniqueId);
  assert.equal(Object.keys(extended[0]).includes('followInfo'), false);
  const u = extended[0].user;
  assert.deepEqual(extended[0].followInfo, { followingCount: u.followingCount, followerCount: u.followerCount, followStatus: u.followRole, pushStatus: 0 });
});

test("giftMode 'v2' and 'streak': disconnect() in the middle of a streak gives the final gift with repeatEnd true", { skip, timeout: 30_000 }, async (t) => {
  for (const giftMode of ['v2', 'streak']) {
    // A fresh relay per mode: the first viewer gets the replay live, step by step.
    const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--speed', '4', '--no-auth']);
    t.after(() => relay.stop());
    const live = new TikTokLiveConnection('demo.host', { relay: { url: relay.url }, WebSocket, giftMode });
    const gifts = [];
    const steps = [];
    live.on(WebcastEvent.GIFT, (e) => {
      gifts.push({ count: e.repeatCount, end: e.repeatEnd, timedOut: e.timedOut, user: e.user.uniqueId });
      if (giftMode === 'v2' && e.repeatCount === 3 && !e.repeatEnd) live.disconnect();
    });
    live.on(WebcastEvent.GIFT_STREAK, (e) => {
      steps.push({ count: e.repeatCount, user: e.user.uniqueId });
      if (giftMode === 'streak' && e.repeatCount === 3) live.disconnect();
    });
    const stopped = new Promise((r) => live.on(ControlEvent.STOPPED, r));
    await live.connect();
    assert.equal((await stopped).code, 'stopped');
    const cut = steps.at(-1);
    assert.ok(cut.count >= 3, `steps ${JSON.stringify(steps)}`);
    // The last gift is the cut streak's final one, with the last count it reached.
    assert.deepEqual(gifts.at(-1), { count: cut.count, end: true, timedOut: true, user: cut.user }, `${giftMode}: ${JSON.stringify(gifts)}`);
    // Every streak that was running got exactly one final gift; in v2 mode each step
    // came as a gift too, in order, before it.
    const finals = gifts.filter((g) => g.end && g.user === cut.user);
    assert.equal(finals.length, 1);
    if (giftMode === 'v2') {
      const stepGifts = gifts.filter((g) => !g.end);
      assert.deepEqual(stepGifts.map((g) => [g.user, g.count]), steps.map((s) => [s.user, s.count]));
    }
    await relay.stop();
  }
});

test('on() with an unknown event name throws unknown_event with the close matches', () => {
  const live = new TikTokLiveConnection('x', { frames: true });
  const code = (fn) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof TikcastError);
      return [e.code, e.message];
    }
    assert.fail('expected a throw');
  };
  const [c1, m1] = code(() => live.on('chatt', () => {}));
  assert.equal(c1, 'unknown_event');
  assert.match(m1, /there is no event "chatt"; did you mean "chat"/);
  assert.match(code(() => live.on('Gift', () => {}))[1], /"gift"/);
  assert.match(code(() => live.on('streamEnded', () => {}))[1], /"streamEnd"/);
  assert.match(code(() => live.once('websocketconnected', () => {}))[1], /"websocketConnected"/);
  // A constant that does not exist is undefined.
  const [c2, m2] = code(() => live.on(WebcastEvent.NOT_A_THING, () => {}));
  assert.deepEqual([c2, m2.startsWith('on() got undefined as the event name')], ['unknown_event', true]);
  for (const name of [...Object.values(WebcastEvent), ...Object.values(ControlEvent)]) live.off(name, live.on(name, () => {}));
});

test('what needs a server throws unsupported_in_browser naming the alternative', () => {
  const relay = { url: 'ws://127.0.0.1:9/ws' };
  for (const [opt, hint] of [['sessionId', /server/], ['authenticateWs', /relay/], ['requestPollingIntervalMs', /relay/], ['signedWebSocketProvider', /signedUrl/], ['wsClientHeaders', /relay/]]) {
    assert.throws(() => new TikTokLiveConnection('x', { relay, [opt]: 1 }), (e) => e.code === 'unsupported_in_browser' && hint.test(e.message), opt);
  }
  const live = new TikTokLiveConnection('x', { relay });
  assert.throws(() => live.sendMessage('hi'), (e) => e.code === 'unsupported_in_browser' && /server/.test(e.message));
  assert.throws(() => live.webClient, (e) => e.code === 'unsupported_in_browser' && /fetchRoomInfo/.test(e.message));
  assert.throws(() => new TikTokLiveConnection('x', { frames: true, enableExtendedGiftInfo: true }), (e) => e.code === 'invalid_options');
  assert.throws(() => new TikTokLiveConnection('x', {}), (e) => e.code === 'invalid_options' && /choose a transport/.test(e.message));
});

test('fetchIsLive, waitUntilLive and fetchRoomInfoOnConnect ask the relay', { skip, timeout: 30_000 }, async (t) => {
  const relay = await startRelay(['--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--speed', '16', '--no-auth', '--public-api']);
  t.after(() => relay.stop());
  const live = new TikTokLiveConnection('demo.host', { relay: { url: relay.url }, WebSocket, fetchRoomInfoOnConnect: true });
  assert.equal(await live.fetchIsLive(), true);
  assert.equal(await live.fetchRoomId(), ROOM);
  await live.waitUntilLive({ intervalMs: 1000 });
  const state = await live.connect();
  assert.equal(state.roomInfo?.title, 'tikcast demo: a lively evening stream');
  assert.equal(state.roomId, ROOM);
  live.disconnect();
});
