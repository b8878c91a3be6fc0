/**
 * Every error tikcast raises or reports. `code` is stable; `message` says what was
 * wrong and what to do.
 *
 * | code | meaning |
 * |---|---|
 * | `invalid_options` | bad options, or the server rejected the connection options (4400) |
 * | `invalid_auth` | the relay rejected the credential (4401) |
 * | `no_permission` | the credential is not allowed for this creator (4403) |
 * | `not_live` | the creator is offline (4404) and `stopWhenOffline` is set |
 * | `stream_ended` | the stream ended and `stopWhenOffline` is set |
 * | `rate_limited` | too many connections (4429) until the attempt budget ran out; see `retryAfterMs` |
 * | `attempts_exhausted` | the reconnect budget ran out |
 * | `unreachable` | the first socket never opened: wrong URL, server down, or it refused this page's origin or token (see `reconnect.failFast`) |
 * | `no_websocket` | no WebSocket implementation: pass `WebSocket` (Node 20: the `ws` package) |
 * | `terminal_close` | a close code configured as terminal |
 * | `decode_failed` | a frame could not be decoded (`detail` says why) |
 * | `not_initialized` | used before `await init()` |
 * | `not_connected` | `pushFrame` without a started `frames` connection |
 * | `network_error` | an HTTP helper could not reach the relay (down, or CORS refused this origin) |
 * | `not_found` | the relay has no such resource (e.g. no gift catalog) |
 * | `http_error` | the relay answered another HTTP error (see `status`) |
 * | `bad_response` | the relay's answer was not the expected JSON |
 */
export class TikcastError extends Error {
  readonly code: string;
  readonly retryAfterMs?: number;
  readonly detail?: string;
  /** The HTTP status, for errors of the HTTP helpers that got an answer. */
  readonly status?: number;

  constructor(code: string, message: string, extra: { retryAfterMs?: number | null; detail?: string; status?: number } = {}) {
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
    const code = typeof err?.code === 'string' ? err.code : 'internal';
    const message = typeof err?.message === 'string' ? err.message : String(e);
    return new TikcastError(code, message, {
      retryAfterMs: typeof err?.retryAfterMs === 'number' ? err.retryAfterMs : undefined,
      detail: typeof err?.detail === 'string' ? err.detail : undefined,
      status: typeof err?.status === 'number' ? err.status : undefined,
    });
  }
}
