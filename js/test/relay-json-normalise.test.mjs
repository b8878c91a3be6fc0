// Hosted-relay JSON events become our canonical events: our fixtures (one per documented
// relay event) and the real relay dumps in the corpus satisfy the TS types at run time
// (event-shape.mjs reads them from events.generated.ts), with the values they carried.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { EVENT_FIELDS, fieldsOf } from '../dist/event-fields.js';
import { fromRelayJson, relayJsonMessages } from '../dist/relay-json.js';
import { EVENT_TYPES, shapeProblems } from './event-shape.mjs';
import { RELAY_EVENTS } from './fixtures/relay-json-events.mjs';
import { REPO } from './helpers.mjs';

const at = (o, path) => path.split('.').reduce((v, k) => (v == null ? undefined : v[k]), o);

test('the field table agrees with events.generated.ts', () => {
  const kinds = { string: ['s', 'id'], number: ['n'], 'number | null': ['n?'], boolean: ['b'], User: ['U'], 'User | null': ['U?'], 'string[]': ['ids'], 'Record<string, unknown> | null': ['o?'] };
  const base = ['type', 'msgId', 'roomId', 'createTime', 'isHistory'];
  assert.deepEqual(Object.keys(EVENT_FIELDS).sort(), Object.keys(EVENT_TYPES).sort());
  for (const [name, spec] of Object.entries(EVENT_FIELDS)) {
    const types = Object.fromEntries(Object.entries(EVENT_TYPES[name]).filter(([f]) => !base.includes(f)));
    const fields = fieldsOf(spec);
    assert.deepEqual(fields.map(([f]) => f).sort(), Object.keys(types).sort(), name);
    for (const [f, k] of fields) {
      // Lists are typed (`ChatEmote[]`, `string[]` of ids) or, for shapes the schema left
      // open, `unknown[]`; nested objects are `Shape | null`.
      const list = /^(\w+)\[\]$/.exec(types[f]);
      const ok =
        types[f] === 'unknown[]' || (list && list[1] !== 'string')
          ? k === 'a' || k.startsWith('a<')
          : /^\w+ \| null$/.test(types[f]) && !kinds[types[f]]
            ? k === 'o?' || k === `o?<${types[f].split(' ')[0]}>`
            : (kinds[types[f]] ?? []).includes(k);
      assert.ok(ok, `${name}.${f}: kind ${k} for type ${types[f]}`);
    }
  }
});

test('the shape check itself rejects what the types forbid', () => {
  const [good] = fromRelayJson({ event: 'gift', data: { giftId: 1, user: { uniqueId: 'a' } } });
  assert.deepEqual(shapeProblems(good), []);
  assert.match(shapeProblems({ ...good, giftId: 5655 }).join(), /gift\.giftId: expected string/);
  assert.match(shapeProblems({ ...good, giftId: 'x1' }).join(), /not a decimal string/);
  assert.match(shapeProblems({ ...good, user: { ...good.user, badges: undefined } }).join(), /user\.badges: expected (Array|UserBadge\[\])/);
  assert.match(shapeProblems({ ...good, surprise: 1 }).join(), /surprise: not in the type/);
  const { toUser, ...missing } = good;
  assert.match(shapeProblems(missing).join(), /toUser: missing/);
  const [armies] = fromRelayJson({ event: 'battleArmies', data: { hosts: [{ hostUserId: '1', contributors: [{}] }] } });
  assert.deepEqual(shapeProblems(armies), []);
  armies.armies[0].contributors[0].score = '3';
  assert.match(shapeProblems(armies).join(), /contributors\[0\]\.score: expected number/);
});

