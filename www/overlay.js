// The tikcast overlay: chat, gifts with live streak counters, likes, viewers, toasts, a
// battle bar and the connection state, built only on the public `tikcast` package API.
// Everything from the wire goes into the page as text (textContent) or as an image URL,
// never as HTML. Configuration is the query string (see index.html and README.md).
import {
  TikTokLiveConnection,
  WebcastEvent,
  ControlEvent,
  fetchAvailableGifts,
  fetchRoomInfo,
} from './pkg/index.js';
// The recording reader and player of the package (one copy: js/src/widgets/recording.ts).
import { loadRecording, playRecording } from './pkg/widgets/recording.js';

const q = new URLSearchParams(location.search);
const config = {
  relay: q.get('relay'),
  uniqueId: (q.get('uniqueId') ?? '').replace(/^@/, ''),
  jwt: q.get('jwt') || undefined,
  replay: q.get('replay'),
  speed: Math.max(0.1, Number(q.get('speed')) || 1),
  maxChat: Math.max(5, Number(q.get('max')) || 60),
  maxGifts: Math.max(1, Number(q.get('maxGifts')) || 8),
  worker: q.get('worker') === '1',
};
if (['1', 'true', ''].includes(q.get('transparent') ?? 'no')) document.documentElement.classList.add('transparent');

const $ = (id) => document.getElementById(id);
const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** What the page shows, exposed for tests and for embedding pages. */
const overlay = (window.tikcastOverlay = {
  state: 'idle',
  ended: false,
  likes: 0,
  viewers: 0,
  gifts: new Map(),
  errors: [],
  /** Every status the page went through, in order. */
  states: [],
  toasts: { follow: 0, share: 0, subscribe: 0 },
});

// ------------------------------------------------------------------------- status

function setStatus(state, text) {
  if (overlay.states.at(-1) !== state) overlay.states.push(state);
  overlay.state = state;
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
  document.documentElement.dataset.state = state;
}

function setEnded(ended) {
  overlay.ended = ended;
  $('ended').hidden = !ended;
  if (ended) setStatus('ended', 'Stream ended');
}

// ------------------------------------------------------------------------- pieces

/** An avatar: the user's initial, with their picture on top once it loads. */
function avatar(user, className = 'avatar') {
  const a = el('span', className);
  a.setAttribute('aria-hidden', 'true');
  a.textContent = [...(user?.nickname || user?.uniqueId || '?')][0]?.toUpperCase() ?? '?';
  const url = user?.profilePictureUrl;
  if (url) {
    const img = el('img');
    img.alt = '';
    img.referrerPolicy = 'no-referrer';
    img.decoding = 'async';
    img.addEventListener('error', () => img.remove(), { once: true });
    img.src = url;
    a.append(img);
  }
  return a;
}

/** The name with level, moderator and subscriber marks. */
function nameTag(user) {
  const tag = el('span', 'who');
  if (user?.gifterLevel > 0) {
    const lv = el('span', 'badge level', `Lv${user.gifterLevel}`);
    lv.title = `Gifter level ${user.gifterLevel}`;
    tag.append(lv);
  }
  if (user?.isModerator) {
    const mod = el('span', 'badge mod', 'MOD');
    mod.title = 'Moderator';
    tag.append(mod);
  }
  if (user?.isSubscriber) {
    const sub = el('span', 'badge sub', 'SUB');
    sub.title = 'Subscriber';
    tag.append(sub);
  }
  tag.append(el('span', 'nick', user?.nickname || user?.uniqueId || 'someone'));
  return tag;
}

/** `comment` as text, with emotes as images at their UTF-16 positions. */
function richText(comment, emotes = []) {
  const out = el('span', 'text');
  const sorted = [...emotes].filter((e) => e?.imageUrl).sort((a, b) => a.index - b.index);
  let at = 0;
  for (const e of sorted) {
    const i = Math.min(Math.max(e.index, at), comment.length);
    if (i > at) out.append(document.createTextNode(comment.slice(at, i)));
    out.append(emoteImage(e));
    at = i;
  }
  if (at < comment.length) out.append(document.createTextNode(comment.slice(at)));
  return out;
}

