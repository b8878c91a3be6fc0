// <tikcast-event-log>: every event (the connection's `decodedData`), newest last, for
// moderators: filtered by the `types` attribute and a search box (type or text), exported
// as JSON lines (`toJsonLines()`, or the Export button). Keeps the last `keep` events
// (default 2000); the list scrolls through the last `max` that pass the filters (default
// 200) and is virtual: only the rows in view are elements, reused as the view moves; a row
// keeps its event (and its laid-out text) while it stays in view. Following the end in a
// flood, a frame adds at most ROWS_PER_FRAME rows, the newest (a line marks the gap; the
// rows in between are in the list when scrolled up, and in the export).
import { TikcastWidget, el, frameScheduler, intAttr, nick, type On } from './base.js';

type E = Record<string, any>;

/**
 * New rows one frame adds at most while the list follows its end (960 a second at 60 fps).
 * A row's text is laid out when it gets a new event, and real names (emoji, Arabic,
 * Cyrillic: font fallback) cost about 0.1 ms a row on a 2-core machine: 16 rows keep a
 * frame's layout near 2 ms at any rate.
 */
const ROWS_PER_FRAME = 16;

/** Following, how far (rows) the slots may run past the list's length before they are set back (about 70,000 px). */
const TAIL_SLOTS = 4000;

/** Rows drawn above and below the view while the list is scrolled by hand (fast scrolling shows no gap). */
const OVERSCAN = 4;
/** Rows drawn before the list's height is known (the first frame). */
const FIRST_ROWS = 48;

