// Hosted JSON relays send their own payload shapes: numeric gift ids, users with `id`
// and `userBadges`, battles as `teams`, captions as `text`/`isFinal`, ... This module
// turns one relay message into our canonical events (docs/events.md): every field of the
// event's type present and of its type (ids as decimal strings, users in the canonical
// shape, nested arrays in their typed shapes), by the field table in event-fields.ts.
// What the relay sent that has no place in our shape stays under `extra`.
import type { AnyWebcastEvent } from './events.generated.js';
import { BASE_FIELDS, EVENT_FIELDS, NESTED_FIELDS, fieldsOf } from './event-fields.js';

type Raw = Record<string, unknown>;

/**
 * Hosted-relay event names with a native equivalent under another name (TikTool's
 * vocabulary). Names equal to ours need no entry.
 */
export const RELAY_EVENT_ALIASES: Record<string, string> = {
  emoteChat: 'emote',
  question: 'questionNew',
  battleItemCard: 'linkMicBattleItemCard',
  link: 'linkMessage',
  fanTicket: 'linkMicFanTicketMethod',
  battlePunishFinish: 'linkMicBattlePunishFinish',
  battleNotice: 'linkMicBattleNotice',
  subPin: 'subPinEvent',
  linkMic: 'linkMicMethod',
  // The product count of the streamer's shop bag (the product list itself is the relay's
  // own lookup, not in TikTok's message).
  shopProductList: 'oecLiveShopping',
};

/**
 * Where a field comes from when the relay names it otherwise: alternative dotted paths
 * (the first present wins; each path's top key counts as used), or a function of the
 * payload with the keys it uses up (what it reads beyond them also stays in `extra`).
 */
type Rule = string[] | { uses: string[]; get: (d: Raw) => unknown };
const fn = (uses: string[], get: (d: Raw) => unknown): Rule => ({ uses, get });

const sender = (d: Raw): Raw => (isObject(d.user) ? d.user : {});
/** A hosted relay's shop events: the pinned product flat in the event, `status`, `total`. */
const shopRules: Record<string, Rule> = {
  actionType: ['actionType', 'status'],
  liveProductNumber: ['liveProductNumber', 'total'],
  popProduct: fn(['popProduct', 'productId', 'title', 'price', 'imageUrl'], (d) =>
    d.popProduct ?? (d.productId !== undefined || d.title !== undefined ? { productId: d.productId, title: d.title, price: d.price, imageUrl: d.imageUrl } : undefined),
  ),
};
const envelopeRules: Record<string, Rule> = {
  diamondCount: ['diamondCount', 'coins'],
  senderName: fn(['senderName'], (d) => d.senderName ?? sender(d).nickname),
  senderUserId: fn(['senderUserId'], (d) => d.senderUserId ?? sender(d).userId ?? sender(d).id),
  senderAvatarUrl: fn(['senderAvatarUrl'], (d) => d.senderAvatarUrl ?? sender(d).profilePictureUrl),
};
const socialAction = (action: number) => fn(['action'], (d) => d.action ?? action);