function emoteImage(e) {
  const img = el('img', 'emote');
  img.alt = `:${e.emoteId || 'emote'}:`;
  img.referrerPolicy = 'no-referrer';
  img.src = e.imageUrl;
  return img;
}

function trim(list, max) {
  while (list.children.length > max) list.firstElementChild.remove();
}

// ------------------------------------------------------------------------- chat

function onChat(e) {
  const li = el('li', 'chat-line');
  li.dataset.msgId = e.msgId;
  li.append(avatar(e.user), nameTag(e.user), richText(e.comment, e.emotes));
  $('chat').append(li);
  trim($('chat'), config.maxChat);
  live();
}

function onEmote(e) {
  const li = el('li', 'chat-line emote-line');
  li.dataset.msgId = e.msgId;
  const text = el('span', 'text');
  for (const m of e.emotes ?? []) if (m?.imageUrl) text.append(emoteImage(m));
  li.append(avatar(e.user), nameTag(e.user), text);
  $('chat').append(li);
  trim($('chat'), config.maxChat);
  live();
}

function onJoin(e) {
  $('joins').textContent = `${e.user?.nickname || e.user?.uniqueId || 'Someone'} joined`;
}

// ------------------------------------------------------------------------- gifts

/** One line per streak (or single gift): the same element is updated, then settled. */
function giftLine(e, final) {
  const key = `${e.user?.userId}:${e.giftId}:${e.groupId}`;
  let li = [...$('gifts').children].find((c) => c.dataset.key === key && !c.classList.contains('final'));
  const known = overlay.gifts.get(e.giftId);
  if (!li) {
    li = el('li', 'gift');
    li.dataset.key = key;
    li.dataset.giftId = e.giftId;
    const pic = el('img', 'gift-image');
    pic.alt = '';
    pic.referrerPolicy = 'no-referrer';
    pic.addEventListener('error', () => pic.remove(), { once: true });
    const url = known?.imageUrl || e.giftPictureUrl;
    if (url) pic.src = url;
    const body = el('span', 'gift-body');
    body.append(nameTag(e.user), el('span', 'gift-name', `sent ${known?.name || e.giftName || 'a gift'}`));
    li.append(avatar(e.user), body, pic, el('b', 'count'));
    $('gifts').append(li);
    trim($('gifts'), config.maxGifts);
  }
  const n = Math.max(1, e.repeatCount || 1);
  li.dataset.count = String(n);
  li.querySelector('.count').textContent = `x${n}`;
  if (final) {
    li.classList.add('final');
    li.classList.remove('running');
  } else {
    li.classList.add('running');
    // Restart the pulse on each step.
    li.classList.remove('bump');
    void li.offsetWidth;
    li.classList.add('bump');
  }
  live();
}

// ------------------------------------------------------------------------- counters

function setCounter(id, value) {
  const s = $(id);
  s.dataset.value = String(value);
  s.querySelector('b').textContent = value >= 10_000 ? compact.format(value) : value.toLocaleString('en');
}

function onLike(e) {
  if (e.totalLikeCount > overlay.likes) {
    overlay.likes = e.totalLikeCount;
    setCounter('likes', overlay.likes);
  }
  live();
}

function onViewers(e) {
  overlay.viewers = e.viewerCount;
  setCounter('viewers', e.viewerCount);
}

// ------------------------------------------------------------------------- toasts

function toast(kind, user, text) {
  overlay.toasts[kind] += 1;
  const t = el('div', `toast ${kind}`);
  t.append(avatar(user), el('span', 'toast-text', `${user?.nickname || user?.uniqueId || 'Someone'} ${text}`));
  $('toasts').append(t);
  trim($('toasts'), 3);
  setTimeout(() => t.classList.add('leaving'), 4000);
  setTimeout(() => t.remove(), 4600);
}

