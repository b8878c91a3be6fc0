// <tikcast-gift-alerts>: one alert per gift (per finished streak, with its final count), in
// a queue, shown one at a time for `duration` ms; gift picture and name from the catalog;
// an optional `sound`; gifts worth less than `min-diamonds` are left out.
import { TikcastWidget, avatar, el, image, intAttr, nameTag, nick, type On } from './base.js';

type E = Record<string, any>;

/** One alert, as queued and shown (the `shown` list keeps the last 200). */
export interface GiftAlert {
  msgId: string;
  userId: string;
  nickname: string;
  giftId: string;
  giftName: string;
  imageUrl: string;
  count: number;
  diamonds: number;
}

/** A gift's value in diamonds: coins per unit (from the event, else the catalog) times the count. */
export function giftDiamonds(e: E, catalogDiamonds: number | undefined): number {
  const each = Number(e.diamondCount) > 0 ? Number(e.diamondCount) : catalogDiamonds ?? 0;
  return each * Math.max(1, Number(e.repeatCount) || 1);
}

export class TikcastGiftAlerts extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'min-diamonds', 'duration', 'sound', 'volume', 'max-queue'];
  }

  #stage!: HTMLDivElement;
  #queue: GiftAlert[] = [];
  #showing = false;
  #timers: Array<ReturnType<typeof setTimeout>> = [];
  /** The alerts shown so far, oldest first (the last 200). */
  readonly shown: GiftAlert[] = [];
  /** Alerts dropped because the queue was full. */
  dropped = 0;

  get minDiamonds(): number {
    return intAttr(this, 'min-diamonds', 0);
  }
  /** Milliseconds an alert stays (default 5000). */
  get duration(): number {
    return intAttr(this, 'duration', 5000, 0);
  }
  get maxQueue(): number {
    return intAttr(this, 'max-queue', 20, 1);
  }
  /** Alerts waiting. */
  get queued(): number {
    return this.#queue.length;
  }
  /** The alerts waiting, next first. */
  get pending(): GiftAlert[] {
    return [...this.#queue];
  }

  protected css(): string {
    return `
.stage { display: grid; justify-items: center; min-height: 1px; }
.alert { display: grid; justify-items: center; gap: 0.3em; text-align: center; padding: 0.8em 1.2em; animation: pop 0.35s ease-out; }
.alert.leaving { opacity: 0; transition: opacity 0.3s; }
.gift-image { width: var(--tikcast-gift-size, 96px); height: var(--tikcast-gift-size, 96px); object-fit: contain; }
.line { display: flex; align-items: center; gap: 0.4em; font-size: 1.15em; }
.gift-name { color: var(--tikcast-accent, #fe2c55); font-weight: 800; }
.count { font-size: 1.8em; font-weight: 900; color: var(--tikcast-count, #fff); }
@keyframes pop { from { opacity: 0; transform: scale(0.8); } }
`;
  }

  protected build(root: ShadowRoot): void {
    this.#stage = el('div', 'stage');
    this.#stage.part.add('stage');
    this.#stage.setAttribute('aria-live', 'polite');
    root.append(this.#stage);
  }

  protected clear(): void {
    for (const t of this.#timers.splice(0)) clearTimeout(t);
    this.#queue = [];
    this.#showing = false;
    this.#stage.replaceChildren();
    this.shown.length = 0;
    this.dropped = 0;
  }

  protected listen(on: On): void {
    on('gift', (e) => this.#enqueue(e));
  }

  #enqueue(e: E): void {
    const known = this.gift(e.giftId);
    const alert: GiftAlert = {
      msgId: String(e.msgId ?? ''),
      userId: String(e.user?.userId ?? ''),
      nickname: nick(e.user),
      giftId: String(e.giftId ?? ''),
      giftName: known?.name || (typeof e.giftName === 'string' && e.giftName) || 'a gift',
      imageUrl: known?.imageUrl || (typeof e.giftPictureUrl === 'string' ? e.giftPictureUrl : ''),
      count: Math.max(1, Number(e.repeatCount) || 1),
      diamonds: giftDiamonds(e, known?.diamondCount),
    };
    if (alert.diamonds < this.minDiamonds) return;
    this.#queue.push(alert);
    if (this.#queue.length > this.maxQueue) {
      this.#queue.shift();
      this.dropped += 1;
    }
    // The user object is needed for the name tag: kept next to the alert.
    this.#users.set(alert, e.user);
    this.#next();
  }

  #users = new WeakMap<GiftAlert, E>();

  #next(): void {
    if (this.#showing) return;
    const a = this.#queue.shift();
    if (!a) return;
    this.#showing = true;
    this.shown.push(a);
    if (this.shown.length > 200) this.shown.shift();
    const box = el('div', 'alert panel');
    box.part.add('alert');
    box.dataset.giftId = a.giftId;
    box.dataset.count = String(a.count);
    box.dataset.diamonds = String(a.diamonds);
    const line = el('div', 'line');
    line.append(avatar(this.#users.get(a)), nameTag(this.#users.get(a)), el('span', 'sent', 'sent'), el('span', 'gift-name', a.giftName));
    const pic = image(a.imageUrl, 'gift-image');
    if (pic) box.append(pic);
    box.append(line, el('b', 'count', `x${a.count}`));
    this.#stage.replaceChildren(box);
    const sound = this.getAttribute('sound');
    if (sound) {
      try {
        const audio = new Audio(new URL(sound, document.baseURI).href);
        audio.volume = Math.min(1, Math.max(0, Number(this.getAttribute('volume') ?? '0.6') || 0));
        void audio.play().catch(() => {});
      } catch {
        // No audio here: alerts carry on silently.
      }
    }
    const d = this.duration / this.speed;
    this.#timers.push(
      setTimeout(() => box.classList.add('leaving'), Math.max(0, d - 300 / this.speed)),
      setTimeout(() => {
        box.remove();
        this.#showing = false;
        this.#next();
      }, d),
    );
  }
}