const EVENT_RULES: Record<string, Record<string, Rule>> = {
  chat: { atUser: ['atUser', 'replyToUser'] },
  gift: {
    // A relay that leaves out giftType still marks a running streak with repeatEnd false,
    // which only a streakable (type 1) gift has.
    giftType: fn(['giftType'], (d) => d.giftType ?? (d.repeatEnd === false ? 1 : undefined)),
    user: fn(['user'], (d) => (d.user === undefined && d.senderUserId !== undefined ? { userId: d.senderUserId } : d.user)),
  },
  like: { totalLikeCount: ['totalLikeCount', 'totalLikes'] },
  member: {
    actionId: fn(['actionId'], (d) => d.actionId ?? (d.action === 'join' ? 1 : typeof d.action === 'number' ? d.action : undefined)),
    enterSource: ['enterSource', 'entrySource'],
  },
  follow: { action: socialAction(1) },
  share: { action: socialAction(3) },
  roomUser: { totalUser: ['totalUser', 'totalViewers'] },
  emote: {
    emotes: fn(['emotes', 'emoteId', 'emoteUrl'], (d) => d.emotes ?? (d.emoteId !== undefined || d.emoteUrl !== undefined ? [{ emoteId: d.emoteId, imageUrl: d.emoteUrl }] : undefined)),
  },
  envelope: envelopeRules,
  superFanBox: envelopeRules,
  linkMicBattle: {
    status: ['status', 'battleStatus'],
    duration: ['duration', 'battleDuration', 'durationSec'],
    // Team scores have no place in `hosts`: the relay's array also stays in `extra`.
    hosts: fn(['hosts'], (d) => d.hosts ?? d.teams ?? d.battleUsers),
    // A hosted relay's `teams` are its sides, one host each (`hosts` above, and `extra`);
    // ours are the teams of a team battle, which TikTok sends separately.
    teams: fn([], () => undefined),
  },
  linkMicArmies: {
    // A hosted relay's `status` of a score frame is TikTok's trigger reason (1 score
    // update, 2 battle end, 4 keep-alive), not the battle's status.
    triggerReason: ['triggerReason', 'status'],
    // As for `linkMicBattle`: the relay's per-host `teams` become `armies` (and `extra`).
    teams: fn([], () => undefined),
    // Contributors' handles have no place in `armies`: the relay's array stays in `extra`.
    armies: fn(['armies'], (d) => d.armies ?? d.hosts ?? d.teams),
  },
  roomPin: {
    pinnedComment: ['pinnedComment', 'comment', 'pinnedMessage'],
    pinnedUser: ['pinnedUser', 'user'],
    displayDuration: ['displayDuration', 'durationSeconds'],
    pinTime: ['pinTime', 'pinnedAt'],
    pinnedMethod: ['pinnedMethod', 'originalMsgType'],
    pinnedMsgId: ['pinnedMsgId', 'originalMsgId'],
    operator: fn(['operator', 'operatorUserId'], (d) => d.operator ?? (d.operatorUserId !== undefined ? { userId: d.operatorUserId } : undefined)),
  },
  imDelete: { deleteMsgIds: ['deleteMsgIds', 'deletedMsgId'] },
  caption: {
    content: fn(['content', 'text', 'language'], (d) => d.content ?? (typeof d.text === 'string' ? [{ lang: d.language, text: d.text }] : undefined)),
    definite: ['definite', 'isFinal'],
    timestampMs: ['timestampMs', 'startedAtMs'],
    durationMs: fn(['durationMs', 'endsAtMs'], (d) => d.durationMs ?? (typeof d.endsAtMs === 'number' && typeof d.startedAtMs === 'number' ? d.endsAtMs - d.startedAtMs : undefined)),
  },
  linkLayer: { messageType: ['messageType', 'action'], source: ['source', 'sourceType'] },
  linkMessage: { messageType: ['messageType', 'action'] },
  linkMicBattleNotice: { noticeType: ['noticeType', 'noticeCode'] },
  // TikTool's `linkMic`: the linked users as `users`, the ids and tickets under `extras`
  // by field number.
  linkMicMethod: {
    linkedUsers: ['linkedUsers', 'users'],
    userId: ['userId', 'extras.5'],
    fanTicket: ['fanTicket', 'extras.6'],
    totalLinkmicFanTicket: ['totalLinkmicFanTicket', 'extras.7'],
  },
  oecLiveShopping: shopRules,
  shopProduct: shopRules,
  linkMicAnchorGuide: { guideType: ['guideType', 'guideCode'] },
  rankText: { curUserId: ['curUserId', 'userId'] },
  bottomMessage: { anchorId: ['anchorId', 'anchorUserId'], showDuration: ['showDuration', 'durationSec'] },
  envelopePortal: { portalType: ['portalType', 'kind'] },
  pictionaryUpdate: { drawId: ['drawId', 'pictionaryId'] },
  pictionaryEnd: { drawId: ['drawId', 'pictionaryId'] },
  pictionaryExit: { drawId: ['drawId', 'pictionaryId'] },
  toast: { displayDurationMs: ['displayDurationMs', 'durationMs'] },
  subPinEvent: { operatorUserId: fn(['operatorUserId'], (d) => d.operatorUserId ?? sender(d).userId ?? sender(d).id) },
};

