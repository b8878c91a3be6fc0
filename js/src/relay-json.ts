// Hosted relays that speak JSON instead of forwarding TikTok's frames (protocol §8):
// TikTool-style `{ event, data }` and Euler-style bundles `{ messages: [{ type, data }] }`.
// Their events become ours by name; the payload is the relay's own JSON, with our four
// common fields filled in where the relay has them.
import type { AnyWebcastEvent } from './events.generated.js';
import { EVENT_NAMES, METHOD_EVENTS } from './events.generated.js';

const OURS = new Set<string>(EVENT_NAMES);

/**
 * Relay vocabulary → our event names: TikTool's own names here, and every TikTok method
 * the decoder knows from the generated route table (`METHOD_EVENTS`), so a method added to
 * the schema is understood here too.
 */
const NAMES: Record<string, string> = {
  ...METHOD_EVENTS,
  roomUserSeq: 'roomUser',
  viewer_count: 'roomUser',
  battle: 'linkMicBattle',
  battleArmies: 'linkMicArmies',
  control: 'controlMessage',
};

/** Relay types that describe the room or the relay rather than being events. */
const INFO = new Set(['roomInfo', 'workerInfo', 'ping', 'pong', '_journal']);

function toEvent(name: string, data: unknown): AnyWebcastEvent | null {
  if (INFO.has(name)) return null;
  const type = NAMES[name] ?? (OURS.has(name) ? name : 'unknown');
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, any>;
  const common = (d.common ?? {}) as Record<string, any>;
  return {
    ...d,
    type,
    ...(type === 'unknown' ? { method: name } : {}),
    msgId: String(d.msgId ?? common.msgId ?? ''),
    roomId: String(d.roomId ?? common.roomId ?? ''),
    createTime: Number(d.createTime ?? common.createTime ?? 0),
    isHistory: Boolean(d.isHistory ?? false),
  } as AnyWebcastEvent;
}

/** The events in a relay text message, or `null` when it is a room description. */
export function fromRelayJson(message: unknown): AnyWebcastEvent[] | null {
  if (!message || typeof message !== 'object') return null;
  const m = message as Record<string, any>;
  if (typeof m.event === 'string') {
    const e = toEvent(m.event, m.data ?? m);
    return e ? [e] : null;
  }
  if (Array.isArray(m.messages)) {
    const events = m.messages
      .map((x: any) => (x && typeof x.type === 'string' ? toEvent(x.type, x.data) : null))
      .filter((e: AnyWebcastEvent | null): e is AnyWebcastEvent => e !== null);
    return events.length > 0 ? events : null;
  }
  return null;
}
