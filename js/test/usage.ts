// Type-checked, never run: `tsc --noEmit -p js/test/tsconfig.json`. It uses the public
// API the way an app would, through the package's own name (so the `exports` types
// condition and the shipped .d.ts files are what is checked), and every
// `@ts-expect-error` line proves the types are precise: it fails the check if the line
// below it compiles.
import WebSocket from 'ws';
import { WIDGETS, TikcastChat, TikcastLeaderboard, type LeaderboardEntry } from 'tikcast/widgets';
import {
  ControlEvent,
  EVENT_NAMES,
  TikTokLiveConnection,
  TikcastError,
  WebcastEvent,
  buildInfo,
  decodeFrame,
  fetchAvailableGifts,
  fetchRoomInfo,
  decodeMessage,
  init,
  version,
  type AnyWebcastEvent,
  type ChatEvent,
  type ConnectionState,
  type DecodedFrame,
  type GiftEvent,
  type ReconnectingState,
  type StoppedState,
  type TikTokLiveConnectionOptions,
  type TikTokLiveConnectionState,
  type TikcastErrorCode,
  type TikTokLiveEventMap,
  type User,
  type WasmSource,
  type AvailableGift,
  type RoomDetails,
} from 'tikcast';

export async function usage(bytes: Uint8Array, getJwt: () => Promise<string>): Promise<void> {
  await init();
  await init(new URL('https://cdn.example/tikcast_wasm_bg.wasm'));
  const source: WasmSource = new Uint8Array(0);
  await init(source);

  const live = new TikTokLiveConnection('@someone', { relay: { url: 'wss://relay.example/ws', getJwt }, WebSocket });

  // Listener payloads are inferred from the event name.
  const off: () => void = live.on('chat', (e) => {
    const comment: string = e.comment;
    const who: string = e.user.uniqueId;
    const id: string = e.msgId;
    const at: User | null = e.atUser;
    // Issue 14's user fields, nested and flat (v2's `followInfo`).
    const followers: number = e.user.followerCount;
    const flat: number | undefined = e.followInfo?.followingCount;
    const gem: string | undefined = e.user.badges[0]?.primaryColor;
    const anonymous: boolean = e.user.isAnonymous;
    void [comment, who, id, at, followers, flat, gem, anonymous];
    // @ts-expect-error chat events have no such field
    void e.nope;
    // @ts-expect-error msgId is a string (64-bit ids do not fit a number)
    const n: number = e.msgId;
    void n;
  });
  off();
  live.on(WebcastEvent.GIFT, (e) => {
    const d: number = e.diamondCount * e.repeatCount;
    const timedOut: boolean = e.timedOut;
    void [d, timedOut];
    // @ts-expect-error a gift has no comment
    void e.comment;
    // From a hosted JSON relay: its fields our shape has no place for.
    const extra: Record<string, unknown> | undefined = e.extra;
    void extra?.transactionId;
  });
  live.on('giftStreak', (e) => void e.repeatCount);
  live.on('like', (e) => void (e.likeCount + e.totalLikeCount));
  live.on('member', (e) => void e.user.nickname);
  live.on('roomUser', (e) => void e.viewerCount);
  live.on('follow', (e) => void e.user.uniqueId);

  // A listener typed for another event is refused.
  // @ts-expect-error a chat listener cannot take gift events
  live.on('chat', (e: GiftEvent) => void e.giftName);
  // @ts-expect-error unknown event names are refused
  live.on('chatt', () => {});

  // Connection events.
  live.on('connecting', (s) => void s.attempt);
  live.on(ControlEvent.RECONNECTING, (s: ReconnectingState) => {
    const delay: number = s.delayMs;
    void delay;
    if (s.class === 'throttled') void s.reason;
    // @ts-expect-error class is one of four names
    if (s.class === 'sometimes') void 0;
  });
  live.on('disconnected', (s) => void [s.code, s.reason]);
  live.on('stopped', (s: StoppedState) => {
    const code: string = s.code;
    const closeCode: number | null = s.closeCode;
    const err: TikcastError | undefined = s.error;
    void [code, closeCode, err?.retryAfterMs];
  });
  live.on('error', (s) => void s.error.code);
  live.on('roomInfo', (i) => {
    const data: unknown = i.data;
    void data;
    // @ts-expect-error room info data is unknown until the app checks it
    void i.data.title;
  });
  live.on('rawData', (r) => {
    const b: Uint8Array = r.bytes;
    void b;
  });
  live.on('streamEnd', (e) => {
    // The decoded control message, or the state change when no message said so.
    if (e.type === 'streamEnd') void e;
  });
  live.on(ControlEvent.DECODED_DATA, (e: AnyWebcastEvent) => {
    // The union narrows on `type`.
    if (e.type === 'chat') {
      const c: ChatEvent = e;
      void c.comment;
    } else if (e.type === 'gift') {
      void e.giftName;
      // @ts-expect-error narrowed to gift: no comment
      void e.comment;
    }
  });
  live.once('connected', (s) => void s.attempt);
  const handler = (e: TikTokLiveEventMap['like']) => void e.likeCount;
  live.on('like', handler);
  live.off('like', handler);
  // @ts-expect-error off() checks the listener against the event too
  live.off('chat', handler);

  // connect() resolves v2's state object.
  const state: TikTokLiveConnectionState = await live.connect();
  const stateRoom: string | null = state.roomId;
  const connected: boolean = state.isConnected && live.isConnected;
  const now: ConnectionState = live.state;
  void [stateRoom, connected, now];
  // @ts-expect-error states are a closed set
  if (live.state === 'open') void state;
  // @ts-expect-error connect() no longer resolves a string
  if (state === 'connected') void 0;
  for await (const e of live.events()) {
    if (e.type === 'like') void e.likeCount;
  }
  for await (const e of live) void e.msgId;
  const stats: Record<string, number> = await live.stats();
  void stats.skipped;
  live.disconnect();

  // Other transports.
  const direct = new TikTokLiveConnection('someone', {
    signedUrl: async () => 'wss://webcast.example/ws?signature=x',
    roomId: '7300000000000000001',
    reconnect: { maxAttempts: 0, stopWhenOffline: true },
    livenessTimeoutMs: 30_000,
  });
  void direct;
  const frames = new TikTokLiveConnection('someone', { frames: true, worker: true, giftStreakTimeoutMs: 5000 });
  frames.pushFrame(bytes);
  // @ts-expect-error pushFrame takes bytes
  frames.pushFrame('AAEC');
  const options: TikTokLiveConnectionOptions = { relay: { url: 'wss://r.example/ws', jwt: 'token' } };
  void options;
  // @ts-expect-error a relay needs its url
  new TikTokLiveConnection('someone', { relay: { jwt: 'token' } });
  // @ts-expect-error roomId is a decimal string (64-bit)
  new TikTokLiveConnection('someone', { signedUrl: () => 'wss://x', roomId: 7300000000000000001 });
  // @ts-expect-error reconnect options are checked
  new TikTokLiveConnection('someone', { frames: true, reconnect: { maxAttempt: 3 } });

  // Stand-alone decoding.
  const d: DecodedFrame = decodeFrame(bytes);
  const needAck: boolean = d.needAck;
  void needAck;
  for (const e of d.events) {
    if (e.type === 'roomUser') void e.viewerCount;
  }
  const events: AnyWebcastEvent[] = decodeMessage('WebcastChatMessage', bytes);
  void events;
  // @ts-expect-error decodeMessage needs the method name
  decodeMessage(bytes);

  // Errors.
  try {
    decodeFrame(bytes);
  } catch (e) {
    if (e instanceof TikcastError) {
      const code: TikcastErrorCode = e.code;
      // @ts-expect-error codes are a closed set
      if (e.code === 'no_such_code') void 0;
      const detail: string | undefined = e.detail;
      void [code, detail, e.message, e.name];
    }
  }
  const v: string = version();
  const info: { version: string; coreVersion: string; gitSha: string } = buildInfo();
  const names: readonly string[] = EVENT_NAMES;
  void [v, info, names];
  // @ts-expect-error WebcastEvent is a constant map
  WebcastEvent.CHAT = 'other';

  // The relay's HTTP helpers: typed results, TikcastError with `status`.
  const gifts: AvailableGift[] = await fetchAvailableGifts('wss://relay.example/ws', { jwt: 'token' });
  const giftId: string = gifts[0].id;
  const room: RoomDetails = await fetchRoomInfo('wss://relay.example/ws', 'someone');
  const roomId: string | null = room.roomId;
  const viaConnection: AvailableGift[] = await live.fetchAvailableGifts();
  const details: RoomDetails = await live.fetchRoomInfo();
  try {
    await fetchRoomInfo('https://relay.example', 'someone');
  } catch (e) {
    if (e instanceof TikcastError) {
      const status: number | undefined = e.status;
      void status;
    }
  }
  void [giftId, roomId, viaConnection, details];
  // @ts-expect-error fetchRoomInfo needs the uniqueId
  await fetchRoomInfo('wss://relay.example/ws');
}

// tikcast/widgets: the elements are typed by tag, the connection is the SDK's.
{
  const live = new TikTokLiveConnection('someone', { relay: { url: 'wss://relay.example/ws' } });
  const chat: TikcastChat = document.createElement('tikcast-chat');
  chat.connection = live;
  const board = document.createElement('tikcast-leaderboard');
  const top: LeaderboardEntry[] = board.entries;
  const n: number = top[0]?.diamonds ?? 0;
  board.gifts = [{ id: '5655', name: 'Rose', diamondCount: 1, imageUrl: '' }];
  const tag: string = WIDGETS.chat!.tag;
  void (board satisfies TikcastLeaderboard);
  void n;
  void tag;
  // @ts-expect-error: the connection property takes a connection, not options
  chat.connection = { relay: { url: 'wss://relay.example/ws' } };
}
