/**
 * Every `code` a `TikcastError` can carry, in one list: the package and the wasm bindings
 * raise no other (a test scans js/src and crates/tikcast-wasm for codes and checks them
 * against this list). `TikcastErrorCode` is made from it.
 *
 * | code | meaning | what to do |
 * |---|---|---|
 * | `invalid_options` | bad options, or the server rejected the connection options (4400) | fix the options the message names |
 * | `invalid_url` | the relay URL is not a `ws://` / `wss://` URL, or nothing answers WebSocket upgrades at its path | check the URL (e.g. `wss://relay.example/ws`) |
 * | `no_websocket` | no WebSocket implementation here | pass `WebSocket` (Node 20: the `ws` package) |
 * | `origin_refused` | the relay refused this page's origin at the handshake (HTTP 403) | add the page's origin to the relay's `--allow-origin` |
 * | `invalid_auth` | the relay rejected the credential (4401, HTTP 401) | mint a new token; check its expiry and audience |
 * | `no_permission` | the credential is not allowed for this creator (4403) | widen the token's `allowedCreators` |
 * | `unreachable` | the first socket never opened: server down, wrong host or port | start the relay / check the URL; `reconnect.failFast: false` retries instead |
 * | `not_live` | the creator is offline (4404) and `stopWhenOffline` is set | `waitUntilLive()`, or leave `stopWhenOffline` off |
 * | `stream_ended` | the stream ended and `stopWhenOffline` is set | connect again when the creator is live |
 * | `rate_limited` | too many connections (4429) until the attempt budget ran out | wait `retryAfterMs` |
 * | `attempts_exhausted` | the reconnect budget ran out after the connection had worked | connect again later; raise `reconnect.maxAttempts` |
 * | `terminal_close` | a close code configured as terminal | see the close reason |
 * | `stopped` | `disconnect()` was called before `connect()` settled | nothing: you asked for it |
 * | `already_connected` | `connect()` while connected | `disconnect()` first |
 * | `decode_failed` | a frame could not be decoded (`detail` says why) | report it with the frame |
 * | `not_initialized` | used before `await init()` | `await init()` first |
 * | `init_failed` | the wasm module could not be loaded | serve the `.wasm` next to the package or pass its URL to `init()` |
 * | `not_connected` | `pushFrame` without a started `frames` connection | `connect()` a `frames: true` connection first |
 * | `network_error` | an HTTP helper could not reach the relay (down, or CORS refused this origin) | check the relay and its `--allow-origin` |
 * | `not_found` | the relay has no such resource (e.g. no gift catalog) | start the relay with `--gifts` |
 * | `http_error` | the relay answered another HTTP error (see `status`) | see the message |
 * | `bad_response` | the relay's answer was not the expected JSON | check that the URL is a tikcast-compatible relay |
 * | `unknown_event` | `on()`/`once()`/`off()` with an event name that does not exist | use a `WebcastEvent` / `ControlEvent` constant; the message lists close matches |
 * | `unsupported_in_browser` | a TikTok-Live-Connector feature that needs a server (session cookies, sending chat, polling TikTok) | do it on your server; the message names the alternative |
 * | `worker_failed` | the Web Worker of `worker: true` could not start or crashed | see the message; `worker: false` runs in the page |
 * | `internal` | a bug: an error without a code | report it |
 */
export const ERROR_CODES = [
  'invalid_options',
  'invalid_url',
  'no_websocket',
  'origin_refused',
  'invalid_auth',
  'no_permission',
  'unreachable',
  'not_live',
  'stream_ended',
  'rate_limited',
  'attempts_exhausted',
  'terminal_close',
  'stopped',
  'already_connected',
  'decode_failed',
  'not_initialized',
  'init_failed',
  'not_connected',
  'network_error',
  'not_found',
  'http_error',
  'bad_response',
  'unknown_event',
  'unsupported_in_browser',
  'worker_failed',
  'internal',
] as const;

/** Every `code` of a `TikcastError` (see `ERROR_CODES` for what each means). */
export type TikcastErrorCode = (typeof ERROR_CODES)[number];

const KNOWN = new Set<string>(ERROR_CODES);

/**
 * Every error tikcast raises or reports. `code` is stable (one of `TikcastErrorCode`);
 * `message` is lowercase and says what was wrong and what to do.
 */
export class TikcastError extends Error {
  readonly code: TikcastErrorCode;
  readonly retryAfterMs?: number;
  readonly detail?: string;
  /** The HTTP status, for errors of the HTTP helpers that got an answer. */
  readonly status?: number;

  constructor(
    code: TikcastErrorCode,
    message: string,
    extra: { retryAfterMs?: number | null; detail?: string; status?: number } = {},
  ) {
    super(message);
    this.name = 'TikcastError';
    this.code = code;
    if (extra.retryAfterMs != null) this.retryAfterMs = extra.retryAfterMs;
    if (extra.detail != null) this.detail = extra.detail;
    if (extra.status != null) this.status = extra.status;
  }

  /** Wraps an error thrown by the wasm module (an `Error` with a `code`). */
  static from(e: unknown): TikcastError {
    if (e instanceof TikcastError) return e;
    const err = e as { code?: unknown; message?: unknown; retryAfterMs?: unknown; detail?: unknown; status?: unknown };
    const code = typeof err?.code === 'string' && KNOWN.has(err.code) ? (err.code as TikcastErrorCode) : 'internal';
    const message = typeof err?.message === 'string' ? err.message : String(e);
    return new TikcastError(code, message, {
      retryAfterMs: typeof err?.retryAfterMs === 'number' ? err.retryAfterMs : undefined,
      detail: typeof err?.detail === 'string' ? err.detail : code === 'internal' && typeof err?.code === 'string' ? err.code : undefined,
      status: typeof err?.status === 'number' ? err.status : undefined,
    });
  }
}
