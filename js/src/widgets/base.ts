// The widgets' shared part: a custom element with an open shadow root that gets its events
// from a connection it makes from its attributes, one source of:
//   - `relay` + `unique-id` [+ `jwt`]: a relay sending binary frames or JSON events;
//   - `signed-url` + `room-id`: a TikTok-style socket; `signed-url` is the socket URL
//     itself (ws:, wss:) or your signing endpoint (http:, https:), fetched before every
//     (re)connect, answering the URL as text or as JSON `{"url": "..."}`;
//   - `frames`: no socket; the page calls the element's `pushFrame(bytes)`;
//   - `replay`: a recording URL played in the page (`speed`);
// with `worker` (decoding in a Web Worker) and a `gifts` catalog URL; or from a connection
// you hand it (the `connection` property). Only the
// package's public API is used. Everything from the wire goes into the DOM as text
// (`textContent`, text nodes) or as an image URL, never as HTML.
import { TikTokLiveConnection, fetchAvailableGifts, type AvailableGift } from '../index.js';
import { loadRecording, playRecording } from './recording.js';

/** Attributes every widget reads to make its connection. */
export const CONNECTION_ATTRIBUTES = ['relay', 'unique-id', 'jwt', 'signed-url', 'room-id', 'frames', 'replay', 'speed', 'worker', 'gifts'] as const;

/** A catalog entry the widgets use (the relay's `AvailableGift`, or a `gifts` JSON file of that shape). */
export interface CatalogGift {
  id: string;
  name: string;
  diamondCount: number;
  imageUrl: string;
}

/** What a widget's state is: shown as `data-state` on the element. */
export type WidgetState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'ended' | 'stopped' | 'error';

type AnyEvent = Record<string, any>;
export type On = (name: string, listener: (e: AnyEvent) => void) => void;

