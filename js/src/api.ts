// Everything the package exports, whatever the environment.
import { TikcastError } from './errors.js';
import { module } from './loader.js';
import type { AnyWebcastEvent } from './events.generated.js';

export * from './events.generated.js';
export { TikcastError, ERROR_CODES, type TikcastErrorCode } from './errors.js';
export { init, type WasmSource } from './loader.js';
export {
  fetchAvailableGifts,
  fetchRoomInfo,
  type AvailableGift,
  type RoomDetails,
  type RelayHttpOptions,
} from './relay-http.js';
export {
  TikTokLiveConnection,
  WebcastEvent,
  ControlEvent,
  ControlAction,
  type TikTokLiveConnectionOptions,
  type TikTokLiveConnectionState,
  type CommonOptions,
  type RelayTransport,
  type SignedUrlTransport,
  type FramesTransport,
  type WebSocketConstructor,
  type TikTokLiveWebcastEventMap,
  type FlatUser,
  type RelayExtra,
  type ExtendedGiftInfo,
  type RoomInfoData,
  type RawDataV2Listener,
  type DecodedDataV2Listener,
  type WebsocketConnectedState,
  type WebcastChatMessage,
  type WebcastGiftMessage,
  type WebcastMemberMessage,
  type WebcastLikeMessage,
  type WebcastSocialMessage,
  type WebcastRoomUserSeqMessage,
  type WebcastSubNotifyMessage,
  type WebcastQuestionNewMessage,
  type WebcastEmoteChatMessage,
  type WebcastEnvelopeMessage,
  type WebcastLiveIntroMessage,
  type WebcastLinkMicBattle,
  type WebcastLinkMicArmies,
  type WebcastControlMessage,
  type RoomInfoResponse,
  type RoomGiftInfo,
  type TikTokWsClient,
  type TikTokLiveEventMap,
  type ControlEventMap,
  type ReconnectOptions,
  type ConnectionState,
  type ConnectingState,
  type ConnectedState,
  type ReconnectingState,
  type DisconnectedState,
  type StreamEndState,
  type ErrorState,
  type StoppedState,
  type RoomInfo,
  type RawData,
} from './connection.js';

/** What `decodeFrame` returns. */
export interface DecodedFrame {
  payloadType: string;
  seqId: string;
  logId: string;
  cursor: string;
  internalExt: string;
  needAck: boolean;
  heartbeatDuration: number;
  nowMs: number;
  isFirst: boolean;
  events: AnyWebcastEvent[];
}

/**
 * Decodes one push frame (gzip or plain) into events, without a connection. Throws a
 * `TikcastError` (`decode_failed`) when the frame itself is malformed.
 */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  try {
    return module().decodeFrame(bytes) as DecodedFrame;
  } catch (e) {
    throw TikcastError.from(e);
  }
}

/** Decodes one message payload of `method` (e.g. `WebcastChatMessage`). Never throws on bad bytes. */
export function decodeMessage(method: string, bytes: Uint8Array): AnyWebcastEvent[] {
  return module().decodeMessage(method, bytes) as AnyWebcastEvent[];
}

/** The package version. */
export function version(): string {
  return module().version();
}

/** `{ version, coreVersion, gitSha }` of the wasm build. */
export function buildInfo(): { version: string; coreVersion: string; gitSha: string } {
  return module().buildInfo();
}
