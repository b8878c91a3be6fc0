// The code examples of TikTok-Live-Connector v2's README, ported to tikcast. Against
// v2 they differ in the import line and the transport line (the options of
// `new TikTokLiveConnection(...)`: a relay URL and a WebSocket) only, except where a
// `PORT:` comment says what else had to change and why. Comments and log texts are
// ours. Each example is a function, so that js/test/v2-readme.test.mjs can run them
// against a local relay in Node and tests/browser in a page; `tsc --strict` checks
// them (js/test/v2/tsconfig.json).
import {
  ControlAction,
  ControlEvent,
  TikTokLiveConnection,
  WebcastEvent,
  type RoomGiftInfo,
  type RoomInfoResponse,
  type TikTokLiveConnectionState,
  type TikTokWsClient,
  type WebSocketConstructor,
  type WebcastChatMessage,
  type WebcastEmoteChatMessage,
  type WebcastGiftMessage,
  type WebcastMemberMessage,
} from 'tikcast';

/** "Getting started": connect, then log chat and gifts. */
export function gettingStarted(RELAY_URL: string, WebSocket: WebSocketConstructor): TikTokLiveConnection {
  const tiktokUsername = 'officialgeilegisela';
  const connection = new TikTokLiveConnection(tiktokUsername, { relay: { url: RELAY_URL }, WebSocket });
  connection
    .connect()
    .then((state) => {
      console.info(`connected: room ${state.roomId}`);
    })
    .catch((err) => {
      console.error('connect failed', err);
    });
  connection.on(WebcastEvent.CHAT, (data) => {
    console.log(`chat ${data.user.uniqueId} (${data.user.uniqueId}): ${data.comment}`);
  });
  connection.on(WebcastEvent.GIFT, (data) => {
    console.log(`gift ${data.user.uniqueId} (${data.user.userId}) id ${data.giftId}`);
  });
  return connection;
}

/** The options example: the options a browser can have. */
export function withOptions(RELAY_URL: string, WebSocket: WebSocketConstructor): TikTokLiveConnection {
  const tiktokUsername = 'officialgeilegisela';
  // PORT: v2's polling interval, request/socket headers and agent options need a
  // server; they are refused at compile time (and throw unsupported_in_browser in JS).
  const tikTokLiveConnection = new TikTokLiveConnection(tiktokUsername, {
    processInitialData: false,
    enableExtendedGiftInfo: true,
    relay: { url: RELAY_URL },
    WebSocket,
  });
  return tikTokLiveConnection;
}

