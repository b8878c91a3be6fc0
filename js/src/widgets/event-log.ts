// <tikcast-event-log>: every event (the connection's `decodedData`), newest last, for
// moderators: filtered by the `types` attribute and a search box (type or text), exported
// as JSON lines (`toJsonLines()`, or the Export button). Keeps the last `keep` events
// (default 2000) and shows the last `max` rows (default 200).
import { TikcastWidget, el, frameScheduler, intAttr, nick, type On } from './base.js';

type E = Record<string, any>;

/** One line of text about an event. */
export function describeEvent(e: E): string {
  const who = e.user ? nick(e.user) : '';
  switch (e.type) {
    case 'chat':
      return `${who}: ${e.comment ?? ''}`;
    case 'gift':
    case 'giftStreak':
    case 'giftRaw':
      return `${who} sent ${e.giftName || `gift ${e.giftId}`} x${e.repeatCount ?? 1}`;
    case 'like':
      return `${who} liked x${e.likeCount ?? 1} (total ${e.totalLikeCount ?? '?'})`;
    case 'member':
      return `${who} joined`;
    case 'follow':
      return `${who} followed`;
    case 'share':
      return `${who} shared`;
    case 'subscribe':
      return `${who} subscribed (${e.subMonth ?? 1} months)`;
    case 'roomUser':
      return `${e.viewerCount ?? '?'} viewers`;
    case 'emote':
      return `${who} sent an emote`;
    case 'linkMicBattle':
      return `battle ${e.battleId}: ${Array.isArray(e.results) && e.results.length ? 'finished' : `status ${e.status}`}`;
    case 'linkMicArmies':
      return `battle ${e.battleId}: ${(Array.isArray(e.armies) ? e.armies : []).map((a: E) => a?.points).join(' : ')}`;
    case 'imDelete':
      return `removed ${(e.deleteMsgIds ?? []).length} message(s)`;
    case 'roomPin':
      return e.action === 2 ? 'unpinned' : `pinned: ${e.pinnedComment ?? ''}`;
    case 'unknown':
    case 'decodeError':
      return String(e.method ?? '');
    default:
      return who;
  }
}

