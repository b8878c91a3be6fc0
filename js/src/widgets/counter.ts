// <tikcast-counter>: the room's viewer count (`metric="viewers"`, from roomUser and the
// room description) or like total (`metric="likes"`, the highest totalLikeCount seen).
import { TikcastWidget, el, formatCount, type On } from './base.js';

export const COUNTER_METRICS = ['viewers', 'likes'] as const;
export type CounterMetric = (typeof COUNTER_METRICS)[number];

/** Icon paths (24×24 view box): an eye and a heart. */
const ICONS: Record<CounterMetric, string> = {
  viewers: 'M12 5C6.5 5 2.7 9.1 1.5 12c1.2 2.9 5 7 10.5 7s9.3-4.1 10.5-7C21.3 9.1 17.5 5 12 5zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8z',
  likes: 'M12 21s-7.5-4.6-10-9.3C.4 8.5 2.3 4.5 6.2 4.5c2.3 0 3.8 1.3 4.8 2.8 1-1.5 2.5-2.8 4.8-2.8 3.9 0 5.8 4 4.2 7.2C19.5 16.4 12 21 12 21z',
};
const SVG = 'http://www.w3.org/2000/svg';

export class TikcastCounter extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'metric', 'label'];
  }

  #icon!: SVGSVGElement;
  #path!: SVGPathElement;
  #number!: HTMLElement;
  #label!: HTMLSpanElement;
  #viewers = 0;
  #likes = 0;

  get metric(): CounterMetric {
    const m = this.getAttribute('metric') as CounterMetric;
    return COUNTER_METRICS.includes(m) ? m : 'viewers';
  }
  /** The number shown. */
  get value(): number {
    return this.metric === 'likes' ? this.#likes : this.#viewers;
  }

  protected css(): string {
    return `
.counter { display: inline-flex; align-items: baseline; gap: 0.4em; }
.icon { width: 1.1em; height: 1.1em; align-self: center; fill: var(--tikcast-accent, #fe2c55); }
.number { font-size: 1.6em; font-weight: 900; font-variant-numeric: tabular-nums; }
.label { opacity: 0.85; }
`;
  }

  protected build(root: ShadowRoot): void {
    const box = el('div', 'counter panel');
    box.part.add('panel');
    this.#icon = document.createElementNS(SVG, 'svg');
    this.#icon.setAttribute('class', 'icon');
    this.#icon.setAttribute('viewBox', '0 0 24 24');
    this.#icon.setAttribute('aria-hidden', 'true');
    this.#path = document.createElementNS(SVG, 'path');
    this.#icon.append(this.#path);
    this.#number = el('b', 'number');
    this.#number.part.add('number');
    this.#label = el('span', 'label');
    box.append(this.#icon, this.#number, this.#label);
    root.append(box);
    this.#render();
  }

  protected clear(): void {
    this.#viewers = 0;
    this.#likes = 0;
    this.#render();
  }

  protected changed(): void {
    this.#render();
  }

  protected onRoom(room: Record<string, any>): void {
    if (typeof room.viewerCount === 'number' && this.#viewers === 0) {
      this.#viewers = room.viewerCount;
      this.#render();
    }
  }

  protected listen(on: On): void {
    on('roomUser', (e) => {
      if (typeof e.viewerCount !== 'number') return;
      this.#viewers = e.viewerCount;
      if (this.metric === 'viewers') this.#render();
    });
    on('like', (e) => {
      const total = Number(e.totalLikeCount) || 0;
      if (total <= this.#likes) return;
      this.#likes = total;
      if (this.metric === 'likes') this.#render();
    });
  }

  #render(): void {
    if (!this.#number) return;
    const m = this.metric;
    this.#path.setAttribute('d', ICONS[m]);
    this.#number.textContent = formatCount(this.value);
    this.#label.textContent = this.getAttribute('label') ?? m;
    this.dataset.value = String(this.value);
  }
}
