import type { AnyWebcastEvent, WebcastEventMap } from './events.generated.js';
import { EVENT_NAMES } from './events.generated.js';
import { TikcastError, type TikcastErrorCode } from './errors.js';
import { diagnoseUnreachable, watchedWebSocket } from './diagnose.js';
import { init, module } from './loader.js';
import { SocketDriver } from './socket-driver.js';
import { relayJsonMessages } from './relay-json.js';
import { RelayJsonSession } from './relay-json-session.js';
import { fetchAvailableGifts, fetchRoomInfo, type AvailableGift, type RoomDetails } from './relay-http.js';

/**
 * Names of the decoded events, in the spelling TikTok-Live-Connector v2 users know
 * (plus `CONNECTED`, which v2 also lists here).
 */
export const WebcastEvent = {
  CONNECTED: 'connected',
  CHAT: 'chat',
  GIFT: 'gift',
  GIFT_STREAK: 'giftStreak',
  GIFT_RAW: 'giftRaw',
  LIKE: 'like',
  LIKE_AGGREGATE: 'likeAggregate',
  MEMBER: 'member',
  SOCIAL: 'social',
  FOLLOW: 'follow',
  SHARE: 'share',
  ROOM_USER: 'roomUser',
  SUBSCRIBE: 'subscribe',
  QUESTION_NEW: 'questionNew',
  EMOTE: 'emote',
  ENVELOPE: 'envelope',
  LIVE_INTRO: 'liveIntro',
  LINK_MIC_BATTLE: 'linkMicBattle',
  LINK_MIC_ARMIES: 'linkMicArmies',
  ROOM_PIN: 'roomPin',
  IM_DELETE: 'imDelete',
  CAPTION: 'caption',
  BARRAGE: 'barrage',
  SUPER_FAN: 'superFan',
  SUPER_FAN_JOIN: 'superFanJoin',
  SUPER_FAN_BOX: 'superFanBox',
  POLL: 'poll',
  GOAL_UPDATE: 'goalUpdate',
  CONTROL_MESSAGE: 'controlMessage',
  STREAM_END: 'streamEnd',
  UNKNOWN: 'unknown',
  DECODE_ERROR: 'decodeError',
} as const satisfies Record<string, keyof TikTokLiveEventMap>;

/** Connection-level events (not decoded from TikTok messages). */
export const ControlEvent = {
  CONNECTING: 'connecting',
  /** The connection works (v2's name): the listener gets the connection state. */
  CONNECTED: 'connected',
  /** A socket opened (each attempt; before the relay has confirmed it). */
  WEBSOCKET_CONNECTED: 'websocketConnected',
  RECONNECTING: 'reconnecting',
  DISCONNECTED: 'disconnected',
  /** The stream ended (the decoded control message, or the relay's close 4005). */
  STREAM_END: 'streamEnd',
  /** The session stopped for good (see `code`; `error` unless you asked it to stop). */
  STOPPED: 'stopped',
  ERROR: 'error',
  ROOM_INFO: 'roomInfo',
  /** Every decoded event, whatever its type (turns listener-aware skipping off). */
  DECODED_DATA: 'decodedData',
  /** Every received push frame, raw, before its events (turns skipping off too). */
  RAW_DATA: 'rawData',
} as const satisfies Record<string, keyof TikTokLiveEventMap>;

/** `WebcastControlMessage.action` values (v2's `ControlAction`). */
export const ControlAction = {
  CONTROL_ACTION_UNKNOWN: 0,
  CONTROL_ACTION_STREAM_PAUSED: 1,
  CONTROL_ACTION_STREAM_UNPAUSED: 2,
  CONTROL_ACTION_STREAM_ENDED: 3,
  CONTROL_ACTION_STREAM_SUSPENDED: 4,
} as const;
/** A control action number (see `ControlAction`); other values may appear. */
export type ControlAction = number;

/** What the relay said about the room (its `roomInfo` message or `GET /api/rooms/NAME`). */
export interface RoomInfoData {
  uniqueId?: string;
  /** Decimal string. */
  roomId?: string | null;
  isLive?: boolean;
  title?: string | null;
  viewerCount?: number | null;
  [field: string]: unknown;
}

/**
 * What `connect()` resolves with and the `connected` listener receives: v2's
 * `TikTokLiveConnectionState`.
 */
export interface TikTokLiveConnectionState {
  isConnected: boolean;
  /** Always true: every transport here is a WebSocket (or frames you push). */
  upgradedToWebsocket: boolean;
  /** Decimal string; `null` until the relay or the first event has named the room. */
  roomId: string | null;
  /** What the relay said about the room, `null` when it said nothing yet. */
  roomInfo: RoomInfoData | null;
  /** The relay's gift catalog, with `enableExtendedGiftInfo` (else empty). */
  availableGifts: AvailableGift[];
}

export interface ConnectingState { type: 'state'; state: 'connecting'; attempt: number }
/** `connected`: the connection works (its first message, or open for a second). */
export interface ConnectedState extends TikTokLiveConnectionState { type: 'state'; state: 'connected'; attempt: number }
/** `websocketConnected`: a socket opened. */
export interface WebsocketConnectedState { type: 'state'; state: 'websocketConnected'; attempt: number }
export interface ReconnectingState {
  type: 'state';
  state: 'reconnecting';
  attempt: number;
  delayMs: number;
  class: 'terminal' | 'waiting' | 'throttled' | 'transient';
  reason: string;
}
export interface DisconnectedState { type: 'state'; state: 'disconnected'; code: number; reason: string }
/** The relay said the stream ended (close 4005) without a decoded control message. */
export interface StreamEndState { type: 'state'; state: 'streamEnd'; action: ControlAction }
export interface ErrorState { type: 'state'; state: 'error'; code: string; message: string; error: TikcastError }
export interface StoppedState {
  type: 'state';
  state: 'stopped';
  code: TikcastErrorCode;
  closeCode: number | null;
  message: string;
  retryAfterMs: number | null;
  error?: TikcastError;
}
export interface RoomInfo { type: 'roomInfo'; data: unknown }
export interface RawData { type: 'rawData'; bytes: Uint8Array }

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface ControlEventMap {
  connecting: ConnectingState;
  connected: ConnectedState;
  websocketConnected: WebsocketConnectedState;
  reconnecting: ReconnectingState;
  disconnected: DisconnectedState;
  stopped: StoppedState;
  error: ErrorState;
  roomInfo: RoomInfo;
  decodedData: AnyWebcastEvent;
  rawData: RawData;
}

