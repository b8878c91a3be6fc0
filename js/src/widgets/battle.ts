// <tikcast-battle>: a link-mic battle: both hosts, live team scores (linkMicArmies), the time
// left, and the result. "Our" side is the host named by `unique-id` (or the room's host),
// else the battle's first host.
import { TikcastWidget, el, formatCount, intAttr, type On } from './base.js';

type E = Record<string, any>;

export class TikcastBattle extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'hide-after'];
  }

  /** Seconds the result stays before the meter hides (attribute `hide-after`, default 20; 0 keeps it). */
  get hideAfter(): number {
    return intAttr(this, 'hide-after', 20, 0);
  }

  #box!: HTMLDivElement;
  #names: HTMLSpanElement[] = [];
  #scores: HTMLElement[] = [];
  #fill!: HTMLDivElement;
  #timer!: HTMLSpanElement;
  #verdict!: HTMLParagraphElement;
  #battleId: string | null = null;
  #ours: string | null = null;
  #theirs: string | null = null;
  /** When the battle ends, in stream time (ms), and the stream time seen last with the local time then. */
  #endsAt = 0;
  #clock = { stream: 0, local: 0 };
  #tick: ReturnType<typeof setInterval> | undefined;
  #hideTimer: ReturnType<typeof setTimeout> | undefined;

  protected css(): string {
    return `
.battle { display: grid; grid-template-columns: 1fr auto 1fr; align-items: center; gap: 0.3em 0.6em; }
.battle[hidden] { display: none; }
.side { display: flex; align-items: baseline; gap: 0.4em; min-width: 0; }
.side.theirs { justify-content: flex-end; }
.name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.score { font-size: 1.4em; font-weight: 900; font-variant-numeric: tabular-nums; }
.timer { font-weight: 800; font-variant-numeric: tabular-nums; text-align: center; }
.meter { grid-column: 1 / -1; height: var(--tikcast-bar-height, 12px); border-radius: 999px; overflow: hidden; background: var(--tikcast-theirs, #3a86ff); }
.fill { height: 100%; width: 50%; background: var(--tikcast-ours, var(--tikcast-accent, #fe2c55)); transition: width 0.4s ease-out; }
.verdict { grid-column: 1 / -1; margin: 0; text-align: center; font-size: 1.3em; font-weight: 900; }
.verdict[hidden] { display: none; }
`;
  }

  protected build(root: ShadowRoot): void {
    this.#box = el('div', 'battle panel');
    this.#box.part.add('panel');
    this.#box.hidden = true;
    const side = (cls: string) => {
      const s = el('div', `side ${cls}`);
      const name = el('span', 'name');
      const score = el('b', 'score', '0');
      if (cls === 'ours') s.append(name, score);
      else s.append(score, name);
      this.#names.push(name);
      this.#scores.push(score);
      return s;
    };
    this.#timer = el('span', 'timer');
    this.#timer.part.add('timer');
    const meter = el('div', 'meter');
    meter.part.add('meter');
    this.#fill = el('div', 'fill');
    meter.append(this.#fill);
    this.#verdict = el('p', 'verdict');
    this.#verdict.part.add('verdict');
    this.#verdict.hidden = true;
    this.#box.append(side('ours'), this.#timer, side('theirs'), meter, this.#verdict);
    root.append(this.#box);
  }

  protected clear(): void {
    clearInterval(this.#tick);
    clearTimeout(this.#hideTimer);
    this.#battleId = this.#ours = this.#theirs = null;
    this.#box.hidden = true;
    this.#verdict.hidden = true;
    delete this.dataset.battle;
    this.#scoresTo(0, 0);
  }

  disconnectedCallback(): void {
    clearInterval(this.#tick);
    super.disconnectedCallback();
  }

  protected listen(on: On): void {
    on('linkMicBattle', (e) => this.#battle(e));
    on('linkMicArmies', (e) => this.#armies(e));
  }

  #see(e: E): void {
    const t = Number(e.createTime) || 0;
    if (t > this.#clock.stream) this.#clock = { stream: t, local: performance.now() };
  }

  #battle(e: E): void {
    this.#see(e);
    const hosts: E[] = Array.isArray(e.hosts) ? e.hosts : [];
    if (hosts.length >= 2) {
      const me = (this.getAttribute('unique-id') ?? '').replace(/^@/, '') || this.room?.uniqueId || (this.connection?.uniqueId ?? '');
      const mine = hosts.findIndex((h) => h?.uniqueId === me);
      const ours = hosts[mine >= 0 ? mine : 0]!;
      const theirs = hosts.find((h) => h !== ours)!;
      this.#ours = String(ours.userId);
      this.#theirs = String(theirs.userId);
      this.#names[0]!.textContent = ours.nickname || ours.uniqueId || '';
      this.#names[1]!.textContent = theirs.nickname || theirs.uniqueId || '';
    }
    const id = String(e.battleId ?? '');
    if (this.#battleId !== id) {
      this.#battleId = id;
      this.#scoresTo(0, 0);
      this.#verdict.hidden = true;
    }
    clearTimeout(this.#hideTimer);
    this.#box.hidden = false;
    const results: E[] = Array.isArray(e.results) ? e.results : [];
    this.dataset.battle = results.length ? 'finished' : 'running';
    if (results.length) {
      clearInterval(this.#tick);
      this.#endsAt = 0;
      this.#timer.textContent = '0:00';
      const score = (uid: string | null) => Number(results.find((r) => String(r?.userId) === uid)?.score) || 0;
      this.#scoresTo(score(this.#ours), score(this.#theirs));
      const ours = results.find((r) => String(r?.userId) === this.#ours);
      const verdict = ours?.result === 0 ? 'Victory!' : ours?.result === 1 ? 'Defeat' : 'Draw';
      this.#verdict.textContent = verdict;
      this.dataset.verdict = verdict;
      this.#verdict.hidden = false;
      if (this.hideAfter > 0) this.#hideTimer = setTimeout(() => (this.#box.hidden = true), (this.hideAfter * 1000) / this.speed);
      return;
    }
    const duration = Number(e.duration) || 0;
    if (duration > 0) {
      const start = Number(e.startTimeMs) || Number(e.createTime) || this.#clock.stream;
      this.#endsAt = start + duration * 1000;
      clearInterval(this.#tick);
      this.#tick = setInterval(() => this.#showTime(), 250);
      this.#showTime();
    }
  }

  #showTime(): void {
    if (!this.#endsAt) return;
    const now = this.#clock.stream + (performance.now() - this.#clock.local) * this.speed;
    const left = Math.max(0, Math.ceil((this.#endsAt - now) / 1000));
    this.#timer.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    this.dataset.secondsLeft = String(left);
  }

  #armies(e: E): void {
    this.#see(e);
    if (this.#battleId !== null && String(e.battleId) !== this.#battleId) return;
    const armies: E[] = Array.isArray(e.armies) ? e.armies : [];
    const points = (uid: string | null) => armies.find((a) => String(a?.hostUserId) === uid)?.points;
    const ours = points(this.#ours);
    const theirs = points(this.#theirs);
    if (ours !== undefined || theirs !== undefined) this.#scoresTo(Number(ours) || 0, Number(theirs) || 0);
  }

  #scoresTo(ours: number, theirs: number): void {
    this.#scores[0]!.textContent = formatCount(ours);
    this.#scores[1]!.textContent = formatCount(theirs);
    this.dataset.ours = String(ours);
    this.dataset.theirs = String(theirs);
    const total = ours + theirs;
    this.#fill.style.width = `${total > 0 ? (100 * ours) / total : 50}%`;
  }
}