test('every documented hosted-relay event: our fixture becomes a canonical event with its values', () => {
  const seen = new Set();
  for (const [name, data, expect] of RELAY_EVENTS) {
    seen.add(name);
    const events = fromRelayJson({ event: name, data: { type: name, ...data } });
    assert.ok(events && events.length >= 1, name);
    const [e] = events;
    assert.deepEqual(shapeProblems(e), [], `${name}: ${shapeProblems(e).join('; ')}`);
    for (const [path, want] of Object.entries(expect)) assert.deepEqual(at(e, path), want, `${name}: ${path}`);
    // Nothing the relay sent is lost: each of its fields is in our event or under extra.
    for (const k of Object.keys(data)) assert.ok(k in e || (e.extra && k in e.extra) || usedUnder(name, k), `${name}: ${k} kept`);
  }
  // The eight with a native equivalent under another name are all covered.
  for (const n of ['emoteChat', 'question', 'battleItemCard', 'link', 'fanTicket', 'battlePunishFinish', 'battleNotice', 'subPin']) assert.ok(seen.has(n), n);
});

/** Relay fields our event represents under another name (the normaliser's aliases). */
function usedUnder(name, key) {
  // A relay's `timestamp` (ms) is our createTime when it sends no createTime.
  if (key === 'timestamp') return true;
  const aliases = {
    like: ['totalLikes'], member: ['entrySource'], roomUserSeq: ['totalViewers'], chat: ['replyToUser'], emoteChat: ['emoteId', 'emoteUrl'], emote: ['emoteId', 'emoteUrl'],
    battle: ['battleDuration'], linkMicBattle: ['battleStatus'], battleArmies: ['status', 'hosts'], roomPin: ['comment', 'pinnedMessage', 'durationSeconds', 'pinnedAt', 'originalMsgType', 'originalMsgId', 'operatorUserId', 'user'],
    imDelete: ['deletedMsgId'], caption: ['text', 'language', 'isFinal', 'startedAtMs', 'endsAtMs'], linkLayer: ['action', 'sourceType'], link: ['action'],
    envelope: ['coins'], linkMic: ['users', 'extras'], oecLiveShopping: ['status'], shopProduct: ['status', 'productId', 'title', 'price', 'imageUrl'], shopProductList: ['total'], battleNotice: ['noticeCode'], linkMicAnchorGuide: ['guideCode'], rankText: ['userId'], bottomMessage: ['anchorUserId', 'durationSec'],
    envelopePortal: ['kind'], pictionaryUpdate: ['pictionaryId'], pictionaryEnd: ['pictionaryId'], pictionaryExit: ['pictionaryId'], toast: ['durationMs'],
  };
  return (aliases[name] ?? []).includes(key);
}

test('users: ids as strings, every canonical field, badges an array even when the relay sends none', () => {
  const [e] = fromRelayJson({ event: 'chat', data: { comment: 'x', user: { uniqueId: 'cy', id: 7400000000000001 } } });
  assert.deepEqual(e.user, {
    userId: '7400000000000001', uniqueId: 'cy', nickname: '', secUid: '', profilePictureUrl: '', followRole: 0, isModerator: false,
    isSubscriber: false, isNewGifter: false, topGifterRank: null, gifterLevel: 0, fansClub: null,
    followerCount: 0, followingCount: 0, isAnchor: false, isGiftGiverOfAnchor: false, isAnonymous: false,
    badges: [],
  });
  // A chat without a user still has one (the type says User, not User | null).
  const [bare] = fromRelayJson({ event: 'chat', data: { comment: 'y' } });
  assert.equal(bare.user.userId, '0');
  assert.deepEqual(bare.user.badges, []);
  assert.deepEqual(shapeProblems(bare), []);
});

test('the README lookup works: gift ids are strings that match a catalog keyed by string', () => {
  const gifts = new Map([['5655', { name: 'Rose' }]]);
  const [e] = fromRelayJson({ event: 'gift', data: { giftId: 5655, repeatEnd: true, giftType: 1 } });
  assert.equal(gifts.get(e.giftId)?.name, 'Rose');
  // A streak step with no giftType is still a streakable gift (only those run).
  const [step] = fromRelayJson({ event: 'gift', data: { giftId: 5655, repeatEnd: false } });
  assert.equal(step.giftType, 1);
});

