// The relay's HTTP helpers (`GET /api/gifts`, `GET /api/rooms/NAME`): the request runs in
// the wasm module (gloo-net over `fetch`); this file only types and shapes the answers.
import { TikcastError } from './errors.js';
import { init, module } from './loader.js';

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
  await init();
  let list: Array<Record<string, unknown>>;
  try {
    list = (await module().fetchAvailableGifts(relayUrl, options.jwt)) as Array<Record<string, unknown>>;
  } catch (e) {
    throw TikcastError.from(e);
  }
  return list.flatMap((g) => {
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
  await init();
  let r: Record<string, unknown>;
  try {
    r = (await module().fetchRoomInfo(relayUrl, uniqueId, options.jwt)) as Record<string, unknown>;
  } catch (e) {
    throw TikcastError.from(e);
  }
  return {
    uniqueId: typeof r.uniqueId === 'string' ? r.uniqueId : uniqueId.replace(/^@/, ''),
    roomId: idString(r.roomId),
    isLive: r.isLive !== false,
    title: typeof r.title === 'string' ? r.title : null,
    viewerCount: typeof r.viewerCount === 'number' ? r.viewerCount : null,
    source: typeof r.source === 'string' ? r.source : '',
  };
}