/**
 * v2's flat sender fields, on every event that has a `user` (copies of `user.*`, not
 * enumerable, so JSON and `Object.keys` show the canonical shape only). Empty strings
 * when the event's user is `null`.
 */
export interface FlatUser {
  userId: string;
  uniqueId: string;
  nickname: string;
  profilePictureUrl: string;
  /**
   * v2's `followInfo`, made from `user` when read: its counts, `followStatus` = the user's
   * `followRole` (0 none, 1 follower, 2 friend); `pushStatus` is not kept (0). `null`
   * without a user.
   */
  followInfo: FollowInfoV2 | null;
}

/** v2's `followInfo` of the flat sender fields. */
export interface FollowInfoV2 {
  followingCount: number;
  followerCount: number;
  followStatus: number;
  pushStatus: number;
}

/** `followInfo` of a canonical user, in v2's shape (a fresh object each time). */
function followInfoOf(u: Record<string, any> | null | undefined): FollowInfoV2 | null {
  if (!u || typeof u !== 'object') return null;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  return { followingCount: n(u.followingCount), followerCount: n(u.followerCount), followStatus: n(u.followRole), pushStatus: 0 };
}

/** With `enableExtendedGiftInfo`: the catalog entry of the gift, `null` if it has none. */
export interface ExtendedGiftInfo {
  extendedGiftInfo?: AvailableGift | null;
}

/**
 * On events from a hosted JSON relay: what the relay sent that the canonical shape has
 * no place for (its own fields, a user's fields beyond the canonical ones under the
 * user field's name). Absent on events decoded from frames.
 */
export interface RelayExtra {
  extra?: Record<string, unknown>;
}

/** v2's name for a battle's hosts (the same array as `hosts`, not enumerable). */
export interface BattleUsersV2<H> {
  readonly battleUsers: H;
}

type WithV2<E> = (E extends { user: unknown } ? E & FlatUser : E) &
  (E extends { type: 'linkMicBattle'; hosts: infer H } ? BattleUsersV2<H> : unknown) &
  RelayExtra;
type GiftNames = 'gift' | 'giftStreak' | 'giftRaw';

/** What each decoded event's listener receives. */
export type TikTokLiveWebcastEventMap = {
  [K in Exclude<keyof WebcastEventMap, 'streamEnd'>]: K extends GiftNames ? WithV2<WebcastEventMap[K]> & ExtendedGiftInfo : WithV2<WebcastEventMap[K]>;
};

/** Every name `on()` accepts and what its listener receives. */
export type TikTokLiveEventMap = TikTokLiveWebcastEventMap &
  ControlEventMap & { streamEnd: WebcastEventMap['streamEnd'] | StreamEndState };

/** v2's type names, for code ported from TikTok-Live-Connector v2 (same payloads as `on()` gives). */
export type WebcastChatMessage = TikTokLiveEventMap['chat'];
export type WebcastGiftMessage = TikTokLiveEventMap['gift'];
export type WebcastMemberMessage = TikTokLiveEventMap['member'];
export type WebcastLikeMessage = TikTokLiveEventMap['like'];
export type WebcastSocialMessage = TikTokLiveEventMap['social'];
export type WebcastRoomUserSeqMessage = TikTokLiveEventMap['roomUser'];
export type WebcastSubNotifyMessage = TikTokLiveEventMap['subscribe'];
export type WebcastQuestionNewMessage = TikTokLiveEventMap['questionNew'];
export type WebcastEmoteChatMessage = TikTokLiveEventMap['emote'];
export type WebcastEnvelopeMessage = TikTokLiveEventMap['envelope'];
export type WebcastLiveIntroMessage = TikTokLiveEventMap['liveIntro'];
export type WebcastLinkMicBattle = TikTokLiveEventMap['linkMicBattle'];
export type WebcastLinkMicArmies = TikTokLiveEventMap['linkMicArmies'];
export type WebcastControlMessage = TikTokLiveEventMap['controlMessage'];
/** v2's room info type: here, what the relay says about the room. */
export type RoomInfoResponse = RoomDetails;
/** v2's gift list type: here, the relay's catalog. */
export type RoomGiftInfo = AvailableGift[];
/** What a `websocketConnected` listener gets (v2 passes its socket client). */
export type TikTokWsClient = WebsocketConnectedState;

/** v2's `rawData` listener: the bytes of what arrived (here: a whole push frame). */
export type RawDataV2Listener = (messageTypeName: string, binary: Uint8Array) => void;
/** v2's `decodedData` listener: the event's type, the event, and (here, empty) bytes. */
export type DecodedDataV2Listener = (event: string, decodedData: any, binary: Uint8Array) => void;

export interface ReconnectOptions {
  /** Consecutive failed attempts before giving up (0 = forever). Default 10. */
  maxAttempts?: number;
  /** Give up when the creator is offline or the stream ends, instead of waiting. */
  stopWhenOffline?: boolean;
  /** Wait between attempts while the creator is offline. Default 60,000 ms. */
  waitingDelayMs?: number;
  /** Backoff ceiling of the first retry (full jitter, doubling). Default 1,000 ms. */
  transientBaseMs?: number;
  /** Largest backoff ceiling. Default 30,000 ms. */
  transientCapMs?: number;
  /**
   * Reject `connect()` at once when the very first socket never opens (refused,
   * unreachable, origin or token refused at the handshake, connect timeout) with the
   * reason (`unreachable`, `origin_refused`, `invalid_auth`, `invalid_url`) instead of
   * retrying for minutes. Drops after a socket has opened are always retried. Default true.
   */
  failFast?: boolean;
}