// ------------------------------------------------------------------------- battle

const battle = { id: null, ours: null, theirs: null, hideTimer: undefined };

function onBattle(e) {
  const hosts = e.hosts ?? [];
  if (hosts.length >= 2) {
    const mine = hosts.findIndex((h) => h.uniqueId === config.uniqueId || h.uniqueId === overlay.host);
    const ours = hosts[mine >= 0 ? mine : 0];
    const theirs = hosts.find((h) => h !== ours);
    battle.ours = ours.userId;
    battle.theirs = theirs.userId;
    $('battle-ours-name').textContent = ours.nickname || ours.uniqueId;
    $('battle-theirs-name').textContent = theirs.nickname || theirs.uniqueId;
  }
  if (battle.id !== e.battleId) {
    battle.id = e.battleId;
    setScores(0, 0);
    $('battle-verdict').hidden = true;
  }
  clearTimeout(battle.hideTimer);
  $('battle').hidden = false;
  $('battle').dataset.state = e.results?.length ? 'finished' : 'running';
  if (e.results?.length) {
    const score = (id) => e.results.find((r) => r.userId === id)?.score ?? 0;
    setScores(score(battle.ours), score(battle.theirs));
    const ours = e.results.find((r) => r.userId === battle.ours);
    const verdict = ours?.result === 0 ? 'Victory!' : ours?.result === 1 ? 'Defeat' : 'Draw';
    $('battle-verdict').textContent = verdict;
    $('battle-verdict').hidden = false;
    battle.hideTimer = setTimeout(() => ($('battle').hidden = true), 20_000);
  }
}

function onArmies(e) {
  if (battle.id !== null && e.battleId !== battle.id) return;
  const points = (id) => e.armies?.find((a) => a.hostUserId === id)?.points;
  const ours = points(battle.ours);
  const theirs = points(battle.theirs);
  if (ours !== undefined || theirs !== undefined) setScores(ours ?? 0, theirs ?? 0);
}

function setScores(ours, theirs) {
  $('battle-ours-score').textContent = ours.toLocaleString('en');
  $('battle-theirs-score').textContent = theirs.toLocaleString('en');
  $('battle').dataset.ours = String(ours);
  $('battle').dataset.theirs = String(theirs);
  const total = ours + theirs;
  $('battle-fill').style.width = `${total > 0 ? (100 * ours) / total : 50}%`;
}

// ------------------------------------------------------------------------- room

function showRoom(info) {
  if (!info) return;
  const host = info.nickname || info.uniqueId;
  if (host) {
    $('host-name').textContent = host;
    $('host-avatar').textContent = [...host][0].toUpperCase();
  }
  if (info.uniqueId) overlay.host = info.uniqueId;
  if (typeof info.title === 'string') $('room-title').textContent = info.title;
  if (typeof info.viewerCount === 'number' && overlay.viewers === 0) setCounter('viewers', info.viewerCount);
}

/** Anything from the stream proves it is live again (e.g. after an end and a restart). */
function live() {
  if (overlay.ended) setEnded(false);
  if (overlay.state !== 'live' && overlay.state !== 'reconnecting') setStatus('live', 'Live');
}

// ------------------------------------------------------------------------- wiring