test('derived events follow their source with its msgId, as on the binary path', () => {
  const groups = relayJsonMessages({ event: 'control', data: { action: 3, msgId: '7400000000000000900' } });
  assert.deepEqual(groups[0].map((e) => [e.type, e.msgId, e.action]), [['controlMessage', '7400000000000000900', 3], ['streamEnd', '7400000000000000900', 3]]);
  const social = relayJsonMessages({ messages: [{ type: 'WebcastSocialMessage', data: { action: 1, user: { uniqueId: 'f' }, common: { msgId: '5' } } }] });
  assert.deepEqual(social[0].map((e) => [e.type, e.msgId]), [['social', '5'], ['follow', '5']]);
  for (const e of [...groups[0], ...social[0]]) assert.deepEqual(shapeProblems(e), []);
  assert.equal(relayJsonMessages({ event: 'control', data: { action: 1 } })[0].length, 1);
});

test('a hosted event of a method whose layout is not public: our typed event, the relay fields under extra', () => {
  const [e] = fromRelayJson({ event: 'aiSummary', data: { summary: 'calm', msgId: '78' } });
  assert.deepEqual([e.type, e.payload, e.msgId, e.extra], ['aiSummary', '', '78', { summary: 'calm' }]);
  assert.deepEqual(shapeProblems(e), []);
});

test('unknown hosted events stay unknown, with their data under extra', () => {
  const [u] = fromRelayJson({ event: 'cohostLayoutUpdate', data: { summary: 'calm', displayDurationMs: 2000, msgId: '77' } });
  assert.deepEqual([u.type, u.method, u.payload, u.msgId], ['unknown', 'cohostLayoutUpdate', '', '77']);
  assert.deepEqual(u.extra, { summary: 'calm', displayDurationMs: 2000 });
  assert.deepEqual(shapeProblems(u), []);
});

test('hostile payloads: wrong types become defaults (what could not be read stays under extra)', () => {
  const [e] = fromRelayJson({ event: 'gift', data: { giftId: 'not-an-id', repeatCount: { x: 1 }, user: 'ada', toUser: [1], diamondCount: Infinity, msgId: -4 } });
  assert.deepEqual(shapeProblems(e), []);
  assert.deepEqual([e.giftId, e.repeatCount, e.user.uniqueId, e.toUser, e.diamondCount, e.msgId], ['0', 0, '', null, 0, '0']);
  assert.deepEqual([e.extra.giftId, e.extra.repeatCount, e.extra.user, e.extra.toUser, e.extra.msgId], ['not-an-id', { x: 1 }, 'ada', [1], -4]);
  const [a] = fromRelayJson({ event: 'battleArmies', data: { hosts: 'nope', teams: [null, 5] } });
  assert.deepEqual(a.armies, []);
  const [b] = fromRelayJson({ event: 'battle', data: { teams: [null, 5, { hostUserId: 99n }] } });
  assert.deepEqual(b.hosts.map((h) => h.userId), ['0', '0', '99']);
  assert.deepEqual(shapeProblems(b), []);
  // Names and keys that are special in JavaScript are plain data here.
  const [c] = fromRelayJson(JSON.parse('{"event":"constructor","data":{"__proto__":{"polluted":1},"y":2,"user":{"__proto__":{"z":1}}}}'));
  assert.deepEqual([c.type, c.method, c.extra.y, Object.keys(c.extra)], ['unknown', 'constructor', 2, ['__proto__', 'y', 'user']]);
  assert.deepEqual(c.extra.__proto__, { polluted: 1 });
  assert.equal({}.polluted, undefined);
  const [g] = fromRelayJson(JSON.parse('{"event":"gift","data":{"user":{"__proto__":{"z":1},"uniqueId":"q"}}}'));
  assert.deepEqual([g.user.uniqueId, g.extra.user.__proto__], ['q', { z: 1 }]);
  assert.deepEqual(shapeProblems(g), []);
});

