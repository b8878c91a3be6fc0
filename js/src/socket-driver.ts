// Drives the wasm `Engine` (the core's sans-IO session) over a WebSocket, one timer and
// the clock: everything the session asks for is carried out in `pump`, and the app's
// `onBatch` gets one array per turn with every event and state change of it, called with
// nothing of ours on the stack but the loop (so it may call `stop()`).
//
// This used to be Rust (web-sys, closures, wasm-bindgen-futures); here it is the same steps
// in a few kB of script instead of 25 kB of the module (bench/RESULTS.md, "the socket
// driver in TypeScript"). Every protocol rule (enter-room, heartbeats, acks, liveness,
// backoff, dedup, gift streaks) stays in the engine.
import type * as wasm from './wasm/tikcast_wasm.js';
import { TikcastError } from './errors.js';

type Item = Record<string, unknown>;
type Engine = InstanceType<typeof wasm.Engine>;
type WasmModule = { Engine: typeof wasm.Engine };

/** The driver's options, as `wasmOptions()` (connection.ts) builds them (the worker passes them on). */
export interface DriverOptions {
  transport?: 'relay' | 'signedUrl' | 'frames';
  url?: string;
  uniqueId?: string;
  jwt?: string;
  getJwt?: () => string | Promise<string>;
  signedUrl?: () => string | Promise<string>;
  roomId?: string | number | bigint;
  WebSocket?: new (url: string) => WebSocket;
  session?: Record<string, unknown>;
  /** The prototype events with a `user` are made with (the SDK's flat v2 sender fields). */
  eventPrototype?: object;
}

interface Socket {
  conn: number;
  ws: WebSocket;
}

// Engine.poll's actions: [CONNECT, conn], [SEND, conn, bytes], [CLOSE, conn, code,
// reason], [RELEASE].
const CONNECT = 0;
const SEND = 1;
const CLOSE = 2;
const RELEASE = 3;

/** One live connection: the session in wasm, its socket and timer here. */
export class SocketDriver {
  #engine: Engine | undefined;
  readonly #o: DriverOptions;
  readonly #onBatch: (batch: Item[]) => void;
  #socket: Socket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The driver-clock time `#timer` is armed for. */
  #timerAt = 0;
  /** The virtual connection of the `frames` transport. */
  #framesConn: number | undefined;
  #raw = false;
  #rawFrames: Uint8Array[] = [];
  readonly #startedAt = Date.now();
  #lastNow = 0;

  /** Throws a `TikcastError` (`invalid_options`) for options the engine refuses. */
  constructor(mod: WasmModule, options: DriverOptions, onBatch: (batch: Item[]) => void) {
    this.#o = options;
    this.#onBatch = onBatch;
    this.#engine = new mod.Engine(options);
    if (options.eventPrototype) this.#engine.setEventPrototype(options.eventPrototype);
  }

  /** Starts connecting (the first attempt is immediate). */
  start(): void {
    this.#engine?.start(this.#now());
    this.#pump();
  }

  /** Stops for good: closes the socket, closes running gift streaks (their final `gift`
   * events arrive in the last batch), clears the timer. */
  stop(): void {
    this.#engine?.stop(this.#now());
    this.#pump();
  }

