// <tikcast-chat>: chat with gifter level, moderator and subscriber marks, badges and emotes
// as images; messages removed on `imDelete`; the pinned message on top; at most `max` lines.
import { TikcastWidget, avatar, cap, el, emoteImage, frameScheduler, intAttr, nameTag, richText, type On } from './base.js';

type E = Record<string, any>;

export class TikcastChat extends TikcastWidget {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'max', 'no-avatars'];
  }

  #list!: HTMLOListElement;
  #pinned!: HTMLDivElement;
  /** Lines not drawn yet (the last `max`): built at the next animation frame, so a burst costs one layout and lines that would scroll away at once are never built. */
  #pending: Array<{ e: E; emoteOnly: boolean }> = [];
  #pinTimer: ReturnType<typeof setTimeout> | undefined;
  #pinnedMsgId = '';
  #flush = frameScheduler(() => this.#render());

  /** Lines kept on screen (attribute `max`, default 50). */
  get max(): number {
    return intAttr(this, 'max', 50, 1);
  }

  protected css(): string {
    return `
/* The panel fills the element when it has a height (widget.html gives it the page's):
   the newest line sits at the bottom and old lines leave at the top, clipped. The lines'
   box has size containment, so the panel never lays out every line to size it (a flex
   item's content height is otherwise measured again at every change); an element
   without a height shows --tikcast-chat-height of lines (default 24em). */
.panel { display: flex; flex-direction: column; height: 100%; }
.viewport { flex: 1 1 auto; min-height: 0; overflow: hidden; display: flex; flex-direction: column; justify-content: flex-end; contain: strict; contain-intrinsic-size: 20em var(--tikcast-chat-height, 24em); }
.pinned { flex: none; display: flex; gap: 0.5em; align-items: flex-start; margin-bottom: 0.5em; border-left: 3px solid var(--tikcast-accent, #fe2c55); }
.pinned[hidden] { display: none; }
.pin-mark { font-size: 0.75em; font-weight: 700; color: var(--tikcast-accent, #fe2c55); text-transform: uppercase; }
.list { flex: none; list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: var(--tikcast-gap, 0.35em); }
/* Each line is laid out on its own (a new line never relays out the others' text), and a
   line scrolled out of the panel is skipped by layout and paint (measured: chat layout
   time 280 -> 90 ms per second of a 2,000 messages/s flood). */
.line { display: flex; gap: 0.5em; align-items: flex-start; overflow-wrap: anywhere; contain: layout style; content-visibility: auto; contain-intrinsic-size: auto 1.6em; }
.line.enter { animation: in 0.2s ease-out; }
.line .body { min-width: 0; }
.line .who { margin-right: 0.4em; }
:host([no-avatars]) .avatar { display: none; }
@keyframes in { from { opacity: 0; transform: translateY(0.4em); } }
`;
  }

  protected build(root: ShadowRoot): void {
    const panel = el('div', 'panel');
    panel.part.add('panel');
    this.#pinned = el('div', 'pinned panel');
    this.#pinned.part.add('pinned');
    this.#pinned.hidden = true;
    this.#list = el('ol', 'list');
    this.#list.part.add('list');
    this.#list.setAttribute('role', 'log');
    const viewport = el('div', 'viewport');
    viewport.append(this.#list);
    panel.append(this.#pinned, viewport);
    root.append(panel);
  }

  protected clear(): void {
    this.#pending = [];
    this.#list.replaceChildren();
    this.#unpin();
  }

  protected changed(name: string): void {
    if (name === 'max') cap(this.#list, this.max);
  }

  protected listen(on: On): void {
    on('chat', (e) => this.#add(e, false));
    on('emote', (e) => this.#add(e, true));
    on('imDelete', (e) => this.#delete(e));
    on('roomPin', (e) => this.#pin(e));
  }

  #add(e: E, emoteOnly: boolean): void {
    this.#pending.push({ e, emoteOnly });
    if (this.#pending.length > this.max) this.#pending.splice(0, this.#pending.length - this.max);
    this.#flush();
  }

  #line({ e, emoteOnly }: { e: E; emoteOnly: boolean }): HTMLLIElement {
    const li = el('li', emoteOnly ? 'line emote-line' : 'line');
    li.part.add('line');
    li.dataset.msgId = String(e.msgId ?? '');
    li.dataset.userId = String(e.user?.userId ?? '');
    let text: HTMLElement;
    if (emoteOnly) {
      text = el('span', 'text');
      for (const m of Array.isArray(e.emotes) ? e.emotes : []) {
        const img = emoteImage(m);
        if (img) text.append(img);
      }
    } else {
      text = richText(e.comment, e.emotes);
    }
    const body = el('span', 'body');
    body.append(nameTag(e.user), text);
    if (!this.hasAttribute('no-avatars')) li.append(avatar(e.user));
    li.append(body);
    return li;
  }

  #render(): void {
    if (this.#pending.length === 0) return;
    const fresh = this.#pending.map((p) => this.#line(p));
    this.#pending = [];
    // A line slides in when lines come one by one; in a flood, animating every line would
    // cost more than drawing them.
    if (fresh.length <= 2) for (const li of fresh) li.classList.add('enter');
    // Old lines go first, so the list never holds more than `max`.
    const lines = this.#list.childElementCount;
    const drop = Math.min(lines, lines + fresh.length - this.max);
    if (drop > 0) {
      // In one DOM operation (a flood replaces many lines a frame).
      const range = document.createRange();
      range.setStartBefore(this.#list.firstElementChild!);
      if (drop === lines) range.setEndAfter(this.#list.lastElementChild!);
      else range.setEndBefore(this.#list.children[drop]!);
      range.deleteContents();
    }
    this.#list.append(...fresh.slice(-this.max));
  }

  #delete(e: E): void {
    const ids = new Set((Array.isArray(e.deleteMsgIds) ? e.deleteMsgIds : []).map(String));
    const users = new Set((Array.isArray(e.deleteUserIds) ? e.deleteUserIds : []).map(String));
    const gone = (li: HTMLElement) => ids.has(li.dataset.msgId ?? '') || users.has(li.dataset.userId ?? '');
    this.#pending = this.#pending.filter(({ e: p }) => !ids.has(String(p.msgId ?? '')) && !users.has(String(p.user?.userId ?? '')));
    for (const li of Array.from(this.#list.children) as HTMLElement[]) if (gone(li)) li.remove();
    if (this.#pinnedMsgId && ids.has(this.#pinnedMsgId)) this.#unpin();
  }

  #pin(e: E): void {
    if (e.action === 2) {
      if (!this.#pinnedMsgId || !e.pinnedMsgId || e.pinnedMsgId === this.#pinnedMsgId) this.#unpin();
      return;
    }
    const comment = typeof e.pinnedComment === 'string' ? e.pinnedComment : '';
    if (!comment) return;
    clearTimeout(this.#pinTimer);
    this.#pinnedMsgId = String(e.pinnedMsgId ?? '');
    const body = el('span', 'body');
    body.append(el('span', 'pin-mark', 'Pinned '), nameTag(e.pinnedUser ?? e.operator), richText(comment, []));
    this.#pinned.replaceChildren(avatar(e.pinnedUser ?? e.operator), body);
    this.#pinned.dataset.msgId = this.#pinnedMsgId;
    this.#pinned.hidden = false;
    const seconds = Number(e.displayDuration) || 0;
    if (seconds > 0) this.#pinTimer = setTimeout(() => this.#unpin(), (seconds * 1000) / this.speed);
  }

  #unpin(): void {
    clearTimeout(this.#pinTimer);
    this.#pinnedMsgId = '';
    this.#pinned.hidden = true;
    this.#pinned.replaceChildren();
  }
}