export class TikcastEventLog extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'types', 'max', 'keep'];
  }

  #list!: HTMLOListElement;
  #search!: HTMLInputElement;
  #count!: HTMLSpanElement;
  #events: E[] = [];
  #flush = frameScheduler(() => this.#render());
  #rendered = new WeakSet<E>();
  /** The list is scrolled to its end (kept from scroll events, so drawing never forces a layout to find out). */
  #atEnd = true;

  get max(): number {
    return intAttr(this, 'max', 200, 1);
  }
  get keep(): number {
    return intAttr(this, 'keep', 2000, 1);
  }
  /** Event types shown and exported (attribute `types`, comma-separated; empty = all). */
  get types(): string[] {
    return (this.getAttribute('types') ?? '').split(/[\s,]+/).filter(Boolean);
  }
  /** The search box's text. */
  get filter(): string {
    return this.#search?.value ?? '';
  }
  set filter(v: string) {
    if (!this.#search) return;
    this.#search.value = v;
    this.#rerender();
  }
  /** Events kept (the last `keep`), oldest first. */
  get events(): E[] {
    return this.#events.slice(-this.keep);
  }

  #matches(e: E): boolean {
    const types = this.types;
    if (types.length && !types.includes(e.type)) return false;
    const q = this.filter.trim().toLowerCase();
    if (!q) return true;
    return String(e.type).toLowerCase().includes(q) || describeEvent(e).toLowerCase().includes(q);
  }

  /** The kept events that pass the filters, one JSON object a line. */
  toJsonLines(): string {
    return this.events
      .filter((e) => this.#matches(e))
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
  }

  protected css(): string {
    return `
.bar { display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.5em; }
input { flex: 1; min-width: 0; font: inherit; padding: 0.2em 0.4em; border-radius: 6px; border: 1px solid #666; background: rgba(0, 0, 0, 0.4); color: inherit; }
button { font: inherit; padding: 0.2em 0.6em; border-radius: 6px; border: 0; background: var(--tikcast-accent, #fe2c55); color: #fff; cursor: pointer; }
.count { font-size: 0.8em; opacity: 0.8; font-variant-numeric: tabular-nums; }
.list { list-style: none; margin: 0; padding: 0; font: 0.85em/1.35 var(--tikcast-mono, ui-monospace, monospace); max-height: var(--tikcast-log-height, none); overflow: auto; }
.row { display: flex; gap: 0.6em; white-space: nowrap; }
.time { opacity: 0.7; }
.type { color: var(--tikcast-accent, #fe2c55); min-width: 8ch; }
.text { overflow: hidden; text-overflow: ellipsis; }
`;
  }

  protected build(root: ShadowRoot): void {
    const box = el('div', 'panel');
    box.part.add('panel');
    const bar = el('div', 'bar');
    this.#search = el('input', 'search');
    this.#search.type = 'search';
    this.#search.placeholder = 'filter: type or text';
    this.#search.setAttribute('aria-label', 'Filter events');
    this.#search.addEventListener('input', () => this.#rerender());
    const exp = el('button', 'export', 'Export JSONL');
    exp.type = 'button';
    exp.addEventListener('click', () => this.download());
    this.#count = el('span', 'count');
    bar.append(this.#search, exp, this.#count);
    this.#list = el('ol', 'list');
    this.#list.part.add('list');
    this.#list.setAttribute('role', 'log');
    this.#list.addEventListener('scroll', () => {
      const l = this.#list;
      this.#atEnd = l.scrollTop + l.clientHeight >= l.scrollHeight - 4;
    }, { passive: true });
    box.append(bar, this.#list);
    root.append(box);
  }

  /** Saves `toJsonLines()` as a file. */
  download(name = 'tikcast-events.jsonl'): void {
    const url = URL.createObjectURL(new Blob([this.toJsonLines()], { type: 'application/x-ndjson' }));
    const a = el('a');
    a.href = url;
    a.download = name;
    this.root.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  protected clear(): void {
    this.#events = [];
    this.#list.replaceChildren();
    this.#count.textContent = '';
  }

  protected changed(): void {
    this.#rerender();
  }

  protected listen(on: On): void {
    on('decodedData', (e) => {
      this.#events.push(e);
      // Trimmed in batches: one splice per `keep / 4` events, not one per event.
      if (this.#events.length > this.keep + Math.max(1, this.keep >> 2)) this.#events.splice(0, this.#events.length - this.keep);
      this.#flush();
    });
  }

  #row(e: E): HTMLLIElement {
    const li = el('li', 'row');
    li.part.add('row');
    li.dataset.type = String(e.type);
    li.dataset.msgId = String(e.msgId ?? '');
    const t = Number(e.createTime);
    li.append(
      el('span', 'time', t > 0 ? new Date(t).toISOString().slice(11, 19) : '--:--:--'),
      el('span', 'type', String(e.type)),
      el('span', 'text', describeEvent(e)),
    );
    return li;
  }

  /** Appends the events not shown yet (in a flood, only the newest rows a frame can show). */
  #render(): void {
    const fresh: HTMLLIElement[] = [];
    const budget = Math.min(this.max, 60);
    for (let i = this.#events.length - 1; i >= 0 && fresh.length < budget; i--) {
      const e = this.#events[i]!;
      if (this.#rendered.has(e)) break;
      this.#rendered.add(e);
      if (this.#matches(e)) fresh.push(this.#row(e));
    }
    fresh.reverse();
    const keep = Math.max(0, this.max - fresh.length);
    while (this.#list.childElementCount > keep) this.#list.firstElementChild?.remove();
    this.#list.append(...fresh);
    if (this.#atEnd) this.#list.scrollTop = this.#list.scrollHeight;
    this.#count.textContent = `${this.#events.length} events`;
  }

  #rerender(): void {
    if (!this.#list) return;
    this.#list.replaceChildren(...this.#events.filter((e) => this.#matches(e)).slice(-this.max).map((e) => this.#row(e)));
    for (const e of this.#events) this.#rendered.add(e);
    this.#count.textContent = `${this.#events.length} events`;
  }
}