function listen(conn) {
  conn.on(WebcastEvent.CHAT, onChat);
  conn.on(WebcastEvent.EMOTE, onEmote);
  conn.on(WebcastEvent.MEMBER, onJoin);
  conn.on(WebcastEvent.GIFT_STREAK, (e) => giftLine(e, false));
  conn.on(WebcastEvent.GIFT, (e) => giftLine(e, true));
  conn.on(WebcastEvent.LIKE, onLike);
  conn.on(WebcastEvent.ROOM_USER, onViewers);
  conn.on(WebcastEvent.FOLLOW, (e) => toast('follow', e.user, 'followed'));
  conn.on(WebcastEvent.SHARE, (e) => toast('share', e.user, 'shared the stream'));
  conn.on(WebcastEvent.SUBSCRIBE, (e) => toast('subscribe', e.user, e.subMonth > 1 ? `subscribed for ${e.subMonth} months` : 'subscribed'));
  conn.on(WebcastEvent.LINK_MIC_BATTLE, onBattle);
  conn.on(WebcastEvent.LINK_MIC_ARMIES, onArmies);
  conn.on(WebcastEvent.STREAM_END, () => setEnded(true));
  conn.on(ControlEvent.ROOM_INFO, (r) => showRoom(r.data));
  conn.on(ControlEvent.CONNECTING, (s) => {
    if (!overlay.ended) setStatus(s.attempt === 0 ? 'connecting' : 'reconnecting', s.attempt === 0 ? 'Connecting…' : 'Reconnecting…');
  });
  conn.on(ControlEvent.CONNECTED, () => {
    if (!overlay.ended) setStatus('live', 'Live');
  });
  conn.on(ControlEvent.RECONNECTING, (s) => {
    // After the end, the session waits for the next stream: that is not a fault.
    if (overlay.ended) return;
    setStatus('reconnecting', `Reconnecting in ${Math.ceil(s.delayMs / 1000)} s…`);
  });
  conn.on(ControlEvent.STOPPED, (s) => {
    if (s.code === 'stopped' || (overlay.ended && s.code === 'stream_ended')) return;
    overlay.errors.push(s.code);
    setStatus('stopped', `Stopped: ${s.message}`);
  });
}

async function startRelay() {
  const conn = new TikTokLiveConnection(config.uniqueId, {
    relay: { url: config.relay, jwt: config.jwt },
    worker: config.worker,
    // An OBS source may start before its relay: keep trying rather than fail fast.
    reconnect: { failFast: false },
  });
  listen(conn);
  // Gift names and pictures, and the room's details, from the relay (never from TikTok).
  const gifts = fetchAvailableGifts(config.relay, { jwt: config.jwt }).then(
    (list) => list.forEach((g) => overlay.gifts.set(g.id, g)),
    (e) => console.info(`tikcast overlay: no gift catalog (${e.code}): ${e.message}`),
  );
  fetchRoomInfo(config.relay, config.uniqueId, { jwt: config.jwt }).then(
    (room) => {
      overlay.room = room;
      showRoom(room);
    },
    (e) => console.info(`tikcast overlay: no room details (${e.code}): ${e.message}`),
  );
  $('host-name').textContent = config.uniqueId;
  // Connect once the catalog has answered (or failed), so the first gift has its picture.
  await Promise.race([gifts, new Promise((r) => setTimeout(r, 1500))]);
  try {
    await conn.connect();
  } catch (e) {
    overlay.errors.push(e.code);
    setStatus('stopped', `Cannot connect: ${e.message}`);
  }
  return conn;
}

/** `?replay=URL`: a recording played in the page through the `frames` transport. */
async function startReplay() {
  setStatus('connecting', 'Loading recording…');
  const rec = await loadRecording(new URL(config.replay, location.href).href);
  if (rec.meta?.uniqueId) config.uniqueId ||= rec.meta.uniqueId;
  const conn = new TikTokLiveConnection(config.uniqueId || 'replay', { frames: true });
  listen(conn);
  await conn.connect();
  await playRecording(
    rec,
    (bytes) => conn.pushFrame(bytes),
    (text) => {
      try {
        showRoom(JSON.parse(text));
      } catch {
        // Not JSON: nothing to show.
      }
    },
    { speed: config.speed },
  );
  return conn;
}

async function main() {
  if (config.replay) return startReplay();
  if (config.relay && config.uniqueId) return startRelay();
  $('help').hidden = false;
  setStatus('idle', 'Not configured');
  return null;
}

overlay.ready = main().catch((e) => {
  overlay.errors.push(e?.code ?? 'error');
  setStatus('stopped', `Error: ${e?.message ?? e}`);
});
