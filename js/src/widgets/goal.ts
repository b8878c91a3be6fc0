// <tikcast-goal>: a goal bar for likes, diamonds (finished gifts), follows, shares or new
// members (distinct users joining), counted from when the widget starts, with a `target`,
// a `reset()` method, and `repeat` to start the next round when the target is reached.
import { giftDiamonds } from './gift-alerts.js';
import { TikcastWidget, boolAttr, el, formatCount, intAttr, type On } from './base.js';

export const GOAL_METRICS = ['likes', 'diamonds', 'follows', 'shares', 'members'] as const;
export type GoalMetric = (typeof GOAL_METRICS)[number];
const LABELS: Record<GoalMetric, string> = {
  likes: 'Like goal',
  diamonds: 'Gift goal',
  follows: 'Follow goal',
  shares: 'Share goal',
  members: 'New viewers goal',
};

export class TikcastGoal extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'metric', 'target', 'label', 'repeat'];
  }

  #label!: HTMLSpanElement;
  #numbers!: HTMLSpanElement;
  #fill!: HTMLDivElement;
  #bar!: HTMLDivElement;
  #value = 0;
  #members = new Set<string>();
  /** Rounds completed (with `repeat`). */
  rounds = 0;

  get metric(): GoalMetric {
    const m = this.getAttribute('metric') as GoalMetric;
    return GOAL_METRICS.includes(m) ? m : 'likes';
  }
  get target(): number {
    return intAttr(this, 'target', 100, 1);
  }
  /** Progress in the current round. */
  get value(): number {
    return this.#value;
  }

  /** Starts counting from zero again. */
  reset(): void {
    this.#value = 0;
    this.rounds = 0;
    this.#members.clear();
    this.#render();
  }

  protected css(): string {
    return `
.goal { display: grid; gap: 0.35em; }
.head { display: flex; justify-content: space-between; gap: 1em; }
.label { font-weight: 800; }
.numbers { font-variant-numeric: tabular-nums; }
.bar { height: var(--tikcast-bar-height, 14px); border-radius: 999px; overflow: hidden; background: var(--tikcast-track, rgba(255, 255, 255, 0.18)); }
.fill { height: 100%; width: 0; border-radius: inherit; background: var(--tikcast-accent, #fe2c55); transition: width 0.4s ease-out; }
:host([data-reached]) .fill { background: var(--tikcast-done, #25c26e); }
`;
  }

  protected build(root: ShadowRoot): void {
    const box = el('div', 'goal panel');
    box.part.add('panel');
    const head = el('div', 'head');
    this.#label = el('span', 'label');
    this.#numbers = el('span', 'numbers');
    head.append(this.#label, this.#numbers);
    this.#bar = el('div', 'bar');
    this.#bar.part.add('bar');
    this.#bar.setAttribute('role', 'progressbar');
    this.#fill = el('div', 'fill');
    this.#fill.part.add('fill');
    this.#bar.append(this.#fill);
    box.append(head, this.#bar);
    root.append(box);
    this.#render();
  }

  protected clear(): void {
    this.reset();
  }

  protected changed(): void {
    this.#render();
  }

  protected listen(on: On): void {
    on('like', (e) => this.metric === 'likes' && this.#add(Number(e.likeCount) || 0));
    on('gift', (e) => this.metric === 'diamonds' && this.#add(giftDiamonds(e, this.gift(e.giftId)?.diamondCount)));
    on('follow', () => this.metric === 'follows' && this.#add(1));
    on('share', () => this.metric === 'shares' && this.#add(1));
    on('member', (e) => {
      if (this.metric !== 'members') return;
      const id = String(e.user?.userId ?? '');
      if (!id || this.#members.has(id)) return;
      this.#members.add(id);
      this.#add(1);
    });
  }

  #add(n: number): void {
    if (n <= 0) return;
    this.#value += n;
    if (boolAttr(this, 'repeat')) {
      while (this.#value >= this.target) {
        this.#value -= this.target;
        this.rounds += 1;
      }
    }
    this.#render();
  }

  #render(): void {
    if (!this.#fill) return;
    const target = this.target;
    const shown = Math.min(this.#value, target);
    this.#label.textContent = this.getAttribute('label') || LABELS[this.metric];
    this.#numbers.textContent = `${formatCount(this.#value)} / ${formatCount(target)}` + (this.rounds > 0 ? ` (×${this.rounds + 1})` : '');
    this.#fill.style.width = `${(100 * shown) / target}%`;
    this.#bar.setAttribute('aria-valuemin', '0');
    this.#bar.setAttribute('aria-valuemax', String(target));
    this.#bar.setAttribute('aria-valuenow', String(shown));
    this.dataset.value = String(this.#value);
    this.dataset.target = String(target);
    this.dataset.rounds = String(this.rounds);
    if (this.#value >= target) this.dataset.reached = '';
    else delete this.dataset.reached;
  }
}