// The real dumps: read from the shared corpus, never copied into the repository.
const CORPUS = process.env.TIKCAST_CORPUS ?? join(REPO, '..', 'shared', 'corpus');
const DUMPS = join(CORPUS, 'more', 'relay-json');
let dumps = [];
try {
  dumps = readdirSync(DUMPS).filter((f) => f.endsWith('.json'));
} catch {
  dumps = [];
}
const dumpsMissing = dumps.length === 0 ? `SKIPPED: no relay-json dumps at ${DUMPS}; set TIKCAST_CORPUS` : undefined;
if (dumpsMissing && process.env.TIKCAST_REQUIRE_CORPUS === '1') {
  throw new Error(`relay-json dumps not found at ${DUMPS} (TIKCAST_REQUIRE_CORPUS=1)`);
}
if (dumpsMissing) console.warn(dumpsMissing);

test('the real relay dumps become events that satisfy the types, with their values', { skip: dumpsMissing }, () => {
  for (const f of dumps) {
    const data = JSON.parse(readFileSync(join(DUMPS, f), 'utf8'));
    // The dumps hold a message's `data`; its `type` names the event, as `event` would.
    const events = fromRelayJson({ event: data.type, data });
    assert.equal(events.length, 1, f);
    const [e] = events;
    assert.deepEqual(shapeProblems(e), [], `${f}: ${shapeProblems(e).join('; ')}`);
    assert.equal(e.type, 'linkMicArmies', f);
    // The relay's `status` of a score frame is TikTok's trigger reason.
    assert.equal(e.triggerReason, data.status);
    assert.equal(e.createTime, data.timestamp);
    assert.equal(e.armies.length, data.teams.length);
    data.teams.forEach((team, i) => {
      const army = e.armies[i];
      assert.equal(army.hostUserId, team.hostUserId);
      assert.equal(army.points, team.score);
      assert.deepEqual(
        army.contributors.map((c) => [c.userId, c.nickname, c.profilePictureUrl, c.score]),
        team.users.map((u) => [u.user.id, u.user.nickname, u.user.profilePictureUrl, u.score]),
      );
    });
    // What `armies` has no place for (the contributors' handles) is still there.
    assert.deepEqual(e.extra.teams, data.teams);
  }
});

test('docs/hosted-relay-events.md: a row per documented relay event, naming the event the SDK makes of it and its method', async () => {
  const { METHOD_EVENTS } = await import('../dist/events.generated.js');
  const text = readFileSync(join(REPO, 'docs/hosted-relay-events.md'), 'utf8');
  const rows = new Map();
  for (const m of text.matchAll(/^\| `(\w+)` \| `(\w+)` \| ([^|]*) \| ([^|]*) \|$/gm)) {
    rows.set(m[1], { ours: m[2], methods: [...m[3].matchAll(/`(\w+)`/g)].map((x) => x[1]), note: m[4].trim() });
  }
  const names = new Set(RELAY_EVENTS.map(([name]) => name));
  assert.deepEqual([...rows.keys()].sort(), [...names].sort());
  const derivedFrom = { follow: 'social', share: 'social', superFan: 'barrage', superFanJoin: 'barrage', superFanBox: 'envelope', shopProduct: 'oecLiveShopping' };
  for (const [name, data] of RELAY_EVENTS) {
    const row = rows.get(name);
    const [e] = fromRelayJson({ event: name, data: { type: name, ...data } });
    assert.equal(e.type, row.ours, name);
    if (row.ours === 'unknown') {
      assert.deepEqual(row.methods, [], name);
      assert.ok(row.note.length > 20, `${name}: an unknown event says why`);
      continue;
    }
    assert.ok(row.methods.length > 0, `${name}: no method`);
    for (const m of row.methods) assert.equal(METHOD_EVENTS[m], derivedFrom[row.ours] ?? row.ours, `${name}: ${m}`);
  }
});
