import type { AnyWebcastEvent, WebcastEventMap } from './events.generated.js';
import { EVENT_NAMES } from './events.generated.js';
import { TikcastError } from './errors.js';
import { init, module } from './loader.js';
import { fromRelayJson } from './relay-json.js';
import { fetchAvailableGifts, fetchRoomInfo, type AvailableGift, type RoomDetails } from './relay-http.js';

/** Names of the decoded events, in the spelling TikTok-Live-Connector v2 users know. */
export const WebcastEvent = {
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
} as const satisfies Record<string, keyof WebcastEventMap>;

/** Connection-level events (not decoded from TikTok messages). */
export const ControlEvent = {
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  DISCONNECTED: 'disconnected',
  /** The session stopped for good (see `code`; `error` unless you asked it to stop). */
  STOPPED: 'stopped',
  ERROR: 'error',
  ROOM_INFO: 'roomInfo',
  /** Every decoded event, whatever its type (turns listener-aware skipping off). */
  DECODED_DATA: 'decodedData',
  /** Every received push frame, raw, before its events (turns skipping off too). */
  RAW_DATA: 'rawData',
} as const;

export interface ConnectingState { type: 'state'; state: 'connecting'; attempt: number }
export interface ConnectedState { type: 'state'; state: 'connected'; attempt: number }
export interface ReconnectingState {
  type: 'state';
  state: 'reconnecting';
  attempt: number;
  delayMs: number;
  class: 'terminal' | 'waiting' | 'throttled' | 'transient';
  reason: string;
}
export interface DisconnectedState { type: 'state'; state: 'disconnected'; code: number; reason: string }
export interface StreamEndState { type: 'state'; state: 'streamEnd' }
export interface ErrorState { type: 'state'; state: 'error'; code: string; message: string; error: TikcastError }
export interface StoppedState {
  type: 'state';
  state: 'stopped';
  code: string;
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
  reconnecting: ReconnectingState;
  disconnected: DisconnectedState;
  stopped: StoppedState;
  error: ErrorState;
  roomInfo: RoomInfo;
  decodedData: AnyWebcastEvent;
  rawData: RawData;
}

/** Every name `on()` accepts and what its listener receives. */
export type TikTokLiveEventMap = Omit<WebcastEventMap, 'streamEnd'> &
  ControlEventMap & { streamEnd: WebcastEventMap['streamEnd'] | StreamEndState };

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
   * Reject `connect()` with `unreachable` when the very first socket never opens
   * (refused, unreachable, origin or token refused at the handshake, connect timeout)
   * instead of retrying for minutes. Drops after a socket has opened are always
   * retried. Default true.
   */
  failFast?: boolean;
}

export interface TikTokLiveConnectionOptions {
  /** A relay (`tikcast relay` or a hosted one) that forwards TikTok's frames. */
  relay?: {
    url: string;
    /** A token for this connection; prefer `getJwt` for tokens that expire. */
    jwt?: string;
    /** Called before every (re)connect for a fresh token. */
    getJwt?: () => string | Promise<string>;
  };
  /** A TikTok-style socket: called before every (re)connect for a freshly signed URL. */
  signedUrl?: () => string | Promise<string>;
  /** The room the signed URL is for (required with `signedUrl`). */
  roomId?: string;
  /** No socket: you call `pushFrame(bytes)` (an extension, Electron, a file, a replay). */
  frames?: boolean;
  /** A WebSocket constructor where there is no global one (Node 20: `ws`). */
  WebSocket?: unknown;
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
  /** A gift streak with no end after this long gets its final `gift` (`timedOut`). Default 10,000 ms. */
  giftStreakTimeoutMs?: number;
  /** Merge each user's likes over this window into `likeAggregate` events. Default off. */
  likeAggregateMs?: number;
  /** Seed of the backoff jitter (tests). */
  seed?: number;
}

type Listener = (payload: any) => void;
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

/**
 * A relay refuses a credential by closing right after the upgrade (4401, 4403), so an
 * open socket alone does not settle `connect()`: the first message does, or this long
 * without a close.
 */