  /** Feeds one raw push frame (the `frames` transport). */
  pushFrame(bytes: Uint8Array): void {
    const e = this.#engine;
    const conn = this.#framesConn;
    if (!e || conn === undefined || e.currentConn() !== conn) {
      throw new TikcastError('not_connected', 'pushFrame needs the frames transport, started and not stopped');
    }
    if (this.#raw) this.#rawFrames.push(bytes.slice());
    e.frame(conn, bytes, this.#now());
    this.#pump();
  }

  /** Also deliver every received frame as `{ type: 'rawData', bytes }`, before its events. */
  setRawFrames(on: boolean): void {
    this.#raw = on;
  }

  /** Decode only what these event names need (`null`: everything). */
  setWantedEvents(names: string[] | null): void {
    this.#engine?.setWantedEvents(names ?? undefined); // null and undefined: everything
  }

  stats(): Record<string, number> {
    return (this.#engine?.stats() as Record<string, number> | undefined) ?? {};
  }

  /** The newest resume cursor seen (empty before the first batch). */
  cursor(): string {
    return this.#engine?.cursor() ?? '';
  }

  /** Releases the socket, the timer and the engine. */
  free(): void {
    this.#release();
    const e = this.#engine;
    this.#engine = undefined;
    e?.free();
  }

  /** Milliseconds since the driver was made, never going backwards (the wall clock may). */
  #now(): number {
    this.#lastNow = Math.max(this.#lastNow, Math.floor(Math.max(0, Date.now() - this.#startedAt)));
    return this.#lastNow;
  }

  #release(): void {
    const s = this.#socket;
    this.#socket = undefined;
    if (s) retire(s, 1000, 'client stopped');
    this.#clearTimer();
    this.#framesConn = undefined;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Arms one timer for the session's next deadline. A timer already armed for that time or
   * earlier is kept: every frame moves the liveness deadline later, and re-arming on each
   * (clearTimeout + setTimeout, twice a frame) cost 2 % of a frame in Chromium. Waking
   * early is harmless: the session acts only on what is due, and the wake-up arms the
   * timer again for the deadline it then has.
   */
  #reschedule(): void {
    const e = this.#engine;
    const at = e ? e.deadline() : -1;
    if (at < 0) {
      this.#clearTimer();
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#clearTimer();
    // setTimeout takes a 32-bit delay; longer waits simply wake up early.
    const delay = Math.min(Math.max(0, at - this.#now()), 2_000_000_000);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#engine?.timeout(this.#now());
      this.#pump();
    }, delay);
  }

  /** Carries out everything the session asked for, then hands the app one batch (it may
   * call `stop()` or `pushFrame()`: that runs its own loop, and this one then finds nothing
   * left to do). */
  #pump(): void {
    for (;;) {
      const e = this.#engine;
      if (!e) return;
      const batch: Item[] = [];
      for (const bytes of this.#rawFrames) batch.push({ type: 'rawData', bytes });
      this.#rawFrames = [];
      const actions = e.poll(batch) as unknown[][] | undefined;
      if (!actions && batch.length === 0) {
        this.#reschedule();
        return;
      }
      const connects: number[] = [];
      for (const a of actions ?? []) {
        switch (a[0]) {
          case CONNECT: {
            const old = this.#socket;
            this.#socket = undefined;
            if (old) retire(old, 1000, 'reconnecting');
            connects.push(a[1] as number);
            break;
          }
          case SEND: {
            const s = this.#socket;
            if (s && s.conn === a[1]) {
              try {
                s.ws.send(a[2] as Uint8Array);
              } catch {
                // The close event that follows reports it to the session.
                try {
                  s.ws.close();
                } catch {
                  /* already closing */
                }
              }
            }
            break;
          }
          case CLOSE: {
            const s = this.#socket;
            if (s && s.conn === a[1]) {
              this.#socket = undefined;
              retire(s, a[2] as number, a[3] as string);
            }
            if (this.#framesConn === a[1]) this.#framesConn = undefined;
            break;
          }
          case RELEASE:
            this.#release();
            break;
        }
      }
      if (!e.isStopped()) this.#reschedule();
      if (batch.length > 0) this.#onBatch(batch);
      for (const conn of connects) this.#open(conn);
    }
  }

  /** Opens the socket for attempt `conn`: a fresh credential or signed URL first. */
  #open(conn: number): void {
    const e = this.#engine;
    if (!e) return;
    if (this.#o.transport === 'frames') {
      this.#framesConn = conn;
      e.opened(conn, this.#now());
      return; // the pump loop we are in carries on
    }
    void this.#url().then(
      (url) => {
        if (this.#engine?.currentConn() !== conn) return; // gave up on this attempt meanwhile
        let ws: WebSocket;
        try {
          ws = this.#connect(url);
        } catch (err) {
          this.#failed(conn, (err as Error).message);
          return;
        }
        this.#listen(conn, ws);
      },
      (err: Error) => {
        if (this.#engine?.currentConn() !== conn) return;
        this.#failed(conn, err.message);
      },
    );
  }

  #failed(conn: number, reason: string): void {
    this.#engine?.closed(conn, 1006, reason, this.#now());
    this.#pump();
  }

  /** The URL for one attempt, with the newest cursor and a fresh credential. */
  async #url(): Promise<string> {
    const o = this.#o;
    if (o.transport === 'signedUrl') {
      const url = await callForString(o.signedUrl, 'signedUrl');
      if (!/^wss?:\/\//.test(url)) throw new Error('signedUrl returned something that is not a ws:// or wss:// url');
      return url;
    }
    const params: [string, string][] = [];
    if (typeof o.uniqueId === 'string') params.push(['uniqueId', o.uniqueId]);
    const cursor = this.cursor();
    if (cursor) params.push(['cursor', cursor]);
    const jwt = typeof o.getJwt === 'function' ? await callForString(o.getJwt, 'getJwt') : o.jwt;
    if (typeof jwt === 'string') params.push(['jwtKey', jwt]);
    return withQuery(o.url ?? '', params);
  }

  #connect(url: string): WebSocket {
    const ctor = this.#o.WebSocket;
    if (typeof ctor === 'function') {
      try {
        return new ctor(url);
      } catch {
        throw new Error('the WebSocket constructor option threw for this url');
      }
    }
    try {
      return new (globalThis as { WebSocket: new (url: string) => WebSocket }).WebSocket(url);
    } catch {
      throw new Error('cannot open a WebSocket here (pass a WebSocket constructor, e.g. from the ws package, in Node)');
    }
  }

  #listen(conn: number, ws: WebSocket): void {
    this.#socket = { conn, ws };
    ws.binaryType = 'arraybuffer';
    const on = (f: (e: Engine, now: number, ev: any) => void) => (ev: any) => {
      const e = this.#engine;
      if (!e) return;
      f(e, this.#now(), ev);
      this.#pump();
    };
    ws.onopen = on((e, now) => e.opened(conn, now));
    ws.onmessage = on((e, now, ev) => {
      const data = ev?.data;
      if (typeof data === 'string') {
        e.text(conn, data, now);
      } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        if (this.#raw) this.#rawFrames.push(bytes);
        e.frame(conn, bytes, now);
      }
    });
    ws.onclose = on((e, now, ev) => {
      const s = this.#socket;
      if (s && s.conn === conn) {
        this.#socket = undefined;
        retire(s, 1000, '');
      }
      const code = typeof ev?.code === 'number' ? ev.code : 1006;
      e.closed(conn, code, typeof ev?.reason === 'string' ? ev.reason : '', now);
    });
    // An error is always followed by a close event, which carries the code.
    ws.onerror = () => {};
  }
}

/** Detaches the handlers (late events of this socket can no longer reach the session) and
 * closes it. */
function retire(s: Socket, code: number, reason: string): void {
  const ws = s.ws;
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
  try {
    ws.close(code, reason);
  } catch {
    // A code the browser refuses to send (only 1000 and 3000-4999 are allowed): close plainly.
    try {
      ws.close();
    } catch {
      /* already closed */
    }
  }
}

/** Calls an app callback that returns a string or a promise of one. Failure messages
 * name the callback, never the value (it may be a credential). */
async function callForString(f: (() => unknown) | undefined, name: string): Promise<string> {
  let v: unknown;
  try {
    v = f?.();
  } catch {
    throw new Error(`${name}() threw; check the callback`);
  }
  if (v && typeof (v as PromiseLike<unknown>).then === 'function') {
    try {
      v = await v;
    } catch {
      throw new Error(`${name}() was rejected; check the callback`);
    }
  }
  if (typeof v !== 'string' || v === '') throw new Error(`${name}() must resolve to a non-empty string`);
  return v;
}

/** `url` with `params` set in its query: pairs already there under those names are
 * replaced, the rest kept; values percent-encoded (RFC 3986 unreserved kept). The same
 * rule as the core's `client::with_query`, which the native tools use. */
export function withQuery(url: string, params: [string, string][]): string {
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const parts: string[] = [];
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!params.some(([k]) => k === key)) parts.push(pair);
  }
  for (const [k, v] of params) parts.push(`${k}=${encode(v)}`);
  return parts.length ? `${base}?${parts.join('&')}` : base;
}

function encode(v: string): string {
  // Lone surrogates become U+FFFD, as a Rust string would hold them.
  const s = v.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