const NESTED_RULES: Record<string, Record<string, Rule>> = {
  User: {
    userId: ['userId', 'id', 'uid'],
    profilePictureUrl: ['profilePictureUrl', 'avatar', 'avatarUrl', 'avatarThumb'],
    gifterLevel: ['gifterLevel', 'level', 'payGrade'],
    badges: ['badges', 'userBadges'],
    // TikTok-Live-Connector's user: the counts under `followInfo`.
    followerCount: ['followerCount', 'followInfo.followerCount'],
    followingCount: ['followingCount', 'followInfo.followingCount'],
  },
  Badge: {
    kind: fn(['kind'], (b) => b.kind ?? (typeof b.url === 'string' && b.url !== '' ? 'image' : 'text')),
    sceneType: ['sceneType', 'badgeSceneType'],
    // TikTool's badge colours (`colors: { primary, secondary }`).
    primaryColor: ['primaryColor', 'colors.primary'],
    secondaryColor: ['secondaryColor', 'colors.secondary'],
    label: ['label', 'name', 'text'],
    // Grade gems carry their level as the label ("30").
    level: fn(['level'], (b) => b.level ?? (typeof b.name === 'string' && /^\d{1,3}$/.test(b.name) ? Number(b.name) : undefined)),
  },
  ChatEmote: { emoteId: ['emoteId', 'id'], imageUrl: ['imageUrl', 'emoteUrl', 'url'] },
  BattleHost: {
    userId: ['userId', 'hostUserId', 'id', 'user.userId', 'user.id'],
    uniqueId: ['uniqueId', 'user.uniqueId'],
    nickname: ['nickname', 'user.nickname'],
    profilePictureUrl: ['profilePictureUrl', 'avatar', 'user.profilePictureUrl'],
  },
  BattleOutcome: { userId: ['userId', 'hostUserId'] },
  BattleArmy: {
    hostUserId: ['hostUserId', 'userId'],
    points: ['points', 'teamTotalScore', 'score'],
    contributors: ['contributors', 'users'],
  },
  BattleContributor: {
    userId: ['userId', 'id', 'user.userId', 'user.id'],
    nickname: ['nickname', 'user.nickname'],
    profilePictureUrl: ['profilePictureUrl', 'avatar', 'user.profilePictureUrl'],
  },
  CaptionText: { lang: ['lang', 'language'] },
};

/** `o[k] = v` as an own property, also for `__proto__` (a key any JSON can carry). */
function put(o: Raw, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(d: Raw, path: string): unknown {
  let v: unknown = d;
  for (const k of path.split('.')) v = isObject(v) ? v[k] : undefined;
  return v;
}

const MAX_ID = 2n ** 64n;

/** A 64-bit id as a decimal string, or null when `v` is not one. */
function idOf(v: unknown): string | null {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const n = BigInt(v);
    return n < MAX_ID ? n.toString() : null;
  }
  // Relays that parse ids into JS numbers already lost the low digits; keep what is left.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 64) return BigInt(v).toString();
  if (typeof v === 'bigint' && v >= 0n && v < MAX_ID) return v.toString();
  return null;
}

function num(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : '';
}

function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return v === 'true';
}

/**
 * `v` as a value of `kind`. `spill` receives what the canonical value cannot hold: a value
 * of another type (kept as sent), a user's fields beyond the canonical ones.
 */
function coerce(kind: string, v: unknown, spill: (rest: unknown) => void): unknown {
  const given = v !== undefined && v !== null;
  const or = <T>(ok: boolean, value: T, fallback: T): T => {
    if (ok) return value;
    if (given) spill(v);
    return fallback;
  };
  switch (kind) {
    case 's':
      return or(typeof v !== 'object' || v === null, str(v), '');
    case 'id': {
      const id = idOf(v);
      return or(id !== null || v === '', id ?? '0', '0');
    }
    case 'n':
    case 'n?': {
      const ok = typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
      return or(ok, num(v), kind === 'n' ? 0 : null);
    }
    case 'b':
      return or(typeof v === 'boolean' || typeof v === 'number' || v === 'true' || v === 'false', bool(v), false);
    case 'U':
      return isObject(v) ? shape('User', v, spill) : or(false, null, shape('User', {}, spill));
    case 'U?':
      return isObject(v) ? shape('User', v, spill) : or(false, null, null);
    case 'o?':
      return or(isObject(v), v, null);
    case 'a':
      return or(Array.isArray(v), v, []);
    case 'ids':
      return or(true, (Array.isArray(v) ? v : given ? [v] : []).map((x) => idOf(x) ?? '0'), []);
    case 'fansClub?': {
      if (!isObject(v)) return or(false, null, null);
      const data = isObject(v.data) ? v.data : v;
      return { name: str(data.name ?? data.clubName), level: num(data.level) };
    }
  }
  if (kind.startsWith('o?<')) {
    return isObject(v) ? shape(kind.slice(3, -1), v, () => {}) : or(false, null, null);
  }
  if (kind.startsWith('a<')) {
    const name = kind.slice(2, -1);
    return or(Array.isArray(v), Array.isArray(v) ? v.map((x) => shape(name, isObject(x) ? x : {}, () => {})) : [], []);
  }
  throw new Error(`event-fields: unknown field kind ${kind}`);
}

