// Why the first socket to a relay never opened. A browser hides the handshake's HTTP
// status from WebSocket code (the close is a bare 1006), so the session can only say
// `unreachable`; this turns that into the cause the user can act on: the relay refuses
// this origin, the path answers no upgrade, the token was refused, or nothing listens.
import { TikcastError, type TikcastErrorCode } from './errors.js';

/** What a socket's `error` event said (Node's `ws` puts the HTTP status in it). */
export type SocketErrors = string[];

/**
 * A WebSocket constructor that notes what each socket's `error` event said, for
 * `diagnoseUnreachable`. The socket is the one `WS` makes; only a listener is added.
 */
export function watchedWebSocket(WS: new (url: string, protocols?: string | string[]) => object, errors: SocketErrors) {
  return class extends (WS as new (url: string, protocols?: string | string[]) => EventTarget) {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener?.('error', (ev: Event) => {
        const e = ev as Event & { message?: unknown; error?: { code?: unknown; message?: unknown } };
        const text = [e.message, e.error?.code, e.error?.message].filter((x) => typeof x === 'string').join(' ');
        if (text && errors.length < 8) errors.push(text);
      });
    }
  };
}

/** `wss://relay.example/ws?x` → `https://relay.example/healthz`. */
function healthUrl(wsUrl: string): string | null {
  try {
    const u = new URL(wsUrl);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/healthz';
    u.search = '';
    return u.href;
  } catch {
    return null;
  }
}

async function probe(url: string, mode: RequestMode): Promise<Response | null> {
  if (typeof fetch !== 'function') return null;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 3000);
  try {
    return await fetch(url, { mode, signal: ctl.signal, cache: 'no-store' });
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function fromStatus(status: number, url: string): [TikcastErrorCode, string] | null {
  if (status === 403) {
    return ['origin_refused', `the relay at ${url} refused this page's origin at the handshake (http 403): add the origin to the relay's --allow-origin`];
  }
  if (status === 401) {
    return ['invalid_auth', `the relay at ${url} refused the credential at the handshake (http 401): mint a new token and check its expiry`];
  }
  if (status === 404 || status === 400 || status === 405) {
    return ['invalid_url', `nothing accepts websocket connections at ${url} (http ${status}): check the path (a tikcast relay listens on /ws)`];
  }
  return null;
}

/**
 * The error to report for a relay whose first socket never opened: from the socket's
 * own error text when the WebSocket implementation gives one (Node's `ws`), else from
 * asking the relay's `/healthz` over HTTP (a relay that answers with `no-cors` but
 * refuses a CORS request refuses this origin; one that does not answer at all is down).
 */
export async function diagnoseUnreachable(url: string, errors: SocketErrors, original: TikcastError): Promise<TikcastError> {
  const text = errors.join(' ');
  const status = /response:?\s*(\d{3})/i.exec(text);
  if (status) {
    const known = fromStatus(Number(status[1]), url);
    if (known) return new TikcastError(known[0], known[1]);
  }
  if (/ECONNREFUSED/.test(text)) {
    return new TikcastError('unreachable', `connection refused at ${url}: start the relay or check the host and port`);
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) {
    return new TikcastError('unreachable', `cannot resolve the host of ${url}: check the url`);
  }
  const health = healthUrl(url);
  if (health && typeof globalThis.document !== 'undefined') {
    // In a page: a relay that answers an opaque request is up.
    const cors = await probe(health, 'cors');
    if (cors === null) {
      const opaque = await probe(health, 'no-cors');
      if (opaque !== null) {
        return new TikcastError(
          'origin_refused',
          `the relay at ${url} is up but refused this page (${location.origin}): add the origin to the relay's --allow-origin`,
        );
      }
      return new TikcastError('unreachable', `nothing answers at ${url}: start the relay or check the host and port`);
    }
    // Up, and this origin is allowed: the upgrade itself was refused.
    return new TikcastError(
      'unreachable',
      `the relay at ${url} is up and allows this page, but refused the websocket handshake: check the path (a tikcast relay listens on /ws) and the token`,
    );
  }
  return original;
}
