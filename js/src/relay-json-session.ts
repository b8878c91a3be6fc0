// The session rules of the binary path (crates/tikcast-core/src/session: exactly once by
// msgId, history, gift streaks, like aggregation) for events that arrive as JSON from a
// hosted relay and so never pass through the wasm session. Same rules, same bounds, same
// order of output; sans-IO like the core: fed `now` (ms, any monotonic clock), it never
// reads a clock or sets a timer, and says when it wants to be woken (`nextDeadline`).
import type { AnyWebcastEvent, GiftEvent, LikeAggregateEvent, LikeEvent } from './events.generated.js';

/** Most streaks tracked at once; beyond it the oldest is closed as timed out. */
export const MAX_RUNNING = 4096;
/** Most closed streaks remembered for late messages. */
export const MAX_CLOSED = 4096;
/** Most users with an open like window; beyond it the oldest window closes early. */
export const MAX_USERS = 4096;

/**
 * The most recently seen message ids, least recently seen evicted first. A hit counts as
 * a sighting, so an id that keeps being resent stays in the window.
 */
export class MsgIdWindow {
  readonly #capacity: number;
  // A Map iterates in insertion order: re-inserting on a hit keeps it least-recent-first.
  readonly #seen = new Map<string, true>();

  /** A window of `capacity` ids; 0 turns de-duplication off. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Records a sighting of `id`; true when it was not in the window (deliver it). */
  firstSighting(id: string): boolean {
    if (this.#capacity === 0) return true;
    const fresh = !this.#seen.delete(id);
    this.#seen.set(id, true);
    while (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next().value as string;
      this.#seen.delete(oldest);
    }
    return fresh;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/** A streak is one sender giving one gift in one group. */
const streakKey = (g: GiftEvent) => `${g.user.userId}/${g.giftId}/${g.groupId}`;

const finalGift = (last: GiftEvent): GiftEvent => ({ ...last, type: 'gift', timedOut: true, repeatEnd: true });

/**
 * Gift streaks: one final `gift` per streak, `giftStreak` while it runs; a streak whose
 * end never arrives is closed after the timeout (or when the session stops) with the
 * last count seen, `timedOut` and `repeatEnd` true.
 */
export class GiftStreaks {
  readonly #timeoutMs: number;
  readonly #running = new Map<string, { last: GiftEvent; deadline: number }>();
  /**
   * Streaks that already had their final gift, until when late messages of theirs are
   * still expected (those are dropped, never a second final gift). Only streaks with a
   * group id, since without one two streaks of one gift by one sender look the same.
   */
  readonly #closed = new Map<string, number>();

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Takes one gift message; pushes the events it causes. */
  onGift(now: number, gift: GiftEvent, out: AnyWebcastEvent[]): void {
    if (gift.giftType !== 1) {
      out.push(gift);
      return;
    }
    const k = streakKey(gift);
    const until = this.#closed.get(k);
    if (until !== undefined) {
      if (now < until) {
        // A late message of a streak that already had its final gift.
        this.#closed.set(k, now + this.#timeoutMs);
        return;
      }
      this.#closed.delete(k);
    }
    if (gift.repeatEnd) {
      this.#running.delete(k);
      this.#rememberClosed(now, k, gift.groupId);
      out.push(gift);
      return;
    }
    if (!this.#running.has(k) && this.#running.size >= MAX_RUNNING) this.#expireOldest(now, out);
    out.push({ ...gift, type: 'giftStreak' });
    this.#running.set(k, { last: gift, deadline: now + this.#timeoutMs });
  }

  /** Closes the streaks whose end did not arrive in time, oldest deadline first. */
  expire(now: number, out: AnyWebcastEvent[]): void {
    const due = [...this.#running].filter(([, r]) => r.deadline <= now).sort((a, b) => a[1].deadline - b[1].deadline);
    for (const [k] of due) this.#closeTimedOut(now, k, out);
  }

  /** Closes every running streak (the session is stopping). */
  flush(out: AnyWebcastEvent[]): void {
    const all = [...this.#running].sort((a, b) => a[1].deadline - b[1].deadline);
    this.#running.clear();
    for (const [, r] of all) out.push(finalGift(r.last));
  }

  nextDeadline(): number | null {
    let min: number | null = null;
    for (const r of this.#running.values()) if (min === null || r.deadline < min) min = r.deadline;
    return min;
  }

  get running(): number {
    return this.#running.size;
  }

  #expireOldest(now: number, out: AnyWebcastEvent[]): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [k, r] of this.#running) {
      if (r.deadline < at) {
        at = r.deadline;
        oldest = k;
      }
    }
    if (oldest !== undefined) this.#closeTimedOut(now, oldest, out);
  }

  #closeTimedOut(now: number, k: string, out: AnyWebcastEvent[]): void {
    const r = this.#running.get(k);
    if (!r) return;
    this.#running.delete(k);
    out.push(finalGift(r.last));
    this.#rememberClosed(now, k, r.last.groupId);
  }

  #rememberClosed(now: number, k: string, groupId: string): void {
    if (groupId === '0' || groupId === '') return;
    for (const [c, until] of this.#closed) if (until <= now) this.#closed.delete(c);
    while (this.#closed.size >= MAX_CLOSED) {
      let first: string | undefined;
      let at = Infinity;
      for (const [c, until] of this.#closed) {
        if (until < at) {
          at = until;
          first = c;
        }
      }
      if (first === undefined) break;
      this.#closed.delete(first);
    }
    this.#closed.set(k, now + this.#timeoutMs);
  }
}

/**
 * Optional like aggregation: one `likeAggregate` per user per window; a window opens at
 * a user's first like and closes `windowMs` later.
 */
export class LikeAggregator {
  readonly #windowMs: number;
  readonly #open = new Map<string, { merged: LikeAggregateEvent; deadline: number }>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  add(now: number, like: LikeEvent, out: AnyWebcastEvent[]): void {
    const uid = like.user.userId;
    if (!this.#open.has(uid) && this.#open.size >= MAX_USERS) {
      let oldest: string | undefined;
      let at = Infinity;
      for (const [k, w] of this.#open) {
        if (w.deadline < at) {
          at = w.deadline;
          oldest = k;
        }
      }
      if (oldest !== undefined) {
        out.push(this.#open.get(oldest)!.merged);
        this.#open.delete(oldest);
      }
    }
    let w = this.#open.get(uid);
    if (!w) {
      w = { merged: { type: 'likeAggregate', msgId: '0', roomId: '0', createTime: 0, isHistory: false, user: like.user, likeCount: 0, totalLikeCount: 0, batches: 0 }, deadline: now + this.#windowMs };
      this.#open.set(uid, w);
    }
    const m = w.merged;
    m.msgId = like.msgId;
    m.roomId = like.roomId;
    m.createTime = like.createTime;
    m.isHistory = like.isHistory;
    m.user = like.user;
    m.likeCount += like.likeCount;
    m.totalLikeCount = like.totalLikeCount;
    m.batches += 1;
  }

  expire(now: number, out: AnyWebcastEvent[]): void {
    const due = [...this.#open].filter(([, w]) => w.deadline <= now).sort((a, b) => a[1].deadline - b[1].deadline);
    for (const [k, w] of due) {
      this.#open.delete(k);
      out.push(w.merged);
    }
  }

  flush(out: AnyWebcastEvent[]): void {
    this.expire(Infinity, out);
  }

  nextDeadline(): number | null {
    let min: number | null = null;
    for (const w of this.#open.values()) if (min === null || w.deadline < min) min = w.deadline;
    return min;
  }
}

/** The options of the connection that these rules read (same names and defaults). */
export interface RelayJsonSessionOptions {
  /** Recent message ids remembered to drop duplicates. Default 10,000; 0 turns it off. */
  dedupCapacity?: number;
  /** Deliver history (`isHistory`) events. Default true. */
  processInitialData?: boolean;
  /** A streak with no end after this long gets its final `gift`. Default 10,000 ms. */
  giftStreakTimeoutMs?: number;
  /** Merge each user's likes over this window into `likeAggregate`. Default off. */
  likeAggregateMs?: number;
  /** Emit `giftRaw` for every gift message as sent. Default true. */
  giftRaw?: boolean;
}

/** Counters, as the wasm session keeps them for frames. */
export interface RelayJsonStats {
  messages: number;
  duplicates: number;
  historyDropped: number;
}

/** The session rules for one connection's JSON events (they survive reconnects). */
export class RelayJsonSession {
  readonly #dedup: MsgIdWindow;
  readonly #streaks: GiftStreaks;
  readonly #likes: LikeAggregator | null;
  readonly #keepHistory: boolean;
  readonly #giftRaw: boolean;
  readonly stats: RelayJsonStats = { messages: 0, duplicates: 0, historyDropped: 0 };

  constructor(o: RelayJsonSessionOptions = {}) {
    this.#dedup = new MsgIdWindow(o.dedupCapacity ?? 10_000);
    this.#streaks = new GiftStreaks(o.giftStreakTimeoutMs ?? 10_000);
    this.#likes = o.likeAggregateMs ? new LikeAggregator(o.likeAggregateMs) : null;
    this.#keepHistory = o.processInitialData ?? true;
    this.#giftRaw = o.giftRaw ?? true;
  }

  /**
   * One relay message's events (its own event first, then those derived from it, all
   * with one msgId) → what to deliver now.
   */
  onMessage(now: number, events: AnyWebcastEvent[]): AnyWebcastEvent[] {
    const first = events[0];
    if (!first) return [];
    if (first.msgId !== '0' && first.msgId !== '' && !this.#dedup.firstSighting(first.msgId)) {
      this.stats.duplicates += 1;
      return [];
    }
    if (first.isHistory && !this.#keepHistory) {
      this.stats.historyDropped += 1;
      return [];
    }
    this.stats.messages += 1;
    const out: AnyWebcastEvent[] = [];
    for (const e of events) {
      if (e.type === 'gift') {
        if (this.#giftRaw) out.push({ ...e, type: 'giftRaw' });
        this.#streaks.onGift(now, e, out);
      } else if (e.type === 'like') {
        this.#likes?.add(now, e, out);
        out.push(e);
      } else out.push(e);
    }
    return out;
  }

  /** Call at (or after) `nextDeadline()`: streaks and like windows that are due. */
  handleTimeout(now: number): AnyWebcastEvent[] {
    const out: AnyWebcastEvent[] = [];
    this.#streaks.expire(now, out);
    this.#likes?.expire(now, out);
    return out;
  }

  /** The session stops: every running streak gets its final gift, every window closes. */
  flush(): AnyWebcastEvent[] {
    const out: AnyWebcastEvent[] = [];
    this.#streaks.flush(out);
    this.#likes?.flush(out);
    return out;
  }

  /** The next instant (same clock as `now`) the session must be woken at, if any. */
  nextDeadline(): number | null {
    const a = this.#streaks.nextDeadline();
    const b = this.#likes?.nextDeadline() ?? null;
    return a === null ? b : b === null ? a : Math.min(a, b);
  }
}