const PARSED = new Map<string, Array<[string, string]>>();

/** `fieldsOf(spec)`, parsed once per spec (the table is fixed, so this stays small). */
function parsed(spec: string): Array<[string, string]> {
  let fields = PARSED.get(spec);
  if (!fields) PARSED.set(spec, (fields = fieldsOf(spec)));
  return fields;
}

/**
 * Fills `out` with the fields of `spec` read from `d` by `rules`; returns the keys of `d`
 * it used. `spill(field, rest)` receives what a field's canonical value cannot hold.
 */
function fill(out: Raw, spec: string, rules: Record<string, Rule>, d: Raw, spill: (field: string, rest: unknown) => void): Set<string> {
  const used = new Set<string>();
  for (const [field, kind] of parsed(spec)) {
    const rule = rules[field] ?? [field];
    let v: unknown;
    if (!Array.isArray(rule)) {
      for (const k of rule.uses) used.add(k);
      v = rule.get(d);
    } else {
      for (const path of rule) {
        used.add(path.split('.')[0]);
        if (v === undefined) v = at(d, path);
      }
    }
    out[field] = coerce(kind, v, (rest) => spill(field, rest));
  }
  return used;
}

/** A nested shape (`NESTED_FIELDS`) from `d`; a user's other fields go to `spill`. */
function shape(name: string, d: Raw, spill: (rest: unknown) => void): Raw {
  const out: Raw = {};
  const used = fill(out, NESTED_FIELDS[name], NESTED_RULES[name] ?? {}, d, () => {});
  if (name === 'User') {
    const rest: Raw = {};
    for (const k of Object.keys(d)) if (!used.has(k)) put(rest, k, d[k]);
    if (Object.keys(rest).length > 0) spill(rest);
  }
  return out;
}

/**
 * One relay message as our events: the event of `type` (one of ours) from the relay's
 * payload `d`, followed by the events the binary path derives from it (`follow`/`share`
 * after `social`, `streamEnd` after an ending `controlMessage`), all with its `msgId`.
 * `method` is the relay's name, kept on `unknown` events.
 */
export function normaliseRelayMessage(type: string, method: string, d: Raw): AnyWebcastEvent[] {
  const common = isObject(d.common) ? d.common : {};
  const out: Raw = { type };
  const extra: Raw = {};
  const spill = (field: string, rest: unknown) => put(extra, field, rest);
  const meta: Raw = {
    msgId: d.msgId ?? common.msgId,
    roomId: d.roomId ?? common.roomId,
    createTime: d.createTime ?? common.createTime ?? d.timestamp,
    isHistory: d.isHistory ?? common.isHistory,
  };
  const used = fill(out, BASE_FIELDS, {}, meta, spill);
  used.clear();
  // `common` stays under extra: its other fields (method, describe, ...) have no place.
  for (const k of ['type', 'msgId', 'roomId', 'createTime', 'isHistory']) used.add(k);
  if (d.createTime === undefined && common.createTime === undefined) used.add('timestamp');
  if (type === 'unknown') {
    out.method = method;
    out.payload = '';
  } else {
    for (const k of fill(out, EVENT_FIELDS[type] ?? '', EVENT_RULES[type] ?? {}, d, spill)) used.add(k);
  }
  for (const k of Object.keys(d)) if (!used.has(k) && !Object.hasOwn(extra, k)) put(extra, k, d[k]);
  if (Object.keys(extra).length > 0) out.extra = extra;
  const events = [out as unknown as AnyWebcastEvent];
  if (type === 'social' && (out.action === 1 || out.action === 3)) {
    events.push({ ...out, type: out.action === 1 ? 'follow' : 'share' } as unknown as AnyWebcastEvent);
  }
  if (type === 'controlMessage' && (out.action === 3 || out.action === 4)) {
    events.push({ ...out, type: 'streamEnd' } as unknown as AnyWebcastEvent);
  }
  return events;
}