/** A row element and its three text nodes, reused for whichever event it shows. */
interface Row {
  li: HTMLLIElement;
  time: Text;
  type: Text;
  text: Text;
  /** The event it shows, and where (1-based) in the list. */
  shows: E | null;
  at: number;
  size: number;
  /** Events of the list between this row's and the row above it that are not drawn (following a flood). */
  skipped: number;
}

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

  /** The scrolling list: a spacer, the rows in view, a spacer. */
  #list!: HTMLOListElement;
  #above!: HTMLLIElement;
  #below!: HTMLLIElement;
  #rowsInDom: Row[] = [];
  /** Row elements not in the list, for reuse. */
  #spare: Row[] = [];
  #search!: HTMLInputElement;
  #count!: HTMLSpanElement;
  #events: E[] = [];
  /** The events the list scrolls through: the last `max` that pass the filters, oldest first. */
  #shown: E[] = [];
  /** Each shown event's number (in the order they came) and the number of `#shown[0]`. */
  #seq = new WeakMap<E, number>();
  #nextSeq = 0;
  #base = 0;
  /** The rows show the end of the list, drawn frame by frame while following (false: draw the view afresh). */
  #tail = false;
  /**
   * Following, the rows are laid out by slot, not by their place in the list: a row keeps
   * its slot (its position in the scrolled content) while in view, new rows take the next
   * slots and the list scrolls, so the rows on screen are not laid out or painted again.
   * The first row's slot; set back to the list's own places when it passes n + TAIL_SLOTS.
   */
  #firstSlot = 0;
  #flush = frameScheduler(() => this.#render());
  /** Events received and not looked at by the list yet, oldest first. */
  #pending: E[] = [];
  /** The list shows its end and keeps it in view as events come (false once scrolled up). */
  #follow = true;
  /** The list's scrollTop, from its scroll events (read when the layout is clean) or as set here. */
  #top = 0;
  /** A row's and the list's height in px (ResizeObserver; 0 until known). */
  #rowPx = 0;
  #viewPx = 0;
  /** What the spacers and the scroll position were last set to (written only when they change). */
  #drawn = { above: -1, below: -1, unit: '', total: -1 };
  /** Rows the scrolled content is high (spacers and rows), as last drawn. */
  #contentRows = 0;
  /** A scroll position to set at the next drawing (scrolled up, rows left at the top). */
  #scrollTo: number | null = null;
  #resize: ResizeObserver | null = null;
  #rowObserved = false;
  #countText = '';

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
  /**
   * The events the list scrolls through (the last `max` that pass the filters), oldest
   * first, as of the last drawn frame. Only the rows in view are elements; each has
   * `aria-posinset` (its place in this list, from 1) and `aria-setsize`.
   */
  get shown(): E[] {
    return this.#shown.slice();
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
/* The count changes every frame: a box of its own size that lays out alone. */
.count { font-size: 0.8em; opacity: 0.8; font-variant-numeric: tabular-nums; display: inline-block; width: 9em; text-align: right; white-space: nowrap; overflow: hidden; contain: strict; height: 1.35em; }
/* The panel fills the element when it has a height (widget.html gives it the page's); the
   list scrolls. */
.panel { display: flex; flex-direction: column; height: 100%; }
.bar { flex: none; }
/* Size containment: the panel never measures the rows to size the list; an element without
   a height gets --tikcast-log-height (default 20em). The widget keeps the list's scroll
   position itself (the spacers change as rows come and go): no scroll anchoring. */
.list { flex: 1 1 auto; min-height: 0; list-style: none; margin: 0; padding: 0; font: 0.85em/1.35 var(--tikcast-mono, ui-monospace, monospace); overflow: auto; overflow-anchor: none; will-change: scroll-position; text-shadow: none; contain: strict; contain-intrinsic-size: 20em var(--tikcast-log-height, 20em); }
/* A row is one line of fixed height, laid out on its own: inline text in one line box. */
.row { display: block; white-space: pre; overflow: hidden; text-overflow: ellipsis; height: 1.35em; contain: strict; }
.gap { display: block; height: 0; contain: strict; }
/* Following a flood, rows were left out above this one (they are in the list when scrolled up). */
.row[data-skipped] { box-shadow: inset 0 1px 0 var(--tikcast-log-gap, rgba(255, 255, 255, 0.4)); }
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
    this.#above = el('li', 'gap');
    this.#below = el('li', 'gap');
    for (const g of [this.#above, this.#below]) g.setAttribute('aria-hidden', 'true');
    this.#list.append(this.#above, this.#below);
    // Scroll events come before a frame's drawing, when the layout is clean: reading
    // scrollTop here costs nothing. The sizes are the widget's own (ResizeObserver).
    this.#list.addEventListener(
      'scroll',
      () => {
        const top = this.#list.scrollTop;
        const end = this.#contentRows * this.#rowPx - this.#viewPx;
        const follow = !(this.#rowPx > 0) || top >= end - Math.max(4, this.#rowPx / 2);
        if (this.#follow && !follow && this.#tail) {
          // Leaving the end: from the rows laid out by slot to the list's own places, the
          // same distance from the end.
          this.#scrollTo = Math.max(0, this.#shown.length * this.#rowPx - this.#viewPx - (end - top));
          this.#top = this.#scrollTo;
        } else {
          this.#top = top;
        }
        this.#follow = follow;
        this.#flush();
      },
      { passive: true },
    );
    if (typeof ResizeObserver === 'function') {
      this.#resize = new ResizeObserver((entries) => {
        for (const e of entries) {
          const h = e.borderBoxSize?.[0]?.blockSize ?? e.contentRect.height;
          if (e.target === this.#list) this.#viewPx = e.contentRect.height;
          else if (h > 0) this.#rowPx = h;
        }
        // Following: the end is put in view again at the new size, the view drawn afresh.
        this.#drawn.total = -1;
        this.#tail = false;
        this.#flush();
      });
      this.#resize.observe(this.#list);
    }
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
    this.#shown = [];
    this.#base = this.#nextSeq;
    this.#follow = true;
    this.#tail = false;
    this.#draw();
    this.#setCount();
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
      // A page that draws no frames (hidden) keeps at most what the list could show.
      if (this.#pending.length > 2 * this.keep) this.#pending.splice(0, this.#pending.length - this.keep);
      this.#flush();
    });
  }

  #setCount(): void {
    const text = `${this.#events.length} events`;
    if (text !== this.#countText) this.#count.textContent = this.#countText = text;
  }

  /** A row element (its three text nodes are the ones a reused row changes). */
  #newRow(): Row {
    const spare = this.#spare.pop();
    if (spare) return spare;
    const li = el('li', 'row');
    li.part.add('row');
    const time = document.createTextNode('');
    const type = document.createTextNode('');
    const text = document.createTextNode('');
    const ts = el('span', 'time');
    const ty = el('span', 'type');
    const tx = el('span', 'text');
    ts.append(time);
    ty.append(type);
    tx.append(text);
    li.append(ts, ty, tx);
    if (!this.#rowObserved && this.#resize) {
      this.#rowObserved = true;
      this.#resize.observe(li);
    }
    return { li, time, type, text, shows: null, at: 0, size: 0, skipped: 0 };
  }

  /** Shows event `e` at place `at` (1-based) of `setSize` in row `r` (text only: textContent of text nodes). */
  #fill(r: Row, e: E, at: number, setSize: number, skipped: number): void {
    if (r.shows !== e) {
      r.shows = e;
      const t = Number(e.createTime);
      r.time.data = (t > 0 ? new Date(t).toISOString().slice(11, 19) : '--:--:--') + ' ';
      // Padded in the monospace font: the columns line up without a box per cell.
      r.type.data = String(e.type).padEnd(13) + ' ';
      r.text.data = describeEvent(e);
      r.li.dataset.type = String(e.type);
      r.li.dataset.msgId = String(e.msgId ?? '');
    }
    if (r.at !== at) {
      r.at = at;
      r.li.setAttribute('aria-posinset', String(at));
    }
    if (r.size !== setSize) {
      r.size = setSize;
      r.li.setAttribute('aria-setsize', String(setSize));
    }
    if (r.skipped !== skipped) {
      r.skipped = skipped;
      if (skipped > 0) r.li.dataset.skipped = String(skipped);
      else delete r.li.dataset.skipped;
    }
  }

  /** Where an event is in `#shown` (-1: not there any more). */
  #index(e: E | null): number {
    const s = e ? this.#seq.get(e) : undefined;
    const i = s === undefined ? -1 : s - this.#base;
    return i >= 0 && i < this.#shown.length ? i : -1;
  }

  /** Takes the pending events into the list (the last `max` that pass the filters). */
  #render(): void {
    const pending = this.#pending;
    if (pending.length) {
      this.#pending = [];
      const max = this.max;
      const types = this.types;
      const q = this.filter.trim().toLowerCase();
      // Newest first, only as many as the list can hold.
      const fresh: E[] = [];
      for (let i = pending.length - 1; i >= 0 && fresh.length < max; i--) if (this.#matches(pending[i]!, types, q)) fresh.push(pending[i]!);
      fresh.reverse();
      const shown = this.#shown;
      for (const e of fresh) {
        this.#seq.set(e, this.#nextSeq++);
        shown.push(e);
      }
      const drop = shown.length - max;
      if (drop > 0) {
        shown.splice(0, drop);
        this.#base += drop;
        // Scrolled up: what the reader looks at moved up by `drop` rows; so does the scroll position.
        if (!this.#follow && this.#rowPx > 0) this.#scrollTo = this.#top = Math.max(0, this.#top - drop * this.#rowPx);
      }
    }
    // The count first: the scroll position set by #draw lays out what changed before it.
    this.#setCount();
    this.#draw();
  }

  /** Rows in view (a partly visible row counts). */
  #inView(): number {
    return this.#rowPx > 0 && this.#viewPx > 0 ? Math.ceil(this.#viewPx / this.#rowPx) + 1 : FIRST_ROWS;
  }

  /** Puts the rows in view (and the spacers for the others) into the list. */
  #draw(): void {
    if (!this.#list) return;
    const shown = this.#shown;
    const n = shown.length;
    const view = this.#inView();
    const follow = this.#follow || !(this.#rowPx > 0);
    // The events the rows show, top to bottom.
    let want: E[];
    let above: number;
    if (follow) {
      // The last rows, and a few above them for a reader who starts scrolling up.
      const cap = view + OVERSCAN;
      if (this.#tail) {
        // Frame by frame: the rows drawn before that are still in the list, then the newest
        // new events, at most ROWS_PER_FRAME; what is left of that budget fills the view
        // upwards with the events before the first row (after a burst, in a quiet moment).
        const before = this.#rowsInDom;
        const kept = before.map((r) => r.shows).filter((e): e is E => this.#index(e) >= 0);
        const lastKept = kept.length ? this.#index(kept.at(-1)!) : -1;
        const from = Math.max(lastKept + 1, n - ROWS_PER_FRAME);
        want = kept.concat(shown.slice(from)).slice(-cap);
        // The slot of the first row: the rows that left at the top give theirs up.
        const gone = want.length && before.some((r) => r.shows === want[0]) ? before.findIndex((r) => r.shows === want[0]) : before.length;
        let slot = this.#firstSlot + gone;
        const room = Math.min(ROWS_PER_FRAME - (n - from), cap - want.length);
        const top = want.length ? this.#index(want[0]!) : n;
        if (room > 0 && top > 0) {
          const up = shown.slice(Math.max(0, top - room), top);
          want = up.concat(want);
          slot -= up.length;
        }
        // Back to the list's own places now and then (the rows are laid out and painted
        // again once): when the slots would start above the content, or are far below it.
        this.#firstSlot = slot < 0 || slot > n + TAIL_SLOTS ? n - want.length : slot;
      } else {
        want = shown.slice(-cap);
        this.#firstSlot = n - want.length;
      }
      this.#tail = true;
      above = this.#firstSlot;
    } else {
      this.#tail = false;
      const first = Math.max(0, Math.min(Math.floor(this.#top / this.#rowPx) - OVERSCAN, n - view - OVERSCAN));
      want = shown.slice(first, first + view + 2 * OVERSCAN);
      above = first;
    }
    this.#place(want, n);
    const rowsHigh = follow ? above + want.length : n;
    // The spacers in px once a row's height is known (the same layout units as the rows), in em before.
    const unit = this.#rowPx > 0 ? 'px' : 'em';
    const size = this.#rowPx > 0 ? this.#rowPx : 1.35;
    const below = rowsHigh - above - want.length;
    const d = this.#drawn;
    if (d.unit !== unit || d.above !== above) this.#above.style.height = `${above * size}${unit}`;
    if (d.unit !== unit || d.below !== below) this.#below.style.height = `${below * size}${unit}`;
    d.unit = unit;
    d.above = above;
    d.below = below;
    // Setting scrollTop lays the list out now (a few rows): done only when the position must
    // change. Following, the end is kept in view: scrolled when the content's height changed.
    this.#contentRows = rowsHigh;
    if (follow) {
      if (d.total !== rowsHigh) this.#list.scrollTop = 1e9;
    } else if (this.#scrollTo !== null) {
      this.#list.scrollTop = this.#scrollTo;
    }
    this.#scrollTo = null;
    d.total = rowsHigh;
  }

  /**
   * Makes the rows show `want` (top to bottom). A row that shows one of them keeps it and
   * stays where it is in the DOM (its text is not laid out again); the others are taken
   * out, given the new events and put in their places.
   */
  #place(want: E[], n: number): void {
    const byEvent = new Map<E, Row>();
    for (const r of this.#rowsInDom) if (r.shows) byEvent.set(r.shows, r);
    const staying = new Set<Row>();
    for (const e of want) {
      const r = byEvent.get(e);
      if (r) staying.add(r);
    }
    const free: Row[] = [];
    for (const r of this.#rowsInDom) {
      if (staying.has(r)) continue;
      r.li.remove();
      free.push(r);
    }
    const rows: Row[] = [];
    let prev = -1;
    for (const e of want) {
      const r = byEvent.get(e) ?? free.pop() ?? this.#newRow();
      const at = this.#index(e);
      this.#fill(r, e, at + 1, n, prev >= 0 && at > prev + 1 ? at - prev - 1 : 0);
      prev = at;
      rows.push(r);
    }
    // The staying rows are in order already: only the others move.
    let ref: ChildNode | null = this.#above.nextSibling;
    for (const r of rows) {
      if (r.li === ref) ref = ref.nextSibling;
      else this.#list.insertBefore(r.li, ref);
    }
    for (const r of free) {
      r.shows = null;
      this.#spare.push(r);
    }
    this.#rowsInDom = rows;
  }

  #rerender(): void {
    if (!this.#list) return;
    const types = this.types;
    const q = this.filter.trim().toLowerCase();
    const max = this.max;
    const shown: E[] = [];
    for (let i = this.#events.length - 1; i >= 0 && shown.length < max; i--) if (this.#matches(this.#events[i]!, types, q)) shown.push(this.#events[i]!);
    this.#shown = shown.reverse();
    this.#base = this.#nextSeq;
    for (const e of this.#shown) this.#seq.set(e, this.#nextSeq++);
    this.#pending = [];
    this.#follow = true;
    this.#tail = false;
    this.#scrollTo = null;
    this.#drawn.total = -1;
    this.#draw();
    this.#setCount();
  }
}
