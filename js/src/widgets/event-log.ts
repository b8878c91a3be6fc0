// <tikcast-event-log>: every event (the connection's `decodedData`), newest last, for
// moderators: filtered by the `types` attribute and a search box (type or text), exported
// as JSON lines (`toJsonLines()`, or the Export button). Keeps the last `keep` events
// (default 2000) and shows at most the last `max` rows (default 200; old rows leave in
// batches of a quarter).
import { TikcastWidget, el, frameScheduler, intAttr, nick, type On } from './base.js';

type E = Record<string, any>;

/**
 * New rows one animation frame draws at most (1,440 a second at 60 fps); more wait for the
 * next frames, and a backlog past `max` rows loses its oldest (they would be trimmed from
 * the list anyway; `events` and the export keep them).
 */
const ROWS_PER_FRAME = 24;

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
  /** The empty last child of the list, the scroll anchor while following the end. */
  #end!: HTMLLIElement;
  #search!: HTMLInputElement;
  #count!: HTMLSpanElement;
  #events: E[] = [];
  #flush = frameScheduler(() => this.#render());
  /** Events received and not drawn yet, oldest first. */
  #pending: E[] = [];
  /** The list is scrolled to its end (kept from scroll events, so drawing never forces a layout to find out). */
  #atEnd = true;
  /** The list is scrolled (the browser's scroll anchoring then keeps its end in view). */
  #anchored = false;

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

  #matches(e: E, types = this.types, q = this.filter.trim().toLowerCase()): boolean {
    if (types.length && !types.includes(e.type)) return false;
    if (!q) return true;
    return String(e.type).toLowerCase().includes(q) || describeEvent(e).toLowerCase().includes(q);
  }

  /** The kept events that pass the filters, one JSON object a line. */
  toJsonLines(): string {
    const types = this.types;
    const q = this.filter.trim().toLowerCase();
    return this.events
      .filter((e) => this.#matches(e, types, q))
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
  }

  protected css(): string {
    return `
.bar { display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.5em; }
input { flex: 1; min-width: 0; font: inherit; padding: 0.2em 0.4em; border-radius: 6px; border: 1px solid #666; background: rgba(0, 0, 0, 0.4); color: inherit; }
button { font: inherit; padding: 0.2em 0.6em; border-radius: 6px; border: 0; background: var(--tikcast-accent, #fe2c55); color: #fff; cursor: pointer; }
.count { font-size: 0.8em; opacity: 0.8; font-variant-numeric: tabular-nums; }
/* The panel fills the element when it has a height (widget.html gives it the page's); the
   list scrolls. */
.panel { display: flex; flex-direction: column; height: 100%; }
.bar { flex: none; }
/* Size containment: the panel never measures the rows to size the list (a flex item's
   content height is otherwise laid out again at every change: 20+ ms a frame with 200 rows);
   an element without a height gets --tikcast-log-height (default 20em). */
.list { flex: 1 1 auto; min-height: 0; list-style: none; margin: 0; padding: 0; font: 0.85em/1.35 var(--tikcast-mono, ui-monospace, monospace); overflow: auto; will-change: scroll-position; text-shadow: none; contain: strict; contain-intrinsic-size: 20em var(--tikcast-log-height, 20em); }
/* A row is one line of fixed height, laid out on its own: inline text in one line box (no
   flex items, each of which would be a formatting context of its own). */
.row { display: block; white-space: pre; overflow: hidden; text-overflow: ellipsis; height: 1.35em; contain: strict; }
/* Following the newest row without reading the layout: while the list is at its end, the
   rows take no part in scroll anchoring and the empty element after them is the anchor,
   so the browser keeps the end in view as rows come and go. Browsers anchor only a list
   that is scrolled at all: the first scroll to the end is done by the widget. Scrolled up,
   the rows anchor as usual and what the reader looks at stays put. */
.list.follow > .row { overflow-anchor: none; }
.end { height: 1px; overflow-anchor: auto; }
.time { opacity: 0.7; }
.type { color: var(--tikcast-accent, #fe2c55); }
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
    this.#list.classList.add('follow');
    this.#end = el('li', 'end');
    this.#end.setAttribute('aria-hidden', 'true');
    this.#list.append(this.#end);
    // Scroll events come before a frame's drawing, when the layout is clean: reading it here costs nothing.
    this.#list.addEventListener(
      'scroll',
      () => {
        const l = this.#list;
        const atEnd = l.scrollTop + l.clientHeight >= l.scrollHeight - 4;
        this.#anchored = l.scrollTop > 0;
        if (atEnd !== this.#atEnd) this.#list.classList.toggle('follow', (this.#atEnd = atEnd));
      },
      { passive: true },
    );
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
    this.#pending = [];
    this.#anchored = false;
    this.#list.replaceChildren(this.#end);
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
      this.#pending.push(e);
      if (this.#pending.length > 2 * this.max) this.#pending.splice(0, this.#pending.length - this.max);
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
      el('span', 'time', (t > 0 ? new Date(t).toISOString().slice(11, 19) : '--:--:--') + ' '),
      // Padded in the monospace font: the columns line up without a box per cell.
      el('span', 'type', String(e.type).padEnd(13) + ' '),
      el('span', 'text', describeEvent(e)),
    );
    return li;
  }

  /** The rows shown, oldest first (the list's children but the end anchor). */
  #rows(): number {
    return this.#list.childElementCount - 1;
  }

  /** Appends the events not shown yet (in a flood, only the newest rows a frame can show). */
  #render(): void {
    const max = this.max;
    if (this.#pending.length > max) this.#pending.splice(0, this.#pending.length - max);
    // A frame's style, layout and paint grow with its new rows (measured on a 2-core machine
    // at 2,000 events/s: 60 rows a frame took 25-30 ms of main thread, 24 rows 12-15 ms):
    // at most ROWS_PER_FRAME a frame, the rest in the next frames.
    const types = this.types;
    const q = this.filter.trim().toLowerCase();
    const fresh: HTMLLIElement[] = [];
    let taken = 0;
    while (taken < this.#pending.length && fresh.length < ROWS_PER_FRAME) {
      const e = this.#pending[taken++]!;
      if (this.#matches(e, types, q)) fresh.push(this.#row(e));
    }
    this.#pending.splice(0, taken);
    if (this.#pending.length) this.#flush();
    if (fresh.length) {
      // Old rows go in batches (down to max - max/4, in one DOM operation): most frames only
      // add rows at the end, so the rows on screen keep their place in the scrolled content
      // and are not painted again (the list scrolls as one composited layer).
      const rows = this.#rows();
      if (rows + fresh.length > max) {
        const drop = Math.min(rows, rows + fresh.length - (max - (max >> 2)));
        const range = document.createRange();
        range.setStartBefore(this.#list.firstElementChild!);
        range.setEndBefore(drop >= rows ? this.#end : this.#list.children[drop]!);
        range.deleteContents();
      }
      this.#end.before(...fresh.slice(-max));
      // Until the list has scrolled once, anchoring is off: scroll to the end here (a layout
      // now instead of later in the frame; only while the rows do not overflow yet, or once).
      if (this.#atEnd && !this.#anchored) this.#list.scrollTop = this.#list.scrollHeight;
    }
    this.#count.textContent = `${this.#events.length} events`;
  }

  #rerender(): void {
    if (!this.#list) return;
    const types = this.types;
    const q = this.filter.trim().toLowerCase();
    this.#list.replaceChildren(...this.#events.filter((e) => this.#matches(e, types, q)).slice(-this.max).map((e) => this.#row(e)), this.#end);
    this.#pending = [];
    this.#count.textContent = `${this.#events.length} events`;
  }
}