/** Styles every widget shares; the widget's own CSS follows. Custom properties style them. */
export const BASE_CSS = `
:host {
  display: block;
  box-sizing: border-box;
  color: var(--tikcast-text, #fff);
  font: var(--tikcast-font-weight, 500) var(--tikcast-font-size, 16px)/1.35 var(--tikcast-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  text-shadow: var(--tikcast-text-shadow, 0 1px 2px rgba(0, 0, 0, 0.85));
  contain: content;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.panel {
  background: var(--tikcast-bg, rgba(16, 16, 24, 0.55));
  border-radius: var(--tikcast-radius, 12px);
  padding: var(--tikcast-padding, 10px 12px);
}
.avatar {
  position: relative; display: inline-grid; place-items: center; flex: none; overflow: hidden;
  width: 1.6em; height: 1.6em; border-radius: 50%;
  background: var(--tikcast-avatar-bg, #3a3a4a); font-size: 0.85em; font-weight: 700;
}
.avatar img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
.badge {
  display: inline-block; margin-right: 0.3em; padding: 0 0.35em; border-radius: 0.4em;
  font-size: 0.72em; font-weight: 700; line-height: 1.5; vertical-align: 0.1em; text-shadow: none;
  background: var(--tikcast-badge-bg, #555); color: #fff;
}
.badge.level { background: var(--tikcast-level, #2f7de1); }
.badge.mod { background: var(--tikcast-mod, #1fa35b); }
.badge.sub { background: var(--tikcast-sub, #b04ce0); }
img.badge-image { height: 1em; margin-right: 0.3em; vertical-align: -0.1em; }
.nick { font-weight: 700; color: var(--tikcast-name, #ffd166); }
img.emote { height: 1.4em; vertical-align: -0.35em; margin: 0 0.1em; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;

/** An element with a class and, optionally, text (always as text). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Image URLs that failed to load (the last 2,000): not asked for again on every line. */
const failedImages = new Set<string>();

/** An image from a wire URL (only http(s), relative and data:image URLs), or null. */
export function image(url: unknown, className: string, alt = ''): HTMLImageElement | null {
  if (typeof url !== 'string' || url === '' || failedImages.has(url)) return null;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^(https?:|data:image\/)/i.test(url)) return null;
  const img = el('img', className);
  img.alt = alt;
  img.referrerPolicy = 'no-referrer';
  img.decoding = 'async';
  img.addEventListener(
    'error',
    () => {
      img.remove();
      failedImages.add(url);
      if (failedImages.size > 2000) failedImages.delete(failedImages.values().next().value as string);
    },
    { once: true },
  );
  img.src = url;
  return img;
}

/** The name to show for a user. */
export function nick(user: AnyEvent | null | undefined, fallback = 'someone'): string {
  return (typeof user?.nickname === 'string' && user.nickname) || (typeof user?.uniqueId === 'string' && user.uniqueId) || fallback;
}

/** An avatar: the user's initial, with their picture on top once it loads. */
export function avatar(user: AnyEvent | null | undefined): HTMLSpanElement {
  const a = el('span', 'avatar', [...nick(user, '?')][0]?.toUpperCase() ?? '?');
  a.setAttribute('aria-hidden', 'true');
  a.part.add('avatar');
  const img = image(user?.profilePictureUrl, 'avatar-image');
  if (img) a.append(img);
  return a;
}

/** The name with gifter level, moderator and subscriber marks and image badges. */
export function nameTag(user: AnyEvent | null | undefined): HTMLSpanElement {
  const tag = el('span', 'who');
  const level = Number(user?.gifterLevel) || 0;
  if (level > 0) {
    const lv = el('span', 'badge level', `Lv${level}`);
    lv.title = `Gifter level ${level}`;
    tag.append(lv);
  }
  if (user?.isModerator) {
    const mod = el('span', 'badge mod', 'MOD');
    mod.title = 'Moderator';
    tag.append(mod);
  }
  if (user?.isSubscriber) {
    const sub = el('span', 'badge sub', 'SUB');
    sub.title = 'Subscriber';
    tag.append(sub);
  }
  // Other image badges (fan club, ranks, ...): moderator (1), subscriber (4, 7) and gifter
  // level (8) are the marks above.
  for (const b of Array.isArray(user?.badges) ? user.badges.slice(0, 4) : []) {
    if ([1, 4, 7, 8].includes(b?.sceneType)) continue;
    const img = image(b?.url, 'badge-image', typeof b?.label === 'string' ? b.label : '');
    if (img) tag.append(img);
  }
  tag.append(el('span', 'nick', nick(user)));
  return tag;
}

/** An emote as an image. */
export function emoteImage(e: AnyEvent): HTMLImageElement | null {
  return image(e?.imageUrl, 'emote', `:${typeof e?.emoteId === 'string' && e.emoteId ? e.emoteId : 'emote'}:`);
}

/** `comment` as text, with emotes as images at their UTF-16 positions. */
export function richText(comment: unknown, emotes: unknown): HTMLSpanElement {
  const text = typeof comment === 'string' ? comment : '';
  const out = el('span', 'text');
  const list = (Array.isArray(emotes) ? emotes : []).filter((e) => e?.imageUrl).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  let at = 0;
  for (const e of list) {
    const i = Math.min(Math.max(Number(e.index) || 0, at), text.length);
    if (i > at) out.append(document.createTextNode(text.slice(at, i)));
    const img = emoteImage(e);
    if (img) out.append(img);
    at = i;
  }
  if (at < text.length) out.append(document.createTextNode(text.slice(at)));
  return out;
}

/** Removes the oldest children of `list` beyond `max`. */
export function cap(list: Element, max: number): void {
  while (list.childElementCount > max) list.firstElementChild?.remove();
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
/** 1,234 below 10,000, then 12.3K. */
export function formatCount(n: number): string {
  return n >= 10_000 ? compact.format(n) : Math.round(n).toLocaleString('en');
}

/** A positive integer attribute, or the default. */
export function intAttr(e: Element, name: string, fallback: number, min = 0): number {
  const v = Number(e.getAttribute(name));
  return e.hasAttribute(name) && Number.isFinite(v) && e.getAttribute(name) !== '' ? Math.max(min, Math.floor(v)) : fallback;
}

/** A boolean attribute: present and not `0` or `false`. */
export function boolAttr(e: Element, name: string): boolean {
  const v = e.getAttribute(name);
  return v !== null && v !== '0' && v !== 'false';
}

/**
 * Runs `flush` once per animation frame however many times it is asked, so a burst of
 * messages costs one layout (a hidden page falls back to a timer).
 */
export function frameScheduler(flush: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    let done = false;
    const run = () => {
      if (done) return;
      done = true;
      queued = false;
      flush();
    };
    requestAnimationFrame(run);
    setTimeout(run, 250);
  };
}

/** The base class of every widget (see the file comment). */
export abstract class TikcastWidget extends HTMLElement {
  static get observedAttributes(): string[] {
    return [...CONNECTION_ATTRIBUTES];
  }

  protected readonly root: ShadowRoot;
  #given: TikTokLiveConnection | null = null;
  #owned: TikTokLiveConnection | null = null;
  #offs: Array<() => void> = [];
  #abort: AbortController | null = null;
  #scheduled = false;
  #catalog = new Map<string, CatalogGift>();
  #givenCatalog = false;
  #state: WidgetState = 'idle';
  /** The room as the relay or the recording described it. */
  room: Record<string, any> | null = null;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = BASE_CSS + this.css();
    this.root.append(style);
  }

  #built = false;
  /** Builds the DOM once (not in the constructor: a subclass's fields exist only after it). */
  #ensureBuilt(): void {
    if (this.#built) return;
    this.#built = true;
    this.build(this.root);
  }

  /** The widget's own CSS. */
  protected abstract css(): string;
  /** Builds the widget's DOM in its shadow root. */
  protected abstract build(root: ShadowRoot): void;
  /** Subscribes to the connection's events. */
  protected abstract listen(on: On): void;
  /** Clears what the widget shows (a new connection starts). */
  protected abstract clear(): void;
  /** A non-connection attribute changed. */
  protected changed(_name: string): void {}
  /** The relay or the recording described the room. */
  protected onRoom(_room: Record<string, any>): void {}

  /** The connection the widget listens to: the one you gave it, or the one it made. */
  get connection(): TikTokLiveConnection | null {
    return this.#given ?? this.#owned;
  }

  /** Hands the widget an existing connection (it adds listeners, never connects or stops it). */
  set connection(c: TikTokLiveConnection | null) {
    this.#given = c ?? null;
    this.#restart();
  }

  /** The gift catalog in use (by id). */
  get gifts(): CatalogGift[] {
    return [...this.#catalog.values()];
  }

  /** Sets the gift catalog (e.g. `await connection.fetchAvailableGifts()`). */
  set gifts(list: Array<AvailableGift | CatalogGift> | null) {
    this.#givenCatalog = list !== null;
    this.#setCatalog(list ?? []);
  }

  /** The catalog entry of a gift id. */
  gift(id: unknown): CatalogGift | undefined {
    return this.#catalog.get(String(id));
  }

  /**
   * Gives the widget's own connection a push frame (with the `frames` attribute: frames from
   * an extension, a parent page, a file). Throws when the widget has no `frames` connection.
   */
  pushFrame(bytes: Uint8Array | ArrayBuffer): void {
    if (!boolAttr(this, 'frames') || this.#given) throw new Error('pushFrame needs the frames attribute (the widget then makes a frames connection)');
    const frame = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (this.#framesReady && this.#owned) {
      this.#owned.pushFrame(frame);
      return;
    }
    // Before the connection is up (the element was just added): kept, the oldest dropped past 256.
    this.#earlyFrames.push(frame);
    if (this.#earlyFrames.length > 256) this.#earlyFrames.shift();
  }
  #earlyFrames: Uint8Array[] = [];
  #framesReady = false;

  /** The widget's state (also `data-state` on the element). */
  get state(): WidgetState {
    return this.#state;
  }

  /** Playback speed with `replay` (1 otherwise). */
  get speed(): number {
    const s = Number(this.getAttribute('speed'));
    return this.hasAttribute('replay') && s > 0 ? s : 1;
  }

  connectedCallback(): void {
    this.#ensureBuilt();
    this.#restart();
  }

  disconnectedCallback(): void {
    this.#stop();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value) return;
    this.#ensureBuilt();
    if ((CONNECTION_ATTRIBUTES as readonly string[]).includes(name)) this.#restart();
    else this.changed(name);
  }

  protected setState(state: WidgetState, message?: string): void {
    if (this.#state === 'ended' && (state === 'reconnecting' || state === 'connecting')) return;
    this.#state = state;
    this.dataset.state = state;
    if (message) this.dataset.message = message;
    else delete this.dataset.message;
    this.dispatchEvent(new CustomEvent('tikcast-state', { detail: { state, message } }));
  }

  #setCatalog(list: Array<AvailableGift | CatalogGift | Record<string, any>>): void {
    this.#catalog.clear();
    for (const g of Array.isArray(list) ? list : []) {
      if (g?.id === undefined || g?.id === null) continue;
      const id = String(g.id);
      this.#catalog.set(id, {
        id,
        name: typeof g.name === 'string' ? g.name : '',
        diamondCount: Number(g.diamondCount) || 0,
        imageUrl: typeof g.imageUrl === 'string' ? g.imageUrl : '',
      });
    }
  }

  #restart(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#stop();
      if (this.isConnected) {
        this.clear();
        this.#start().catch((e: any) => {
          if (this.#abort?.signal.aborted) return;
          this.dataset.error = e?.code ?? 'error';
          this.setState('error', String(e?.message ?? e));
        });
      }
    });
  }

  #stop(): void {
    this.#framesReady = false;
    this.#abort?.abort();
    this.#abort = null;
    for (const off of this.#offs.splice(0)) off();
    this.#owned?.disconnect();
    this.#owned = null;
  }

  #attach(conn: TikTokLiveConnection): void {
    const on: On = (name, listener) => this.#offs.push((conn as any).on(name, listener));
    on('roomInfo', (r) => this.#room(r?.data));
    on('connecting', (s) => this.setState(s.attempt === 0 ? 'connecting' : 'reconnecting'));
    on('connected', () => this.setState('live'));
    on('reconnecting', () => this.setState('reconnecting'));
    on('streamEnd', () => this.setState('ended'));
    on('stopped', (s) => {
      if (s.code === 'stopped' || (this.#state === 'ended' && s.code === 'stream_ended')) return;
      this.setState('stopped', s.message);
    });
    this.listen(on);
  }

  #room(data: unknown): void {
    if (!data || typeof data !== 'object') return;
    this.room = { ...(this.room ?? {}), ...(data as Record<string, any>) };
    this.onRoom(this.room);
  }

  async #start(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    delete this.dataset.replay;
    delete this.dataset.error;
    const giftsUrl = this.getAttribute('gifts');
    if (giftsUrl && !this.#givenCatalog) {
      fetch(new URL(giftsUrl, document.baseURI), { signal: abort.signal })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((list) => this.#setCatalog(list), () => {});
    }
    if (this.#given) {
      this.#attach(this.#given);
      this.setState(this.#given.isConnected ? 'live' : 'connecting');
      return;
    }
    const relay = this.getAttribute('relay');
    const replay = this.getAttribute('replay');
    const uniqueId = (this.getAttribute('unique-id') ?? '').replace(/^@/, '');
    const jwt = this.getAttribute('jwt') || undefined;
    const worker = boolAttr(this, 'worker');
    if (replay) {
      this.setState('connecting');
      const rec = await loadRecording(new URL(replay, document.baseURI).href, abort.signal);
      if (abort.signal.aborted) return;
      const meta = rec.meta ?? {};
      const conn = new TikTokLiveConnection(uniqueId || (typeof meta.uniqueId === 'string' && meta.uniqueId) || 'replay', { frames: true, worker });
      this.#owned = conn;
      this.#attach(conn);
      await conn.connect();
      if (abort.signal.aborted) return;
      this.setState('live');
      await playRecording(
        rec,
        (bytes) => {
          if (!abort.signal.aborted) conn.pushFrame(bytes);
        },
        (text) => {
          try {
            this.#room(JSON.parse(text));
          } catch {
            // Not JSON: nothing to show.
          }
        },
        { speed: this.speed, signal: abort.signal },
      );
      if (!abort.signal.aborted) this.dataset.replay = 'done';
      return;
    }
    if (relay && uniqueId) {
      const conn = new TikTokLiveConnection(uniqueId, {
        relay: { url: relay, jwt },
        worker,
        // An OBS source may start before its relay: keep trying rather than fail fast.
        reconnect: { failFast: false },
      });
      this.#owned = conn;
      this.#attach(conn);
      if (!giftsUrl && !this.#givenCatalog) {
        const gifts = fetchAvailableGifts(relay, { jwt }).then(
          (list) => {
            if (!abort.signal.aborted && !this.#givenCatalog) this.#setCatalog(list);
          },
          () => {},
        );
        // The first gift should have its picture: wait for the catalog a little.
        await Promise.race([gifts, new Promise((r) => setTimeout(r, 1500))]);
        if (abort.signal.aborted) return;
      }
      await conn.connect();
      return;
    }
    const signedUrl = this.getAttribute('signed-url');
    const roomId = this.getAttribute('room-id') ?? '';
    if (signedUrl) {
      if (!/^\d+$/.test(roomId)) throw new Error('signed-url needs room-id, the numeric id of the room the URL is signed for');
      const endpoint = new URL(signedUrl, document.baseURI);
      const sign = async (): Promise<string> => {
        if (endpoint.protocol === 'ws:' || endpoint.protocol === 'wss:') return endpoint.href;
        const r = await fetch(endpoint, { signal: abort.signal, cache: 'no-store' });
        if (!r.ok) throw new Error(`the signing endpoint ${endpoint.origin}${endpoint.pathname} answered HTTP ${r.status}`);
        const text = (await r.text()).trim();
        if (text.startsWith('{')) {
          const url = (JSON.parse(text) as { url?: unknown }).url;
          if (typeof url !== 'string') throw new Error('the signing endpoint answered JSON without a "url" string');
          return url;
        }
        return text;
      };
      const conn = new TikTokLiveConnection(uniqueId || 'signed', { signedUrl: sign, roomId, worker, reconnect: { failFast: false } });
      this.#owned = conn;
      this.#attach(conn);
      await conn.connect();
      return;
    }
    if (boolAttr(this, 'frames')) {
      const conn = new TikTokLiveConnection(uniqueId || 'frames', { frames: true, worker });
      this.#owned = conn;
      this.#attach(conn);
      await conn.connect();
      if (abort.signal.aborted) return;
      this.#framesReady = true;
      // Live first: the early frames may end the stream (their events come synchronously).
      this.setState('live');
      for (const f of this.#earlyFrames.splice(0)) conn.pushFrame(f);
      return;
    }
    this.setState('idle', 'set relay and unique-id, signed-url and room-id, frames, or replay, or the connection property');
  }
}
