// The relay's HTTP helpers (`GET /api/gifts`, `GET /api/rooms/NAME`, docs/relay.md) over
// the global `fetch`, so a page learns gift names and images and room details from its
// relay and never calls a TikTok API itself. They need no wasm: they lived in the module
// (gloo-net) until moving them here made the shipped `.wasm` + glue smaller (see the
// commit that moved them for the measured sizes).
//
// The relay's base URL is derived from its socket URL (`ws://` → `http://`, `wss://` →
// `https://`, same host, a trailing `/ws` dropped); `http(s)://` base URLs are taken as
// they are. A token goes in the `x-jwt-key` header (the relay allows it in CORS
// preflights). Errors are `TikcastError`s with a stable `code` and the HTTP `status`
// where there was one.
import { TikcastError, type TikcastErrorCode } from './errors.js';

/** One gift of the relay's catalog (`GET /api/gifts`). */
export interface AvailableGift {
  /** Gift id as a decimal string (compare with `GiftEvent.giftId`). */
  id: string;
  name: string;
  diamondCount: number;
  imageUrl: string;
  /** v2's spelling of `diamondCount` (the same number, not enumerable). */
  readonly diamond_count: number;
}

/** A room as the relay describes it (`GET /api/rooms/NAME`). */
export interface RoomDetails {
  uniqueId: string;
  /** Room id as a decimal string, `null` when unknown. */
  roomId: string | null;
  isLive: boolean;
  title: string | null;
  viewerCount: number | null;
  /** Where the relay got it: `cache`, `relay` (an open room) or `upstream`. */
  source: string;
}

/** Options of the stand-alone HTTP helpers. */
export interface RelayHttpOptions {
  /** A token when the relay wants one (sent as the `x-jwt-key` header). */
  jwt?: string;
}

/**
 * `{base}/api/{rest}` for a relay socket URL (or an http(s) base URL); throws an
 * `invalid_options` `TikcastError` for anything else.
 */
export function apiUrl(relayUrl: string, rest: string): string {
  const url = String(relayUrl).trim();
  const m = /^(ws|wss|http|https):\/\//.exec(url);
  if (!m) {
    throw new TikcastError('invalid_options', `relay url must start with ws://, wss://, http:// or https://, got ${JSON.stringify(url)}`);
  }
  const scheme = m[1] === 'ws' || m[1] === 'http' ? 'http://' : 'https://';
  const tail = url.slice(m[0].length).split(/[?#]/)[0];
  const slash = tail.indexOf('/');
  const host = slash < 0 ? tail : tail.slice(0, slash);
  if (host === '') throw new TikcastError('invalid_options', `relay url has no host: ${JSON.stringify(url)}`);
  let path = (slash < 0 ? '' : tail.slice(slash)).replace(/\/+$/, '');
  if (path.endsWith('/ws')) path = path.slice(0, -3);
  return `${scheme}${host}${path}/api/${rest}`;
}

/** Percent-encodes a path segment: only RFC 3986 unreserved characters stay. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The relay's refusals by HTTP status (any other error status is `http_error`). */
const CODE_BY_STATUS: Record<number, TikcastErrorCode> = {
  401: 'invalid_auth',
  403: 'no_permission',
  404: 'not_found',
  429: 'rate_limited',
};

/** GETs `url` and parses the JSON answer; maps failures to stable error codes. */
async function getJson(url: string, jwt: string | undefined, what: string): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (jwt) headers['x-jwt-key'] = jwt;
  let resp: Response;
  try {
    resp = await fetch(url, { headers });
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown };
    throw new TikcastError(
      'network_error',
      `cannot reach the relay for ${what} at ${url}: ${String(err?.name ?? 'Error')}: ${String(err?.message ?? e)} (is it running, and does its --allow-origin include this page?)`,
    );
  }
  const { status } = resp;
  const body = await resp.text().catch(() => '');
  const parse = (): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: JSON.parse(body) };
    } catch {
      return { ok: false };
    }
  };
  if (!resp.ok) {
    // The relay answers {"error": code, "message": ...}; keep its message.
    const parsed = parse();
    const message = parsed.ok ? (parsed.value as { message?: unknown } | null)?.message : undefined;
    const detail = typeof message === 'string' ? message : Array.from(body).slice(0, 200).join('');
    const code: TikcastErrorCode | undefined = CODE_BY_STATUS[status];
    throw new TikcastError(code ?? 'http_error', `the relay answered ${status} for ${what}: ${detail}`, { status });
  }
  const parsed = parse();
  if (!parsed.ok) throw new TikcastError('bad_response', `the relay's answer for ${what} is not JSON`, { status });
  return parsed.value;
}

const idString = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : null;

/**
 * The relay's gift catalog, for gift names and images by id: `relayUrl` is the relay's
 * socket URL (`wss://relay.example/ws`) or its http(s) base URL. Rejects with a
 * `TikcastError`: `invalid_options`, `network_error`, `invalid_auth`, `no_permission`,
 * `not_found` (the relay has no catalog), `rate_limited`, `http_error` or `bad_response`.
 *
 * ```ts
 * const gifts = new Map((await fetchAvailableGifts('wss://relay.example/ws')).map((g) => [g.id, g]));
 * ```
 */
export async function fetchAvailableGifts(relayUrl: string, options: RelayHttpOptions = {}): Promise<AvailableGift[]> {
  const list = await getJson(apiUrl(relayUrl, 'gifts'), options.jwt, 'the gift list');
  if (!Array.isArray(list)) throw new TikcastError('bad_response', "the relay's gift list is not a JSON list");
  return (list as Array<Record<string, unknown>>).flatMap((g) => {
    const id = idString(g?.id);
    if (id === null) return [];
    const gift = {
      id,
      name: typeof g.name === 'string' ? g.name : '',
      diamondCount: typeof g.diamondCount === 'number' ? g.diamondCount : 0,
      imageUrl: typeof g.imageUrl === 'string' ? g.imageUrl : '',
    };
    Object.defineProperty(gift, 'diamond_count', { value: gift.diamondCount, configurable: true });
    return [gift as AvailableGift];
  });
}

/**
 * A creator's room as the relay knows it (live or not, room id, title, viewers), without
 * opening a socket. Rejects like `fetchAvailableGifts`.
 *
 * ```ts
 * const room = await fetchRoomInfo('wss://relay.example/ws', 'some.creator');
 * if (!room.isLive) showOffline();
 * ```
 */
export async function fetchRoomInfo(relayUrl: string, uniqueId: string, options: RelayHttpOptions = {}): Promise<RoomDetails> {
  const name = String(uniqueId ?? '').trim().replace(/^@+/, '');
  if (name === '') throw new TikcastError('invalid_options', 'fetchRoomInfo needs a uniqueId');
  const r = await getJson(apiUrl(relayUrl, `rooms/${encodeSegment(name)}`), options.jwt, 'the room');
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new TikcastError('bad_response', "the relay's room answer is not a JSON object");
  }
  const room = r as Record<string, unknown>;
  return {
    uniqueId: typeof room.uniqueId === 'string' ? room.uniqueId : uniqueId.replace(/^@/, ''),
    roomId: idString(room.roomId),
    isLive: room.isLive !== false,
    title: typeof room.title === 'string' ? room.title : null,
    viewerCount: typeof room.viewerCount === 'number' ? room.viewerCount : null,
    source: typeof room.source === 'string' ? room.source : '',
  };
}