/** The control events and the decoded events, on one connection (v2's "Events" section). */
export function events(RELAY_URL: string, WebSocket: WebSocketConstructor): TikTokLiveConnection {
  const connection = new TikTokLiveConnection('officialgeilegisela', { relay: { url: RELAY_URL }, WebSocket, giftMode: 'v2' });

  connection.on(ControlEvent.CONNECTED, () => console.log('control connected'));
  connection.on(WebcastEvent.CONNECTED, (state: TikTokLiveConnectionState) => console.log(`state connected ${state.isConnected} ${state.roomId}`));
  connection.on(ControlEvent.DISCONNECTED, () => console.log('control disconnected'));
  connection.on(ControlEvent.STREAM_END, ({ action }: { action: ControlAction }) => {
    if (action === ControlAction.CONTROL_ACTION_STREAM_ENDED) {
      console.log('stream ended by the host');
    }
    if (action === ControlAction.CONTROL_ACTION_STREAM_SUSPENDED) {
      console.log('stream ended by a moderator');
    }
  });
  // PORT: parameters annotated; unannotated, TypeScript types a rawData listener by
  // tikcast's one-argument form (`(e: RawData) => …`), which existing code relies on.
  connection.on(ControlEvent.RAW_DATA, (messageTypeName: string, binary: Uint8Array) => {
    console.log(`raw ${messageTypeName} ${binary.length}`);
  });
  connection.on(ControlEvent.DECODED_DATA, (event: string, decodedData: any, binary: Uint8Array) => {
    console.log(`decoded ${event} ${decodedData.msgId} ${binary.length}`);
  });
  // PORT: v2 passes its socket client and logs `websocketClient.connection` (a name
  // its example never defines); here the listener gets the socket's attempt number.
  connection.on(ControlEvent.WEBSOCKET_CONNECTED, (client: TikTokWsClient) => {
    console.log(`websocket open, attempt ${client.attempt}`);
  });
  connection.on(ControlEvent.ERROR, (err) => {
    console.error('error event', err);
  });

  connection.on(WebcastEvent.MEMBER, (data: WebcastMemberMessage) => {
    console.log(`member ${data.uniqueId}`);
  });
  connection.on(WebcastEvent.CHAT, (data: WebcastChatMessage) => {
    console.log(`chat ${data.uniqueId} -> ${data.comment}`);
  });
  // PORT: v2's example names its parameter `event` but reads `data`; named `data` here.
  connection.on(WebcastEvent.GIFT, (data: WebcastGiftMessage) => {
    if (data.giftType === 1 && !data.repeatEnd) {
      console.log(`streak ${data.uniqueId} ${data.giftName} x${data.repeatCount}`);
    } else {
      console.log(`final ${data.uniqueId} ${data.giftName} x${data.repeatCount}`);
    }
  });
  connection.on(WebcastEvent.ROOM_USER, (data) => {
    console.log(`viewers ${data.viewerCount}`);
  });
  connection.on(WebcastEvent.LIKE, (data) => {
    console.log(`like ${data.uniqueId} ${data.likeCount} total ${data.totalLikeCount}`);
  });
  connection.on(WebcastEvent.SOCIAL, (data) => {
    console.log(`social ${data.uniqueId}`);
  });
  connection.on(WebcastEvent.EMOTE, (data: WebcastEmoteChatMessage) => {
    console.log(`emote ${data.uniqueId}`);
  });
  connection.on(WebcastEvent.ENVELOPE, (data) => {
    console.log(`envelope ${data.envelopeId}`);
  });
  connection.on(WebcastEvent.QUESTION_NEW, (data) => {
    console.log(`question ${data.uniqueId} ${data.questionText}`);
  });
  connection.on(WebcastEvent.LINK_MIC_BATTLE, (data) => {
    console.log(`battle ${data.battleId} between ${data.battleUsers.map((u) => u.uniqueId).join(' and ')}`);
  });
  connection.on(WebcastEvent.LINK_MIC_ARMIES, (data) => {
    console.log(`armies ${data.battleId}`);
  });
  connection.on(WebcastEvent.LIVE_INTRO, (msg) => {
    console.log(`intro ${msg.description}`);
  });
  connection.on(WebcastEvent.SUBSCRIBE, (data) => {
    console.log(`subscribe ${data.uniqueId}`);
  });
  connection.on(WebcastEvent.FOLLOW, (data) => {
    console.log(`follow ${data.uniqueId}`);
  });
  connection.on(WebcastEvent.SHARE, (data) => {
    console.log(`share ${data.uniqueId}`);
  });
  return connection;
}

/** "Retrieve room info". */
export function roomInfo(RELAY_URL: string, WebSocket: WebSocketConstructor): Promise<void> {
  const connection = new TikTokLiveConnection('@username', { relay: { url: RELAY_URL }, WebSocket });
  // PORT: v2 returns TikTok's whole room object (create_time, owner, stream_url); a
  // relay describes the room in a few fields, so the log reads those.
  return connection
    .fetchRoomInfo()
    .then((roomInfo: RoomInfoResponse) => {
      console.log(`room ${roomInfo.roomId} live ${roomInfo.isLive} title ${roomInfo.title}`);
    })
    .catch((err) => {
      console.error(err);
    });
}

/** "Retrieve available gifts". */
export function availableGifts(RELAY_URL: string, WebSocket: WebSocketConstructor): Promise<void> {
  const connection = new TikTokLiveConnection('@username', { relay: { url: RELAY_URL }, WebSocket });
  return connection
    .fetchAvailableGifts()
    .then((giftList: RoomGiftInfo) => {
      giftList.forEach((gift) => {
        console.log(`catalog ${gift.id} ${gift.name} ${gift.diamond_count}`);
      });
    })
    .catch((err) => {
      console.error(err);
    });
}

/** What v2 can do and a browser cannot: refused by the types. */
export function refusedAtCompileTime(RELAY_URL: string, WebSocket: WebSocketConstructor): void {
  // @ts-expect-error polling TikTok needs a server
  void new TikTokLiveConnection('x', { relay: { url: RELAY_URL }, WebSocket, requestPollingIntervalMs: 2000 });
  // @ts-expect-error session cookies need a server
  void new TikTokLiveConnection('x', { relay: { url: RELAY_URL }, WebSocket, sessionId: 'abc' });
  // @ts-expect-error a transport is required
  void new TikTokLiveConnection('x', {});
  // @ts-expect-error one transport only
  void new TikTokLiveConnection('x', { relay: { url: RELAY_URL }, frames: true });
  // @ts-expect-error a signed url needs its room id
  void new TikTokLiveConnection('x', { signedUrl: () => 'wss://x' });
  const c = new TikTokLiveConnection('x', { frames: true });
  // @ts-expect-error misspelled event names do not compile
  c.on('chatt', () => {});
  // @ts-expect-error WebSocket is a constructor
  void new TikTokLiveConnection('x', { relay: { url: RELAY_URL }, WebSocket: 'ws' });
}
