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
  #pending: HTMLLIElement[] = [];
  #pinTimer: ReturnType<typeof setTimeout> | undefined;
  #pinnedMsgId = '';
  #flush = frameScheduler(() => this.#render());

  /** Lines kept on screen (attribute `max`, default 50). */
  get max(): number {
    return intAttr(this, 'max', 50, 1);
  }

  protected css(): string {
    return `
.pinned { display: flex; gap: 0.5em; align-items: flex-start; margin-bottom: 0.5em; border-left: 3px solid var(--tikcast-accent, #fe2c55); }
.pinned[hidden] { display: none; }
.pin-mark { font-size: 0.75em; font-weight: 700; color: var(--tikcast-accent, #fe2c55); text-transform: uppercase; }
.list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: var(--tikcast-gap, 0.35em); }
.line { display: flex; gap: 0.5em; align-items: flex-start; overflow-wrap: anywhere; animation: in 0.2s ease-out; }
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
    panel.append(this.#pinned, this.#list);
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
    on('chat', (e) => this.#add(e, richText(e.comment, e.emotes)));
    on('emote', (e) => {
      const text = el('span', 'text');
      for (const m of Array.isArray(e.emotes) ? e.emotes : []) {
        const img = emoteImage(m);
        if (img) text.append(img);
      }
      this.#add(e, text, 'emote-line');
    });
    on('imDelete', (e) => this.#delete(e));
    on('roomPin', (e) => this.#pin(e));
  }

  #add(e: E, text: HTMLElement, extra = ''): void {
    const li = el('li', extra ? `line ${extra}` : 'line');
    li.part.add('line');
    li.dataset.msgId = String(e.msgId ?? '');
    li.dataset.userId = String(e.user?.userId ?? '');
    const body = el('span', 'body');
    body.append(nameTag(e.user), text);
    li.append(avatar(e.user), body);
    this.#pending.push(li);
    if (this.#pending.length > this.max) this.#pending.splice(0, this.#pending.length - this.max);
    this.#flush();
  }

  #render(): void {
    if (this.#pending.length === 0) return;
    this.#list.append(...this.#pending);
    this.#pending = [];
    cap(this.#list, this.max);
  }

  #delete(e: E): void {
    const ids = new Set((Array.isArray(e.deleteMsgIds) ? e.deleteMsgIds : []).map(String));
    const users = new Set((Array.isArray(e.deleteUserIds) ? e.deleteUserIds : []).map(String));
    const gone = (li: HTMLElement) => ids.has(li.dataset.msgId ?? '') || users.has(li.dataset.userId ?? '');
    this.#pending = this.#pending.filter((li) => !gone(li));
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
