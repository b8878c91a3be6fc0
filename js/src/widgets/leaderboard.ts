// <tikcast-leaderboard>: the session's top gifters by diamonds, from finished gifts only
// (one `gift` per finished streak), each gift message counted once (by msgId).
import { giftDiamonds } from './gift-alerts.js';
import { TikcastWidget, avatar, el, formatCount, frameScheduler, intAttr, nameTag, nick, type On } from './base.js';

/** One gifter's line. */
export interface LeaderboardEntry {
  userId: string;
  nickname: string;
  diamonds: number;
  gifts: number;
}

function diamondsTag(n: number): HTMLSpanElement {
  const s = el('span', 'diamonds', formatCount(n));
  s.title = `${n} diamonds`;
  return s;
}

export class TikcastLeaderboard extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'max', 'title'];
  }

  #list!: HTMLOListElement;
  #heading!: HTMLDivElement;
  #by = new Map<string, LeaderboardEntry & { user: Record<string, any>; first: number }>();
  #counted = new Set<string>();
  #order = 0;
  #flush = frameScheduler(() => this.#render());

  get max(): number {
    return intAttr(this, 'max', 5, 1);
  }

  /** Every gifter, best first (ties: who got there first). */
  get entries(): LeaderboardEntry[] {
    return [...this.#by.values()]
      .sort((a, b) => b.diamonds - a.diamonds || a.first - b.first)
      .map(({ userId, nickname, diamonds, gifts }) => ({ userId, nickname, diamonds, gifts }));
  }

  protected css(): string {
    return `
.title { font-weight: 800; margin-bottom: 0.4em; }
.list { list-style: none; margin: 0; padding: 0; display: grid; gap: var(--tikcast-gap, 0.35em); }
.row { display: flex; align-items: center; gap: 0.5em; }
.rank { width: 1.6em; text-align: right; font-weight: 900; color: var(--tikcast-accent, #fe2c55); font-variant-numeric: tabular-nums; }
.row .who { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.diamonds { font-weight: 800; font-variant-numeric: tabular-nums; }
.diamonds::after { content: " \\25C6"; color: var(--tikcast-diamond, #4cc9f0); }
`;
  }

  protected build(root: ShadowRoot): void {
    const box = el('div', 'panel');
    box.part.add('panel');
    this.#heading = el('div', 'title');
    this.#list = el('ol', 'list');
    this.#list.part.add('list');
    box.append(this.#heading, this.#list);
    root.append(box);
    this.#render();
  }

  protected clear(): void {
    this.#by.clear();
    this.#counted.clear();
    this.#render();
  }

  protected changed(): void {
    this.#render();
  }

  protected listen(on: On): void {
    on('gift', (e) => {
      const msgId = String(e.msgId ?? '');
      if (msgId) {
        if (this.#counted.has(msgId)) return;
        this.#counted.add(msgId);
        if (this.#counted.size > 20_000) this.#counted.delete(this.#counted.values().next().value as string);
      }
      const userId = String(e.user?.userId ?? '');
      if (!userId) return;
      const diamonds = giftDiamonds(e, this.gift(e.giftId)?.diamondCount);
      let row = this.#by.get(userId);
      if (!row) {
        row = { userId, nickname: nick(e.user), diamonds: 0, gifts: 0, user: e.user, first: this.#order++ };
        this.#by.set(userId, row);
      }
      row.user = e.user;
      row.nickname = nick(e.user);
      row.diamonds += diamonds;
      row.gifts += 1;
      this.#flush();
    });
  }

  #render(): void {
    if (!this.#list) return;
    this.#heading.textContent = this.getAttribute('title') ?? 'Top gifters';
    this.#heading.hidden = this.#heading.textContent === '';
    const top = [...this.#by.values()].sort((a, b) => b.diamonds - a.diamonds || a.first - b.first).slice(0, this.max);
    this.#list.replaceChildren(
      ...top.map((r, i) => {
        const li = el('li', 'row');
        li.part.add('row');
        li.dataset.userId = r.userId;
        li.dataset.diamonds = String(r.diamonds);
        li.append(el('span', 'rank', String(i + 1)), avatar(r.user), nameTag(r.user), diamondsTag(r.diamonds));
        return li;
      }),
    );
  }
}