/**
 * A WebSocket constructor: the browser's, or one for Node 20 (`import WebSocket from
 * 'ws'`).
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => {
  close(code?: number, reason?: string): void;
};

/** Settings every transport shares. */
export interface CommonOptions {
  /** A WebSocket constructor where there is no global one (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Run the socket and decoding in a Web Worker (browsers), so the page never janks. */
  worker?: boolean;
  reconnect?: ReconnectOptions;
  /** No frame for this long means the connection is dead. Default 30,000 ms. */
  livenessTimeoutMs?: number;
  /** A socket that has not opened after this long is abandoned. Default 15,000 ms. */
  connectTimeoutMs?: number;
  /** Direct mode heartbeat period. Default 10,000 ms (or the server's hint). */
  heartbeatIntervalMs?: number;
  /** Recent message ids remembered to drop duplicates. Default 10,000. */
  dedupCapacity?: number;
  /** Deliver history replayed at connect (flagged `isHistory`). Default true. */
  processInitialData?: boolean;
  /**
   * A gift streak with no end after this long gets its final `gift` (`timedOut`,
   * `repeatEnd: true`). Default 10,000 ms.
   */
  giftStreakTimeoutMs?: number;
  /** Merge each user's likes over this window into `likeAggregate` events. Default off. */
  likeAggregateMs?: number;
  /** Seed of the backoff jitter (tests). */
  seed?: number;
  /**
   * `'streak'` (default): one `gift` per gift, when its streak ends (`giftStreak` while
   * it runs). `'v2'`: as TikTok-Live-Connector v2, `gift` for every step of a streak
   * (`repeatEnd: false`) and once more at its end (`repeatEnd: true`, also when the
   * end is a timeout or `disconnect()`).
   */
  giftMode?: 'streak' | 'v2';
  /**
   * Fetch the relay's gift catalog on `connect()` and join it into gift events by id
   * (`extendedGiftInfo`); also fills `availableGifts`. Needs the relay transport and a
   * relay with a catalog (`--gifts`); `connect()` rejects when there is none.
   */
  enableExtendedGiftInfo?: boolean;
  /**
   * Ask the relay about the room (`GET /api/rooms/NAME`) before connecting: `connect()`
   * rejects with `not_live` for an offline creator and the state has `roomInfo`.
   * Default false (v2's default is true; here it costs a request to your relay).
   */
  fetchRoomInfoOnConnect?: boolean;
  /** @deprecated not in a browser: session cookies need a server (`unsupported_in_browser`). */
  sessionId?: never;
  /** @deprecated not in a browser: session cookies need a server (`unsupported_in_browser`). */
  authenticateWs?: never;
  /** @deprecated not in a browser: polling TikTok needs a server; use a relay (`unsupported_in_browser`). */
  requestPollingIntervalMs?: never;
  /** @deprecated not in a browser: use `signedUrl` (`unsupported_in_browser`). */
  signedWebSocketProvider?: never;
}

/** A relay (`tikcast relay` or a hosted one) that forwards TikTok's frames. */
export interface RelayTransport {
  relay: {
    url: string;
    /** A token for this connection; prefer `getJwt` for tokens that expire. */
    jwt?: string;
    /** Called before every (re)connect for a fresh token. */
    getJwt?: () => string | Promise<string>;
  };
  signedUrl?: never;
  frames?: never;
  roomId?: never;
}

/** A TikTok-style socket: called before every (re)connect for a freshly signed URL. */
export interface SignedUrlTransport {
  signedUrl: () => string | Promise<string>;
  /** The room the signed URL is for. */
  roomId: string;
  relay?: never;
  frames?: never;
}

/** No socket: you call `pushFrame(bytes)` (an extension, Electron, a file, a replay). */
export interface FramesTransport {
  frames: true;
  relay?: never;
  signedUrl?: never;
  roomId?: never;
}

/** The options: exactly one transport (`relay`, `signedUrl` + `roomId`, or `frames`) and common settings. */
export type TikTokLiveConnectionOptions = CommonOptions & (RelayTransport | SignedUrlTransport | FramesTransport);

/** Every option, with the transports flattened (for code that reads them). */
type AnyOptions = CommonOptions & Partial<Omit<RelayTransport, 'signedUrl' | 'frames' | 'roomId'>> &
  Partial<Omit<SignedUrlTransport, 'relay' | 'frames'>> & { frames?: boolean };

type Listener = (...args: any[]) => void;
type Batch = Array<Record<string, any>>;

/** The minimal surface both the in-page driver and the worker driver provide. */
export interface Driver {
  start(): void;
  stop(): void;
  pushFrame(bytes: Uint8Array): void;
  setWantedEvents(names: string[] | null): void;
  setRawFrames(on: boolean): void;
  stats(): Promise<Record<string, number>>;
  dispose(): void;
}

const DECODED = new Set<string>(EVENT_NAMES);
const CONTROL = new Set<string>(Object.values(ControlEvent));
/** Every name `on()` accepts. */
const KNOWN_NAMES: readonly string[] = [...new Set([...EVENT_NAMES, ...CONTROL])];
const EMPTY = new Uint8Array(0);