const CONFIRM_MS = 1000;

/**
 * A connection to one creator's live room, in the shape TikTok-Live-Connector v2 users
 * know:
 *
 * ```ts
 * const live = new TikTokLiveConnection('streamer', { relay: { url: 'wss://relay.example/ws', getJwt } });
 * const off = live.on(WebcastEvent.CHAT, (e) => console.log(e.user.uniqueId, e.comment));
 * await live.connect();
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
  #waiters: Array<{ resolve: (s: ConnectionState) => void; reject: (e: TikcastError) => void }> = [];
  #confirmTimer: ReturnType<typeof setTimeout> | undefined;
  /** disconnect() was called while connect() was still loading. */
  #stopRequested = false;

  constructor(uniqueId: string, options: TikTokLiveConnectionOptions = {}) {
    this.uniqueId = uniqueId.replace(/^@/, '');
    this.options = options;
    const transports = [options.relay, options.signedUrl, options.frames].filter((t) => t).length;
    if (transports !== 1) {
      throw new TikcastError(
        'invalid_options',
        'choose exactly one transport: relay: { url, jwt | getJwt }, signedUrl: () => url, or frames: true',
      );
    }
  }

  /** The connection state: idle, connecting, connected, reconnecting or stopped. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Listens to one event; returns a function that removes the listener. */
  on<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener);
    this.#updateWanted();
    return () => this.off(name, listener);
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): void {
    const set = this.#listeners.get(name);
    if (set?.delete(listener as Listener) && set.size === 0) this.#listeners.delete(name);
    this.#updateWanted();
  }

  /** Listens to the next occurrence of an event only. */
  once<K extends keyof TikTokLiveEventMap>(name: K, listener: (e: TikTokLiveEventMap[K]) => void): () => void {
    const off = this.on(name, (e) => {
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
   * Connects (loading the wasm module first if needed). Resolves with `'connected'` once
   * the first connection is accepted (its first message, or a second open without a
   * close); rejects with a `TikcastError` if the session gives up first (e.g.
   * `invalid_auth`). Reconnects afterwards happen by themselves.
   */
  async connect(): Promise<ConnectionState> {
    if (this.#driver && this.#state !== 'stopped') throw new TikcastError('already_connected', 'connect() was already called; disconnect() first');
    const socket = this.options.relay !== undefined || this.options.signedUrl !== undefined;
    const WS = this.options.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    if (socket && !this.options.worker && typeof WS !== 'function') {
      throw new TikcastError(
        'no_websocket',
        'there is no WebSocket here: pass a WebSocket constructor as the WebSocket option (in Node 20: `import WebSocket from "ws"`)',
      );
    }
    this.#stopRequested = false;
    // With `worker: true` only the worker loads the wasm; the page never fetches it.
    if (!this.options.worker) await init();
    const result = new Promise<ConnectionState>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    const before = this.#state;
    this.#state = 'connecting';
    try {
      this.#driver = this.options.worker
        ? await (await import('./worker-driver.js')).workerDriver(this.uniqueId, this.options, (b) => this.#onBatch(b))
        : inPageDriver(this.uniqueId, this.options, (b) => this.#onBatch(b));
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

  /** Stops for good: closes the socket; running gift streaks get their final `gift`. */
  disconnect(): void {
    // Before connect() has made its driver, the stop is carried out right after.
    this.#stopRequested = true;
    this.#driver?.stop();
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

  async #relayHttp(what: string): Promise<{ url: string; jwt?: string }> {
    const relay = this.options.relay;
    if (!relay) {
      throw new TikcastError('invalid_options', `${what}() asks the relay: it needs the relay transport (relay: { url })`);
    }
    const jwt = relay.jwt ?? (relay.getJwt ? await relay.getJwt() : undefined);
    return { url: relay.url, jwt };
  }

  /** Counters from the session: connects, frames, messages, duplicates, skipped, ... */
  async stats(): Promise<Record<string, number>> {
    return this.#driver ? this.#driver.stats() : {};
  }

  #emit(name: string, payload: unknown): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(payload);
      } catch (e) {
        // A throwing listener must not break the connection or the other listeners.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #updateWanted(): void {
    if (!this.#driver) return;
    const raw = this.#listeners.has('rawData');
    const all = raw || this.#iterators.size > 0 || this.#listeners.has('decodedData');
    const names = all ? null : [...this.#listeners.keys()].filter((n) => DECODED.has(n));
    this.#driver.setWantedEvents(names);
    this.#driver.setRawFrames(raw);
  }

  #onBatch(batch: Batch): void {
    for (const item of batch) {
      if (item.type === 'state') this.#onState(item);
      else if (item.type === 'roomInfo') this.#onText(item.data);
      else if (item.type === 'rawData') {
        if (this.#waiters.length > 0) this.#settle();
        this.#emit('rawData', item);
      }
      else this.#onEvent(item as AnyWebcastEvent);
    }
  }

  /** The upstream accepted the connection: `connect()` resolves. */
  #settle(): void {
    clearTimeout(this.#confirmTimer);
    this.#confirmTimer = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve('connected');
  }

  #onEvent(e: AnyWebcastEvent): void {
    if (this.#waiters.length > 0) this.#settle();
    if (e.type === 'streamEnd') this.#streamEndSeen = true;
    this.#emit(e.type, e);
    this.#emit('decodedData', e);
    for (const push of this.#iterators) push(e);
  }

  /** A relay's text message: a room description, or events in a hosted relay's JSON. */
  #onText(data: unknown): void {
    if (this.#waiters.length > 0) this.#settle();
    const events = fromRelayJson(data);
    if (events === null) {
      this.#emit('roomInfo', { type: 'roomInfo', data });
      return;
    }
    for (const e of events) this.#onEvent(e);
  }

  #onState(s: Record<string, any>): void {
    switch (s.state) {
      case 'connecting':
        this.#state = s.attempt === 0 ? 'connecting' : 'reconnecting';
        break;
      case 'connected':
        this.#state = 'connected';
        this.#streamEndSeen = false;
        // Pushed frames have no upstream that could refuse them.
        if (this.options.frames) this.#settle();
        else if (this.#waiters.length > 0) this.#confirmTimer ??= setTimeout(() => this.#settle(), CONFIRM_MS);
        break;
      case 'disconnected':
        clearTimeout(this.#confirmTimer);
        this.#confirmTimer = undefined;
        break;
      case 'reconnecting':
        this.#state = 'reconnecting';
        break;
      case 'streamEnd':
        // Already announced by the decoded `streamEnd` event of this connection.
        if (this.#streamEndSeen) return;
        this.#streamEndSeen = true;
        break;
      case 'error':
        // The session reports only frames it could not decode; `detail` says why
        // (protobuf, gzip, inflated_too_large, too_large, too_many, too_expensive,
        // unsupported_compression).
        s = { ...s, error: new TikcastError('decode_failed', s.message, { detail: s.code }) };
        break;
      case 'stopped': {
        this.#state = 'stopped';
        clearTimeout(this.#confirmTimer);
        this.#confirmTimer = undefined;
        if (s.error) s = { ...s, error: TikcastError.from(s.error) };
        const err: TikcastError = s.error ?? new TikcastError('stopped', s.message);
        for (const w of this.#waiters.splice(0)) w.reject(err);
        for (const push of this.#iterators) push(null);
        this.#driver?.dispose();
        break;
      }
    }
    this.#emit(s.state, s);
  }
}

/** Builds the options object the wasm `Connection` takes. */
export function wasmOptions(uniqueId: string, o: TikTokLiveConnectionOptions): Record<string, unknown> {
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
  const wasm = module();
  let conn: InstanceType<typeof wasm.Connection> | undefined;
  try {
    conn = new wasm.Connection(wasmOptions(uniqueId, o), onBatch);
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
