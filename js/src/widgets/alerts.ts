// <tikcast-alerts>: follow, share and subscribe alerts (`types`, default all three), at most
// `max` on screen, each for `duration` ms.
import { TikcastWidget, avatar, el, intAttr, nick, type On } from './base.js';

export const ALERT_TYPES = ['follow', 'share', 'subscribe'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export class TikcastAlerts extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'types', 'duration', 'max'];
  }

  #stack!: HTMLDivElement;
  /** The timers of each alert on screen: an alert pushed out by `max` takes its timers with it (else a flood of follows keeps seconds of removed alerts alive). */
  #timers = new Map<Element, Array<ReturnType<typeof setTimeout>>>();
  /** How many alerts of each kind were shown. */
  readonly counts: Record<AlertType, number> = { follow: 0, share: 0, subscribe: 0 };

  get types(): AlertType[] {
    const v = this.getAttribute('types');
    if (!v) return [...ALERT_TYPES];
    return v.split(/[\s,]+/).filter((t): t is AlertType => (ALERT_TYPES as readonly string[]).includes(t));
  }
  get duration(): number {
    return intAttr(this, 'duration', 4000, 0);
  }
  get max(): number {
    return intAttr(this, 'max', 3, 1);
  }

  protected css(): string {
    return `
.stack { display: flex; flex-direction: column; gap: var(--tikcast-gap, 0.4em); align-items: var(--tikcast-align, flex-start); }
.alert { display: flex; align-items: center; gap: 0.5em; animation: in 0.3s ease-out; }
.alert.leaving { opacity: 0; transition: opacity 0.4s; }
.kind { font-size: 1.2em; }
.follow .kind { color: var(--tikcast-follow, #ffd166); }
.share .kind { color: var(--tikcast-share, #4cc9f0); }
.subscribe .kind { color: var(--tikcast-sub, #b04ce0); }
@keyframes in { from { opacity: 0; transform: translateX(-1em); } }
`;
  }

  protected build(root: ShadowRoot): void {
    this.#stack = el('div', 'stack');
    this.#stack.part.add('stack');
    this.#stack.setAttribute('aria-live', 'polite');
    root.append(this.#stack);
  }

  protected clear(): void {
    for (const ts of this.#timers.values()) ts.forEach(clearTimeout);
    this.#timers.clear();
    this.#stack.replaceChildren();
    for (const k of ALERT_TYPES) this.counts[k] = 0;
  }

  protected listen(on: On): void {
    on('follow', (e) => this.#show('follow', e.user, 'followed', '★'));
    on('share', (e) => this.#show('share', e.user, 'shared the stream', '↗'));
    on('subscribe', (e) => this.#show('subscribe', e.user, Number(e.subMonth) > 1 ? `subscribed for ${Number(e.subMonth)} months` : 'subscribed', '♦'));
  }

  #show(kind: AlertType, user: Record<string, any> | null, text: string, icon: string): void {
    if (!this.types.includes(kind)) return;
    this.counts[kind] += 1;
    const box = el('div', `alert panel ${kind}`);
    box.part.add('alert');
    box.dataset.kind = kind;
    const k = el('span', 'kind', icon);
    k.setAttribute('aria-hidden', 'true');
    box.append(k, avatar(user), el('span', 'nick', nick(user)), el('span', 'what', ` ${text}`));
    this.#stack.append(box);
    while (this.#stack.childElementCount > this.max) this.#drop(this.#stack.firstElementChild!);
    const d = this.duration / this.speed;
    this.#timers.set(box, [
      setTimeout(() => box.classList.add('leaving'), Math.max(0, d - 400 / this.speed)),
      setTimeout(() => this.#drop(box), d),
    ]);
  }

  #drop(box: Element): void {
    box.remove();
    this.#timers.get(box)?.forEach(clearTimeout);
    this.#timers.delete(box);
  }
}
