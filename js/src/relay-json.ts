// Hosted relays that speak JSON instead of forwarding TikTok's frames (protocol §8):
// TikTool-style `{ event, data }` and Euler-style bundles `{ messages: [{ type, data }] }`.
// Their events become ours by name, their payloads ours by relay-json-normalise.ts.
import type { AnyWebcastEvent } from './events.generated.js';
import { EVENT_NAMES, METHOD_EVENTS } from './events.generated.js';
import { RELAY_EVENT_ALIASES, normaliseRelayMessage } from './relay-json-normalise.js';

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

/** One relay message as our events (see relay-json-normalise.ts), or null for INFO. */
function toEvents(name: string, data: unknown): AnyWebcastEvent[] | null {
  if (INFO.has(name)) return null;
  // Own keys only: a relay's event name can be anything, `constructor` included.
  const own = (table: Record<string, string>) => (Object.hasOwn(table, name) ? table[name] : undefined);
  const type = own(NAMES) ?? own(RELAY_EVENT_ALIASES) ?? (OURS.has(name) ? name : 'unknown');
  const d = (data && typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
  return normaliseRelayMessage(type, name, d);
}

/**
 * The messages in a relay text message, each as its events (its own, then those derived
 * from it, sharing its msgId), or `null` when it is a room description.
 */
export function relayJsonMessages(message: unknown): AnyWebcastEvent[][] | null {
  if (!message || typeof message !== 'object') return null;
  const m = message as Record<string, any>;
  if (typeof m.event === 'string') {
    const e = toEvents(m.event, m.data ?? m);
    return e ? [e] : null;
  }
  if (Array.isArray(m.messages)) {
    const groups = m.messages
      .map((x: any) => (x && typeof x.type === 'string' ? toEvents(x.type, x.data) : null))
      .filter((g: AnyWebcastEvent[] | null): g is AnyWebcastEvent[] => g !== null);
    return groups.length > 0 ? groups : null;
  }
  return null;
}

/** The events in a relay text message, or `null` when it is a room description. */
export function fromRelayJson(message: unknown): AnyWebcastEvent[] | null {
  const groups = relayJsonMessages(message);
  return groups ? groups.flat() : null;
}