/** Levenshtein distance, capped (names are short). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The known event names closest to `name`, best first (at most 3). */
export function closeEventNames(name: string): string[] {
  const n = name.toLowerCase().replace(/[^a-z]/g, '');
  return KNOWN_NAMES.map((k) => {
    const kk = k.toLowerCase();
    const d = kk === n ? 0 : kk.includes(n) || n.includes(kk) ? 1 : distance(n, kk);
    return { k, d };
  })
    .filter(({ k, d }) => d <= Math.max(2, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, 3)
    .map(({ k }) => k);
}

function checkEventName(name: unknown, method: string): void {
  if (typeof name === 'string' && (DECODED.has(name) || CONTROL.has(name))) return;
  if (typeof name !== 'string') {
    throw new TikcastError(
      'unknown_event',
      `${method}() got ${String(name)} as the event name: the constant used does not exist; use a WebcastEvent or ControlEvent name`,
    );
  }
  const close = closeEventNames(name);
  throw new TikcastError(
    'unknown_event',
    `there is no event ${JSON.stringify(name)}` + (close.length ? `; did you mean ${close.map((c) => JSON.stringify(c)).join(', ')}?` : '; see WebcastEvent and ControlEvent'),
  );
}

function unsupported(what: string, instead: string): TikcastError {
  return new TikcastError('unsupported_in_browser', `${what} is not possible in a browser: ${instead}`);
}

/** v2 options that need a server; checked for plain JS callers (the types refuse them). */
const SERVER_ONLY: Record<string, string> = {
  sessionId: 'logged-in sessions (sessionId) need a server that keeps the cookie: run TikTok-Live-Connector there and forward its events, or use a relay',
  authenticateWs: 'authenticated sockets (authenticateWs) need a server that keeps the session cookie: use a relay',
  requestPollingIntervalMs: 'polling TikTok (requestPollingIntervalMs) is refused by its CORS rules: use a relay (relay: { url })',
  signedWebSocketProvider: 'signedWebSocketProvider: pass signedUrl: () => url (and roomId) instead',
  webClientHeaders: 'custom request headers (webClientHeaders) cannot be set by a page: use a relay',
  wsClientHeaders: 'custom websocket headers (wsClientHeaders) cannot be set by a page: use a relay',
  webClientOptions: 'http agent options (webClientOptions) do not exist in a browser: use a relay',
  wsClientOptions: 'websocket agent options (wsClientOptions) do not exist in a browser: use a relay',
};

/** Calls one listener: with v2's arguments when it takes two or more. */
function call(l: Listener, payload: unknown, v2Args?: () => unknown[]): void {
  try {
    if (v2Args && l.length >= 2) l(...v2Args());
    else l(payload);
  } catch (e) {
    // A throwing listener must not break the connection or the other listeners.
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** v2's `battleUsers`: the battle's hosts, under a non-enumerable second name. */
function addBattleUsers(e: Record<string, any>): void {
  if (e.type !== 'linkMicBattle' || 'battleUsers' in e) return;
  Object.defineProperty(e, 'battleUsers', { value: Array.isArray(e.hosts) ? e.hosts : [], configurable: true, writable: true });
}

const textOf = (v: unknown) => (typeof v === 'string' ? v : '');

/** The flat v2 sender fields, each read from the event's canonical `user`. */
const FLAT_FIELDS: Record<keyof FlatUser, (u: Record<string, any> | null | undefined) => unknown> = {
  userId: (u) => textOf(u?.userId),
  uniqueId: (u) => textOf(u?.uniqueId),
  nickname: (u) => textOf(u?.nickname),
  profilePictureUrl: (u) => textOf(u?.profilePictureUrl),
  followInfo: followInfoOf,
};

/**
 * The flat v2 sender fields (`FLAT_FIELDS`) as getters of `user` on a prototype every
 * event with a user gets: nothing is copied per event (`Object.defineProperties` on each
 * event cost ~2.4 µs in Node, this ~0.2 µs), the names stay out of `JSON.stringify` and
 * `Object.keys`, and assigning one stores an own, non-enumerable value as before.
 */
const FLAT_USER: object = Object.create(
  Object.prototype,
  Object.fromEntries(
    Object.entries(FLAT_FIELDS).map(([k, read]) => [
      k,
      {
        get(this: Record<string, any>) {
          return read(this.user);
        },
        set(this: Record<string, any>, value: unknown) {
          Object.defineProperty(this, k, { value, configurable: true, writable: true });
        },
        configurable: true,
      },
    ]),
  ),
);

/** Gives an event with a user the flat v2 sender fields (see `FLAT_USER`); the in-page
 * driver's events mostly have them already (made with `FLAT_USER` as their prototype). */
function addFlatUser(e: Record<string, any>): void {
  if (!('user' in e) || 'uniqueId' in e) return;
  if (Object.getPrototypeOf(e) === Object.prototype) {
    Object.setPrototypeOf(e, FLAT_USER);
    return;
  }
  // Not a plain object (never one the SDK makes): own copies.
  for (const [k, read] of Object.entries(FLAT_FIELDS)) {
    Object.defineProperty(e, k, { value: read(e.user), configurable: true, writable: true });
  }
}

const roomIdOf = (v: unknown): string | null =>
  typeof v === 'string' && /^\d+$/.test(v) && v !== '0' ? v : typeof v === 'number' && v > 0 ? String(v) : null;

/**
 * A relay refuses a credential by closing right after the upgrade (4401, 4403), so an
 * open socket alone does not settle `connect()`: the first message does, or this long
 * without a close.
 */
const CONFIRM_MS = 1000;

/**
 * A connection to one creator's live room, in the shape TikTok-Live-Connector v2 users
 * know (options choose the transport; see `TikTokLiveConnectionOptions`):
 *
 * ```ts
 * const live = new TikTokLiveConnection('streamer', { relay: { url: 'wss://relay.example/ws', getJwt } });
 * const off = live.on(WebcastEvent.CHAT, (e) => console.log(e.user.uniqueId, e.comment));
 * const state = await live.connect();
 * console.log(`connected to room ${state.roomId}`);
 * ```
 *
 * Only messages of event types someone listens to are decoded (a `decodedData`
 * listener or an open `events()` iterator turns everything on).
 */
export class TikTokLiveConnection {
  readonly uniqueId: string;
  readonly options: TikTokLiveConnectionOptions;
  #listeners = new Map<string, Set<Listener>>();
  #iterators = new Set<(item: AnyWebcastEvent | null) => void>();
  #driver: Driver | undefined;
  #state: ConnectionState = 'idle';
  #streamEndSeen = false;
  #waiters: Array<{ resolve: (s: TikTokLiveConnectionState) => void; reject: (e: TikcastError) => void }> = [];
  #confirmTimer: ReturnType<typeof setTimeout> | undefined;
  /** disconnect() was called while connect() was still loading. */
  #stopRequested = false;
  #roomId: string | null = null;
  #roomInfo: RoomInfoData | null = null;
  #gifts: AvailableGift[] = [];
  #giftsById = new Map<string, AvailableGift>();
  /** What the sockets' error events said (for the fail-fast diagnosis). */
  #socketErrors: string[] = [];
  /** The first `connected` waits for the connection to be confirmed (it carries roomId). */
  #pendingConnected: Record<string, any> | undefined;
  /** A batch is being delivered to listeners (a stop then waits until it is done). */
  #delivering = false;
  /** The session rules for events a hosted relay sends as JSON (the wasm session's for frames). */
  #json: RelayJsonSession | undefined;
  /** A JSON relay's `streamEnd` stopped the connection (`stopWhenOffline`). */
  #jsonStreamEnded = false;
  #jsonTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(uniqueId: string, options: TikTokLiveConnectionOptions) {
    if (typeof uniqueId !== 'string' || uniqueId.replace(/^@/, '') === '') {
      throw new TikcastError('invalid_options', "the first argument is the creator's @handle, e.g. new TikTokLiveConnection('someone', { relay: { url } })");
    }
    this.uniqueId = uniqueId.replace(/^@/, '');
    this.options = options ?? ({} as TikTokLiveConnectionOptions);
    const o = this.options as AnyOptions & Record<string, unknown>;
    for (const [key, why] of Object.entries(SERVER_ONLY)) {
      if (o[key] !== undefined) throw new TikcastError('unsupported_in_browser', `${why}`);
    }
    const transports = [o.relay, o.signedUrl, o.frames].filter((t) => t).length;
    if (transports !== 1) {
      throw new TikcastError(
        'invalid_options',
        transports === 0
          ? 'choose a transport: relay: { url, jwt | getJwt }, signedUrl: () => url with roomId, or frames: true (connecting to TikTok directly needs a relay in a browser)'
          : 'choose exactly one transport: relay: { url, jwt | getJwt }, signedUrl: () => url, or frames: true',
      );
    }
    if ((o.enableExtendedGiftInfo || o.fetchRoomInfoOnConnect) && !o.relay) {
      throw new TikcastError(
        'invalid_options',
        `${o.enableExtendedGiftInfo ? 'enableExtendedGiftInfo' : 'fetchRoomInfoOnConnect'} asks the relay: it needs the relay transport (relay: { url })`,
      );
    }
    if (o.giftMode !== undefined && o.giftMode !== 'streak' && o.giftMode !== 'v2') {
      throw new TikcastError('invalid_options', `giftMode must be 'streak' or 'v2', got ${JSON.stringify(o.giftMode)}`);
    }
    this.#roomId = roomIdOf(o.roomId);
  }

  /** The connection state: idle, connecting, connected, reconnecting or stopped. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The connection works now (v2's `isConnected`). */
  get isConnected(): boolean {
    return this.#state === 'connected';
  }

  /** `connect()` has not settled yet, or a reconnect is under way (v2's `isConnecting`). */
  get isConnecting(): boolean {
    return this.#state === 'connecting' || this.#state === 'reconnecting';
  }

  /** The room's id (decimal string), once the relay or an event has named it. */
  get roomId(): string | null {
    return this.#roomId;
  }

  /** What the relay said about the room (`null` until it said something). */
  get roomInfo(): RoomInfoData | null {
    return this.#roomInfo;
  }

  /** The relay's gift catalog, filled on `connect()` with `enableExtendedGiftInfo`. */
  get availableGifts(): AvailableGift[] {
    return this.#gifts;
  }

  /** v2's TikTok web client does not exist here: it calls TikTok from a server. */
  get webClient(): never {
    throw unsupported('the TikTok web client (webClient)', "ask your relay instead: fetchRoomInfo(), fetchAvailableGifts(), fetchIsLive()");
  }

  /** Sending chat needs a logged-in TikTok session, which only a server can hold. */
  sendMessage(..._args: unknown[]): never {
    throw unsupported('sending chat (sendMessage)', 'it needs a logged-in tiktok session; send from your server');
  }

  /** The state v2's `connect()` resolves with. */
  #snapshot(): TikTokLiveConnectionState {
    return {
      isConnected: this.isConnected,
      upgradedToWebsocket: true,
      roomId: this.#roomId,
      roomInfo: this.#roomInfo,
      availableGifts: this.#gifts,
    };
  }

  /**
   * Listens to one event; returns a function that removes the listener. An unknown
   * name throws `unknown_event` naming the close matches. `rawData` and `decodedData`
   * listeners that take two or more parameters get v2's arguments (annotate them, e.g.
   * `(name: string, binary: Uint8Array) => …`: TypeScript types an unannotated
   * listener by the first form).
   */
  on(name: 'rawData', listener: (e: RawData) => void): () => void;
  on(name: 'rawData', listener: RawDataV2Listener): () => void;
  on(name: 'decodedData', listener: (e: AnyWebcastEvent) => void): () => void;
  on(name: 'decodedData', listener: DecodedDataV2Listener): () => void;
  on<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): () => void;
  on(name: string, listener: Listener): () => void {
    checkEventName(name, 'on');
    if (typeof listener !== 'function') throw new TikcastError('invalid_options', `on(${JSON.stringify(name)}, listener): the listener must be a function`);
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    this.#updateWanted();
    return () => this.off(name as keyof TikTokLiveEventMap, listener);
  }

  /** Removes a listener added with `on`. */
  off(name: 'rawData', listener: (e: RawData) => void): void;
  off(name: 'rawData', listener: RawDataV2Listener): void;
  off(name: 'decodedData', listener: (e: AnyWebcastEvent) => void): void;
  off(name: 'decodedData', listener: DecodedDataV2Listener): void;
  off<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): void;
  off(name: string, listener: Listener): void {
    checkEventName(name, 'off');
    const set = this.#listeners.get(name);
    if (set?.delete(listener) && set.size === 0) this.#listeners.delete(name);
    this.#updateWanted();
  }

  /** Listens to the next occurrence of an event only. */
  once<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): () => void {
    checkEventName(name, 'once');
    const off = this.on(name, (e: TikTokLiveEventMap[K]) => {
      off();
      listener(e);
    });
    return off;
  }

  /**
   * Every decoded event, in order, as an async iterator; ends when the connection
   * stops. `for await (const e of live.events()) { ... }`
   */
  events(): AsyncIterableIterator<AnyWebcastEvent> {
    const queue: AnyWebcastEvent[] = [];
    let wake: (() => void) | undefined;
    let done = this.#state === 'stopped';
    const push = (item: AnyWebcastEvent | null) => {
      if (item === null) done = true;
      else queue.push(item);
      wake?.();
    };
    this.#iterators.add(push);
    this.#updateWanted();
    const finish = () => {
      this.#iterators.delete(push);
      this.#updateWanted();
    };
    const it: AsyncIterableIterator<AnyWebcastEvent> = {
      next: async () => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        const value = queue.shift();
        if (value === undefined) {
          finish();
          return { value: undefined, done: true };
        }
        return { value, done: false };
      },
      return: async () => {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<AnyWebcastEvent> {
    return this.events();
  }

  /**
   * Connects (loading the wasm module first if needed). Resolves with the connection
   * state (`{ isConnected, roomId, roomInfo, availableGifts, ... }`, as v2) once the
   * first connection is accepted (its first message, or open for a second without a
   * close); rejects with a `TikcastError` if the session gives up first. A configuration
   * mistake rejects within one attempt, with a code that says which (`invalid_url`,
   * `no_websocket`, `origin_refused`, `invalid_auth`, `unreachable`, `not_live`).
   * Reconnects afterwards happen by themselves.
   */
  async connect(): Promise<TikTokLiveConnectionState> {
    if (this.#driver && this.#state !== 'stopped') throw new TikcastError('already_connected', 'connect() was already called; disconnect() first');
    const o = this.options as AnyOptions;
    if (o.relay) checkRelayUrl(o.relay.url);
    const socket = o.relay !== undefined || o.signedUrl !== undefined;
    const WS = o.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    if (socket && !o.worker && typeof WS !== 'function') {
      throw new TikcastError(
        'no_websocket',
        'there is no WebSocket here: pass a WebSocket constructor as the WebSocket option (in Node 20: `import WebSocket from "ws"`)',
      );
    }
    this.#stopRequested = false;
    // With `worker: true` only the worker loads the wasm; the page never fetches it.
    if (!o.worker) await init();
    const before = this.#state;
    this.#state = 'connecting';
    try {
      await this.#beforeConnect(o);
    } catch (e) {
      this.#state = before;
      throw TikcastError.from(e);
    }
    const result = new Promise<TikTokLiveConnectionState>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#socketErrors = [];
    const driverOptions: AnyOptions =
      socket && !o.worker && typeof WS === 'function'
        ? { ...o, WebSocket: watchedWebSocket(WS as WebSocketConstructor, this.#socketErrors) as unknown as WebSocketConstructor }
        : o;
    try {
      this.#driver = o.worker
        ? await (await import('./worker-driver.js')).workerDriver(this.uniqueId, this.options, (b) => this.#onBatch(b))
        : inPageDriver(this.uniqueId, driverOptions as TikTokLiveConnectionOptions, (b) => this.#onBatch(b));
    } catch (e) {
      // Bad options: nothing started, so the connection is back where it was.
      this.#state = before;
      this.#waiters = [];
      throw e;
    }
    this.#updateWanted();
    this.#driver.start();
    if (this.#stopRequested) this.#driver.stop();
    return result;
  }

  /** `fetchRoomInfoOnConnect` and `enableExtendedGiftInfo`: both asked at once. */
  async #beforeConnect(o: AnyOptions): Promise<void> {
    const room = o.fetchRoomInfoOnConnect ? this.fetchRoomInfo() : undefined;
    const gifts = o.enableExtendedGiftInfo ? this.fetchAvailableGifts() : undefined;
    const [r, g] = await Promise.all([room, gifts]);
    if (g) {
      this.#gifts = g;
      this.#giftsById = new Map(g.map((x) => [x.id, x]));
    }
    if (r) {
      this.#roomInfo = { ...r };
      this.#roomId = r.roomId ?? this.#roomId;
      if (!r.isLive) {
        throw new TikcastError('not_live', `${this.uniqueId} is not live now: waitUntilLive() resolves when they are, or set fetchRoomInfoOnConnect: false to wait connected`);
      }
    }
  }

  /** Stops for good: closes the socket; running gift streaks get their final `gift`. */
  disconnect(): void {
    // Before connect() has made its driver, the stop is carried out right after.
    this.#stopRequested = true;
    // From a listener: the rest of the batch first, so that the final gifts of the stop
    // come after every step that arrived before it.
    if (this.#delivering) queueMicrotask(() => this.#driver?.stop());
    else this.#driver?.stop();
  }

  /**
   * Feeds one raw push frame (the `frames` transport). With `worker: true` the bytes are
   * transferred to the worker, not copied: when `bytes` spans its whole `ArrayBuffer` that
   * buffer is detached afterwards (pass `bytes.slice()` to keep yours); a view onto part
   * of a larger buffer is copied.
   */
  pushFrame(bytes: Uint8Array): void {
    if (!this.#driver) throw new TikcastError('not_connected', 'pushFrame before connect(): call connect() first');
    this.#driver.pushFrame(bytes);
  }

  /**
   * The relay's gift catalog (`GET /api/gifts` on the relay of the `relay` option, with
   * its token): gift names and images by id. See the stand-alone `fetchAvailableGifts`.
   */
  async fetchAvailableGifts(): Promise<AvailableGift[]> {
    const { url, jwt } = await this.#relayHttp('fetchAvailableGifts');
    return fetchAvailableGifts(url, { jwt });
  }

  /** This creator's room as the relay knows it (`GET /api/rooms/NAME`), without a socket. */
  async fetchRoomInfo(): Promise<RoomDetails> {
    const { url, jwt } = await this.#relayHttp('fetchRoomInfo');
    return fetchRoomInfo(url, this.uniqueId, { jwt });
  }

  /** The creator's room id (decimal string), `null` when the relay does not know it. */
  async fetchRoomId(): Promise<string | null> {
    return (await this.fetchRoomInfo()).roomId;
  }

  /** Whether the creator is live now, as the relay knows it. */
  async fetchIsLive(): Promise<boolean> {
    return (await this.fetchRoomInfo()).isLive;
  }

  /**
   * Resolves once the creator is live, asking the relay every `intervalMs` (default
   * 15,000; the relay remembers an offline answer for a minute, so this costs TikTok
   * nothing). Rejects on a relay error other than a throttle, or when `signal` aborts.
   */
  async waitUntilLive(options: { intervalMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const interval = Math.max(1000, options.intervalMs ?? 15_000);
    for (;;) {
      if (options.signal?.aborted) throw new TikcastError('stopped', 'waitUntilLive() was aborted');
      let wait = interval;
      try {
        if (await this.fetchIsLive()) return;
      } catch (e) {
        const err = TikcastError.from(e);
        if (err.code !== 'rate_limited') throw err;
        wait = Math.max(interval, err.retryAfterMs ?? 0);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
        options.signal?.addEventListener('abort', done);
      });
    }
  }

  async #relayHttp(what: string): Promise<{ url: string; jwt?: string }> {
    const relay = (this.options as AnyOptions).relay;
    if (!relay) {
      throw new TikcastError('invalid_options', `${what}() asks the relay: it needs the relay transport (relay: { url })`);
    }
    const jwt = relay.jwt ?? (relay.getJwt ? await relay.getJwt() : undefined);
    return { url: relay.url, jwt };
  }

  /** Counters from the session: connects, frames, messages, duplicates, skipped, ... */
  async stats(): Promise<Record<string, number>> {
    const stats = this.#driver ? await this.#driver.stats() : {};
    if (!this.#json) return stats;
    const j = this.#json.stats;
    return { ...stats, jsonMessages: j.messages, jsonDuplicates: j.duplicates, jsonHistoryDropped: j.historyDropped };
  }

  #emit(name: string, payload: unknown, v2Args?: () => unknown[]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    // The listeners as they are now: one added or removed by a listener takes effect from
    // the next event (one listener, the usual case, needs no copy of the set for that).
    if (set.size === 1) {
      for (const l of set) return call(l, payload, v2Args);
    }
    for (const l of [...set]) call(l, payload, v2Args);
  }

  #updateWanted(): void {
    if (!this.#driver) return;
    const raw = this.#listeners.has('rawData');
    const all = raw || this.#iterators.size > 0 || this.#listeners.has('decodedData');
    let names: string[] | null = null;
    if (!all) {
      names = [...this.#listeners.keys()].filter((n) => DECODED.has(n));
      // v2 gift mode: the steps of a streak are `giftStreak` events of the session.
      if (this.options.giftMode === 'v2' && names.includes('gift')) names.push('giftStreak');
    }
    this.#driver.setWantedEvents(names);
    this.#driver.setRawFrames(raw);
  }

  #onBatch(batch: Batch): void {
    const outer = this.#delivering;
    this.#delivering = true;
    try {
      this.#deliver(batch);
    } finally {
      this.#delivering = outer;
    }
  }

  #deliver(batch: Batch): void {
    for (const item of batch) {
      if (item.type === 'state') this.#onState(item);
      else if (item.type === 'roomInfo') this.#onText(item.data);
      else if (item.type === 'rawData') {
        if (this.#waiters.length > 0) this.#settle();
        this.#emit('rawData', item, () => ['WebcastPushFrame', item.bytes]);
      }
      else this.#onEvent(item as AnyWebcastEvent);
    }
  }

  /** The upstream accepted the connection: `connect()` resolves. */
  #settle(): void {
    clearTimeout(this.#confirmTimer);
    this.#confirmTimer = undefined;
    const waiters = this.#waiters.splice(0);
    const connected = this.#pendingConnected;
    this.#pendingConnected = undefined;
    if (connected) this.#emit('connected', { ...connected, ...this.#snapshot() });
    if (waiters.length === 0) return;
    const state = this.#snapshot();
    for (const w of waiters) w.resolve(state);
  }

  #onEvent(e: AnyWebcastEvent): void {
    this.#roomId ??= roomIdOf(e.roomId);
    if (this.#waiters.length > 0) this.#settle();
    if (e.type === 'streamEnd') this.#streamEndSeen = true;
    addFlatUser(e as Record<string, any>);
    addBattleUsers(e as Record<string, any>);
    if (e.type === 'gift' || e.type === 'giftStreak' || e.type === 'giftRaw') {
      if (this.options.enableExtendedGiftInfo) {
        (e as Record<string, any>).extendedGiftInfo = this.#giftsById.get(e.giftId) ?? null;
      }
      // v2 gift mode: every step of a streak is a `gift` too (repeatEnd false).
      if (e.type === 'giftStreak' && this.options.giftMode === 'v2') this.#emit('gift', e);
    }
    this.#emit(e.type, e);
    this.#emit('decodedData', e, () => [e.type, e, EMPTY]);
    for (const push of this.#iterators) push(e);
  }

  /** A relay's text message: a room description, or events in a hosted relay's JSON. */
  #onText(data: unknown): void {
    const messages = relayJsonMessages(data);
    if (messages === null) this.#noteRoom(data);
    if (this.#waiters.length > 0) this.#settle();
    if (messages === null) {
      this.#emit('roomInfo', { type: 'roomInfo', data });
      return;
    }
    // The same rules as the binary path: exactly once, history, streaks, like windows.
    this.#json ??= new RelayJsonSession(this.options as CommonOptions);
    const now = performance.now();
    let ended = false;
    for (const events of messages) {
      for (const e of this.#json.onMessage(now, events)) {
        ended ||= e.type === 'streamEnd';
        this.#onEvent(e);
      }
    }
    this.#armJsonTimer();
    // A JSON relay says the stream ended with an event (the binary path's session sees
    // the control message itself): with `stopWhenOffline`, stop as the session would.
    if (ended && this.options.reconnect?.stopWhenOffline && !this.#jsonStreamEnded) {
      this.#jsonStreamEnded = true;
      queueMicrotask(() => this.#driver?.stop());
    }
  }

  /** Wakes the JSON session when a streak or like window is due. */
  #armJsonTimer(): void {
    clearTimeout(this.#jsonTimer);
    this.#jsonTimer = undefined;
    const at = this.#json?.nextDeadline() ?? null;
    if (at === null) return;
    this.#jsonTimer = setTimeout(() => {
      this.#jsonTimer = undefined;
      const events = this.#json?.handleTimeout(performance.now()) ?? [];
      if (events.length > 0) this.#onBatch(events as unknown as Batch);
      this.#armJsonTimer();
    }, Math.max(0, Math.ceil(at - performance.now())));
  }

  /** The session stops: running JSON streaks get their final gift (as the core's do). */
  #flushJson(): void {
    clearTimeout(this.#jsonTimer);
    this.#jsonTimer = undefined;
    for (const e of this.#json?.flush() ?? []) this.#onEvent(e);
  }

  #noteRoom(data: unknown): void {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return;
    const d = data as Record<string, unknown>;
    if (d.type !== undefined && d.type !== 'roomInfo') return;
    this.#roomInfo = { ...d, roomId: roomIdOf(d.roomId) };
    this.#roomId = roomIdOf(d.roomId) ?? this.#roomId;
  }

  #onState(s: Record<string, any>): void {
    switch (s.state) {
      case 'connecting':
        this.#state = s.attempt === 0 ? 'connecting' : 'reconnecting';
        break;
      case 'connected':
        this.#state = 'connected';
        this.#streamEndSeen = false;
        this.#emit('websocketConnected', { ...s, state: 'websocketConnected' });
        if (this.#waiters.length > 0) {
          // The first connection: `connected` (with the room id) once it is confirmed.
          this.#pendingConnected = s;
          // Pushed frames have no upstream that could refuse them.
          if (this.options.frames) this.#settle();
          else this.#confirmTimer ??= setTimeout(() => this.#settle(), CONFIRM_MS);
          return;
        }
        s = { ...s, ...this.#snapshot() };
        break;
      case 'disconnected':
        clearTimeout(this.#confirmTimer);
        this.#confirmTimer = undefined;
        this.#pendingConnected = undefined;
        break;
      case 'reconnecting':
        this.#state = 'reconnecting';
        break;
      case 'streamEnd':
        // Already announced by the decoded `streamEnd` event of this connection.
        if (this.#streamEndSeen) return;
        this.#streamEndSeen = true;
        s = { ...s, action: s.action ?? ControlAction.CONTROL_ACTION_STREAM_ENDED };
        break;
      case 'error':
        // The session reports only frames it could not decode; `detail` says why
        // (protobuf, gzip, inflated_too_large, too_large, too_many, too_expensive,
        // unsupported_compression).
        s = { ...s, error: new TikcastError('decode_failed', s.message, { detail: s.code }) };
        break;
      case 'stopped': {
        this.#flushJson();
        this.#state = 'stopped';
        clearTimeout(this.#confirmTimer);
        this.#confirmTimer = undefined;
        this.#pendingConnected = undefined;
        for (const push of this.#iterators) push(null);
        this.#driver?.dispose();
        if (this.#jsonStreamEnded) {
          this.#jsonStreamEnded = false;
          const message = 'the stream ended (the relay sent streamEnd); connect again when the creator is live';
          s = { ...s, code: 'stream_ended', message, error: new TikcastError('stream_ended', message) };
        }
        const err: TikcastError = s.error ? TikcastError.from(s.error) : new TikcastError('stopped', s.message);
        const relay = (this.options as AnyOptions).relay;
        if (err.code === 'unreachable' && relay) {
          // Say why the first socket never opened before anyone hears `unreachable`.
          void diagnoseUnreachable(relay.url, this.#socketErrors, err).then((why) => {
            this.#stopWith(why === err ? { ...s, error: err } : { ...s, code: why.code, message: why.message, error: why }, why);
          });
          return;
        }
        this.#stopWith(s.error ? { ...s, error: err } : s, err);
        return;
      }
    }
    this.#emit(s.state, s);
  }

  #stopWith(s: Record<string, any>, err: TikcastError): void {
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#emit('stopped', s);
  }
}

/** A relay URL must be a ws:// or wss:// URL; say so before any socket is tried. */
function checkRelayUrl(url: unknown): void {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')) {
    const hint = parsed && (parsed.protocol === 'http:' || parsed.protocol === 'https:') ? ` (use ${parsed.protocol === 'https:' ? 'wss' : 'ws'}://${parsed.host}${parsed.pathname === '/' ? '/ws' : parsed.pathname})` : '';
    throw new TikcastError(
      'invalid_url',
      `relay.url must be a ws:// or wss:// url such as wss://relay.example/ws, got ${JSON.stringify(String(url).slice(0, 60))}${hint}`,
    );
  }
}

/** Builds the options object the socket driver (and the wasm `Engine` under it) takes. */
export function wasmOptions(uniqueId: string, options: TikTokLiveConnectionOptions): Record<string, unknown> {
  const o = options as AnyOptions;
  const session = {
    livenessTimeoutMs: o.livenessTimeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    dedupCapacity: o.dedupCapacity,
    processInitialData: o.processInitialData,
    giftStreakTimeoutMs: o.giftStreakTimeoutMs,
    likeAggregateMs: o.likeAggregateMs,
    seed: o.seed,
    ...o.reconnect,
  };
  if (o.relay) {
    return { transport: 'relay', url: o.relay.url, uniqueId, jwt: o.relay.jwt, getJwt: o.relay.getJwt, WebSocket: o.WebSocket, session };
  }
  if (o.signedUrl) {
    return { transport: 'signedUrl', signedUrl: o.signedUrl, roomId: o.roomId, WebSocket: o.WebSocket, session };
  }
  return { transport: 'frames', session };
}

function inPageDriver(uniqueId: string, o: TikTokLiveConnectionOptions, onBatch: (b: Batch) => void): Driver {
  let conn: SocketDriver | undefined;
  try {
    // Events with a user are made with the flat v2 sender fields' prototype (addFlatUser).
    conn = new SocketDriver(module(), { ...wasmOptions(uniqueId, o), eventPrototype: FLAT_USER }, onBatch);
  } catch (e) {
    throw TikcastError.from(e);
  }
  return {
    start: () => conn?.start(),
    stop: () => conn?.stop(),
    pushFrame: (bytes) => {
      if (!conn) throw new TikcastError('not_connected', 'the connection has stopped');
      try {
        conn.pushFrame(bytes);
      } catch (e) {
        throw TikcastError.from(e);
      }
    },
    setWantedEvents: (names) => conn?.setWantedEvents(names),
    setRawFrames: (on) => conn?.setRawFrames(on),
    stats: async () => (conn ? conn.stats() : {}),
    dispose: () => {
      // Freed after the current batch has been handled (we may be inside its callback).
      const c = conn;
      conn = undefined;
      setTimeout(() => c?.free(), 0);
    },
  };
}
