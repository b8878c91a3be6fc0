// The widgets of `tikcast/widgets` (js/src/widgets/) in headless Chromium (playwright-core),
// each as the OBS page www/widget.html?w=NAME playing the demo recording in the page
// (`replay=`, fast), every page at once. What each must show is computed here from the
// session script (tests/fixtures/demo-session.jsonl) and the gift catalog
// (tests/fixtures/demo-gifts.json), independently of the widget code: chat lines and
// marks, one alert per gift with its final count, goal progress, the leaderboard order,
// counters, alerts, the battle result, the event log and its export. The XSS line of the
// session (and the nickname `Zed <i>`) must be text in every widget. Then the chat on a
// hosted-style JSON relay (a `ws` server here): `imDelete` removes lines, `roomPin` pins,
// `max` caps; and one connection handed to several widgets (the `connection` property).
// Last, the builder (www/builder.html): its preview, then the URL and the HTML snippet it
// makes, each opened in a fresh page, show the same widget with the same result.
// Screenshots go to tests/artifacts/widget-*.png.
//
// Run: `node --test tests/widgets/` after `npm run build` (scripts/test-js.sh does it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import test from 'node:test';

import { DEMO_GIFTS, DEMO_RECORDING, MOCK_ROOM_ID, REPO, mockMissing, startMock, startRelay, startWebServer } from '../../js/test/helpers.mjs';

const require = createRequire(`${REPO}js/package.json`);
const { chromium } = require('playwright-core');
const { WebSocketServer } = require('ws');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = `${REPO}tests/artifacts`;
const SPEED = 40;

// ----------------------------------------------------------------- what the script says

function expected() {
  const lines = readFileSync(`${REPO}tests/fixtures/demo-session.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => JSON.parse(l));
  const catalog = new Map(JSON.parse(readFileSync(`${REPO}tests/fixtures/demo-gifts.json`, 'utf8')).map((g) => [String(g.id), g]));
  const users = new Map(lines.filter((l) => l.type === 'user').map((u) => [u.handle, u]));
  const timed = lines.filter((l) => typeof l.t === 'number').sort((a, b) => a.t - b.t);
  const of = (type) => timed.filter((l) => l.type === type);
  const nick = (handle) => users.get(handle).nickname;
  // One gift per single gift and per finished streak, in the order they started.
  const gifts = timed
    .filter((l) => l.type === 'gift' || l.type === 'streak')
    .map((g) => {
      const count = g.type === 'streak' ? g.count : 1;
      const c = catalog.get(String(g.giftId));
      return { nickname: nick(g.user), handle: g.user, giftId: String(g.giftId), count, giftName: c.name, imageUrl: c.imageUrl, diamonds: c.diamondCount * count };
    });
  // Top gifters: diamonds per sender, ties by who gave first.
  const board = new Map();
  for (const g of gifts) {
    const row = board.get(g.handle) ?? { nickname: g.nickname, diamonds: 0, gifts: 0 };
    row.diamonds += g.diamonds;
    row.gifts += 1;
    board.set(g.handle, row);
  }
  const likes = of('like').reduce((sum, l) => sum + (l.count ?? 1), 0);
  return {
    chats: of('chat').map((c) => ({ nick: nick(c.user), text: c.comment })),
    chatAndEmotes: timed.filter((l) => l.type === 'chat' || l.type === 'emote').map((l) => (l.type === 'chat' ? l.comment : null)),
    emotes: of('emote').length,
    gifts,
    leaderboard: [...board.values()].sort((a, b) => b.diamonds - a.diamonds),
    likes,
    diamonds: gifts.reduce((s, g) => s + g.diamonds, 0),
    follows: of('follow').length,
    shares: of('share').length,
    members: new Set(of('member').map((m) => m.user)).size,
    viewers: of('roomUser').at(-1).viewers,
    battle: of('battleEnd').at(-1),
    battleStart: of('battleStart').at(-1),
    host: nick('demo.host'),
    rival: (h) => nick(h),
    alerts: timed
      .filter((l) => ['follow', 'share', 'subscribe'].includes(l.type))
      .map((l) => ({ kind: l.type, nick: nick(l.user) })),
    xss: of('chat').find((c) => c.comment.includes('<img')),
  };
}

// ----------------------------------------------------------------- processes and pages

/** Page errors, console errors and warnings, failed requests and dialogs. */
function watch(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  // A request a navigation cancelled (the builder's preview going to another widget) is not a failure.
  page.on('requestfailed', (r) => r.failure()?.errorText === 'net::ERR_ABORTED' || problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return problems;
}

/** Elements made from wire markup anywhere in the page's widgets (shadow roots included). */
function injected(page) {
  return page.evaluate(() => {
    const found = [];
    const walk = (root) => {
      for (const e of root.querySelectorAll('*')) {
        // The widgets' own elements all have a class; markup from the wire would not.
        if (e.matches('img[src="x"], [onerror], i, b:not([class])')) found.push(e.outerHTML.slice(0, 80));
        if (e.shadowRoot) walk(e.shadowRoot);
      }
    };
    walk(document);
    return found;
  });
}

const REPLAY = `replay=/demo/demo-session.tkrec&speed=${SPEED}&gifts=/demo/demo-gifts.json&transparent=1`;

/** Reads a widget in the page: `fn(widget, shadowRoot)`; the widget of case `name`, or window.tikcastWidget. */
const inWidget = (page, fn, name) =>
  page.evaluate(`((w) => (${fn})(w, w.shadowRoot))(${name ? `document.querySelector('[data-case="${name}"] > *')` : 'window.tikcastWidget'})`);

// ----------------------------------------------------------------- the cases

const want = expected();

/** Each case: a query string, an optional moment to screenshot, and what must show at the end. */
const CASES = [
  {
    name: 'chat',
    query: 'w=chat&max=100',
    async check(at) {
      const s = await at((w, r) => ({
        lines: [...r.querySelectorAll('.line:not(.emote-line)')].map((li) => ({
          id: li.dataset.msgId,
          nick: li.querySelector('.nick').textContent,
          text: li.querySelector('.text').textContent,
        })),
        emoteLines: r.querySelectorAll('.emote-line').length,
        emoteImages: r.querySelectorAll('.emote-line img.emote').length,
        inlineEmotes: r.querySelectorAll('.line:not(.emote-line) img.emote').length,
        badges: [...r.querySelectorAll('.badge')].map((b) => b.textContent),
      }));
      assert.deepEqual(s.lines.map(({ nick, text }) => ({ nick, text })), want.chats, 'every chat line once, in order, as text');
      assert.equal(new Set(s.lines.map((l) => l.id)).size, s.lines.length);
      assert.equal(s.emoteLines, want.emotes);
      assert.equal(s.emoteImages, want.emotes);
      assert.ok(s.inlineEmotes >= 1, 'emotes inside comments are images');
      for (const b of ['MOD', 'SUB', 'Lv12', 'Lv25']) assert.ok(s.badges.includes(b), `${b} in ${s.badges}`);
      const xss = s.lines.find((l) => l.text === want.xss.comment);
      assert.ok(xss, 'the XSS line is there, as text');
      assert.equal(xss.nick, 'Zed <i>');
    },
  },
  {
    name: 'chat-capped',
    query: 'w=chat&max=10&no-avatars=1',
    async check(at) {
      const s = await at((w, r) => [...r.querySelectorAll('.line')].map((li) => (li.classList.contains('emote-line') ? null : li.querySelector('.text').textContent)));
      assert.deepEqual(s, want.chatAndEmotes.slice(-10), 'the last 10 lines only');
      assert.equal(await at((w, r) => r.querySelectorAll('.line').length && r.querySelectorAll('.avatar').length), 0, 'no avatars');
    },
  },
  {
    name: 'gift-alerts',
    query: 'w=gift-alerts',
    // Alerts come and go every 125 ms here: gift-alerts-min has the screenshot.
    noShot: true,
    async check(at) {
      const shown = await at((w) => w.shown.map(({ nickname, giftId, count, giftName, imageUrl, diamonds }) => ({ nickname, giftId, count, giftName, imageUrl, diamonds })));
      assert.deepEqual(
        shown,
        want.gifts.map(({ nickname, giftId, count, giftName, imageUrl, diamonds }) => ({ nickname, giftId, count, giftName, imageUrl, diamonds })),
        'one alert per gift and per finished streak, final counts, names and pictures from the catalog',
      );
      assert.equal(await at((w) => w.queued + w.dropped), 0);
    },
  },
  {
    name: 'gift-alerts-min',
    // Alerts stay (10 min): the first is on screen, the others wait.
    query: 'w=gift-alerts&min-diamonds=100&duration=600000',
    async check(at) {
      const shown = await at((w) => [...w.shown, ...w.pending].map((a) => `${a.nickname} ${a.giftId} x${a.count}`));
      assert.equal(await at((w) => w.shown.length), 1);
      const onScreen = await at((w, r) => ({
        name: r.querySelector('.alert .gift-name').textContent,
        count: r.querySelector('.alert .count').textContent,
        image: r.querySelector('.alert .gift-image').getAttribute('src'),
      }));
      const big = want.gifts.filter((g) => g.diamonds >= 100);
      assert.ok(big.length > 0 && big.length < want.gifts.length);
      assert.deepEqual(shown, big.map((a) => `${a.nickname} ${a.giftId} x${a.count}`));
      assert.deepEqual(onScreen, { name: big[0].giftName, count: `x${big[0].count}`, image: big[0].imageUrl });
    },
  },
  ...[
    ['likes', 100, want.likes],
    ['diamonds', 5000, want.diamonds],
    ['follows', 10, want.follows],
    ['shares', 2, want.shares],
    ['members', 20, want.members],
  ].map(([metric, target, value]) => ({
    name: `goal-${metric}`,
    query: `w=goal&metric=${metric}&target=${target}`,
    async check(at) {
      const s = await at((w, r) => ({
        ...w.dataset,
        numbers: r.querySelector('.numbers').textContent,
        now: r.querySelector('[role=progressbar]').getAttribute('aria-valuenow'),
        width: r.querySelector('.fill').style.width,
      }));
      assert.equal(Number(s.value), value, `${metric} counted`);
      assert.equal(s.numbers, `${value.toLocaleString('en')} / ${target.toLocaleString('en')}`);
      assert.equal(Number(s.now), Math.min(value, target));
      assert.equal(s.width, `${(100 * Math.min(value, target)) / target}%`);
      assert.equal('reached' in s, value >= target);
    },
  })),
  {
    name: 'goal-repeat',
    query: 'w=goal&metric=likes&target=50&repeat=1&label=Tap%20tap',
    async check(at) {
      const s = await at((w, r) => ({ ...w.dataset, label: r.querySelector('.label').textContent }));
      assert.equal(Number(s.rounds), Math.floor(want.likes / 50));
      assert.equal(Number(s.value), want.likes % 50);
      assert.equal(s.label, 'Tap tap');
      // reset() starts from zero.
      await at((w) => w.reset());
      assert.equal(await at((w) => w.dataset.value), '0');
    },
  },
  {
    name: 'leaderboard',
    query: 'w=leaderboard&max=3',
    async check(at) {
      const s = await at((w, r) => ({
        entries: w.entries.map(({ nickname, diamonds, gifts }) => ({ nickname, diamonds, gifts })),
        rows: [...r.querySelectorAll('.row')].map((li) => `${li.querySelector('.rank').textContent}. ${li.querySelector('.nick').textContent} ${li.dataset.diamonds}`),
      }));
      assert.deepEqual(s.entries, want.leaderboard, 'diamonds per gifter from finished gifts, best first');
      assert.deepEqual(s.rows, want.leaderboard.slice(0, 3).map((e, i) => `${i + 1}. ${e.nickname} ${e.diamonds}`));
    },
  },
  {
    name: 'counter-viewers',
    query: 'w=counter&metric=viewers',
    async check(at) {
      assert.equal(await at((w) => Number(w.dataset.value)), want.viewers);
      assert.equal(await at((w, r) => r.querySelector('.number').textContent), want.viewers.toLocaleString('en'));
    },
  },
  {
    name: 'counter-likes-worker',
    query: 'w=counter&metric=likes&label=likes&worker=1',
    async check(at) {
      assert.equal(await at((w) => Number(w.dataset.value)), want.likes);
    },
  },
  {
    name: 'alerts',
    query: 'w=alerts&duration=600000&max=20',
    async check(at) {
      const s = await at((w, r) => ({
        counts: w.counts,
        shown: [...r.querySelectorAll('.alert')].map((a) => ({ kind: a.dataset.kind, nick: a.querySelector('.nick').textContent })),
      }));
      const count = (k) => want.alerts.filter((a) => a.kind === k).length;
      assert.deepEqual(s.counts, { follow: count('follow'), share: count('share'), subscribe: count('subscribe') });
      assert.deepEqual(s.shown, want.alerts, 'every alert, names as text (Zed <i> included)');
    },
  },
  {
    name: 'battle',
    query: 'w=battle&hide-after=0',
    async check(at, seen) {
      const s = await at((w, r) => ({
        ...w.dataset,
        names: [...r.querySelectorAll('.name')].map((n) => n.textContent),
        timer: r.querySelector('.timer').textContent,
        verdict: r.querySelector('.verdict').textContent,
      }));
      assert.equal(s.ours, String(want.battle.host));
      assert.equal(s.theirs, String(want.battle.opponent));
      assert.equal(s.verdict, want.battle.host > want.battle.opponent ? 'Victory!' : want.battle.host < want.battle.opponent ? 'Defeat' : 'Draw');
      assert.deepEqual(s.names, [want.host, want.rival(want.battleStart.opponent)]);
      assert.equal(s.timer, '0:00');
      assert.ok(Number(seen.maxSecondsLeft) <= want.battleStart.duration && Number(seen.maxSecondsLeft) >= want.battleStart.duration - 5, `timer started near ${want.battleStart.duration} s: ${seen.maxSecondsLeft}`);
    },
  },
  {
    name: 'event-log',
    query: 'w=event-log&max=500',
    async check(at) {
      const s = await at((w, r) => ({
        jsonl: w.toJsonLines(),
        shown: w.shown.length,
        list: (({ scrollTop, clientHeight, scrollHeight }) => ({ scrollTop, clientHeight, scrollHeight }))(r.querySelector('.list')),
        rowsInDom: r.querySelectorAll('.row').length,
        lastRow: [...r.querySelectorAll('.row')].at(-1).dataset.type,
      }));
      assert.ok(s.list.scrollHeight > s.list.clientHeight, `the rows overflow the list: ${JSON.stringify(s.list)}`);
      assert.ok(s.list.scrollTop + s.list.clientHeight >= s.list.scrollHeight - 2, `the list follows its end: ${JSON.stringify(s.list)}`);
      assert.equal(s.lastRow, 'streamEnd');
      // Virtual: only the rows in view (and a few more) are elements.
      assert.ok(s.rowsInDom < s.shown / 2, `${s.rowsInDom} row elements for ${s.shown} events`);
      // Scrolled from the top to the end, every event of the list shows once as a row at its
      // place (aria-posinset), its wire text as text.
      const walk = await at(async (w, r) => {
        const list = r.querySelector('.list');
        const frame = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
        const rows = new Map();
        const misplaced = [];
        const markup = [];
        list.scrollTop = 0;
        for (let step = 0; step < 2000; step++) {
          await frame();
          const top = list.getBoundingClientRect().top - list.scrollTop;
          for (const row of r.querySelectorAll('.row')) {
            const at = Number(row.getAttribute('aria-posinset'));
            const box = row.getBoundingClientRect();
            if (Math.abs(box.top - top - (at - 1) * box.height) > 1) misplaced.push(at);
            rows.set(at, `${row.dataset.type} ${row.querySelector('.text').textContent}`);
          }
          for (const e of r.querySelectorAll('img[src="x"], [onerror], i, b:not([class])')) markup.push(e.outerHTML.slice(0, 80));
          if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1) break;
          list.scrollTop += Math.floor(list.clientHeight / 2);
        }
        const size = Number(r.querySelector('.row').getAttribute('aria-setsize'));
        return { size, rows: Array.from({ length: size }, (_, i) => rows.get(i + 1) ?? null), misplaced, markup };
      });
      assert.equal(walk.size, s.shown);
      assert.deepEqual(walk.misplaced, [], 'each row at its place in the scrolled list');
      assert.deepEqual(walk.markup, [], 'no element made from wire text');
      assert.ok(!walk.rows.includes(null), 'every place of the list was drawn');
      assert.equal(walk.rows.at(-1), 'streamEnd ');
      assert.deepEqual(walk.rows.filter((x) => x.startsWith('chat ')), want.chats.map((c) => `chat ${c.nick}: ${c.text}`));
      const events = s.jsonl.trimEnd().split('\n').map((l) => JSON.parse(l));
      const of = (t) => events.filter((e) => e.type === t);
      assert.deepEqual(of('chat').map((e) => e.comment), want.chats.map((c) => c.text), 'every chat event exported');
      assert.equal(of('gift').length, want.gifts.length);
      assert.equal(of('follow').length, want.follows);
      assert.equal(of('streamEnd').length, 1);
      // The types filter, then the search box.
      const filtered = await at((w, r) => {
        w.setAttribute('types', 'chat,gift');
        const jsonl = w.toJsonLines();
        w.filter = 'Zed';
        return { jsonl, rows: [...r.querySelectorAll('.row')].map((e) => e.dataset.type + ' ' + e.querySelector('.text').textContent), zed: w.toJsonLines() };
      });
      const types = new Set(filtered.jsonl.trimEnd().split('\n').map((l) => JSON.parse(l).type));
      assert.deepEqual([...types].sort(), ['chat', 'gift']);
      const zedChats = want.chats.filter((c) => c.nick === 'Zed <i>');
      assert.deepEqual(filtered.rows, zedChats.map((c) => `chat Zed <i>: ${c.text}`));
      assert.equal(filtered.zed.trimEnd().split('\n').length, zedChats.length);
    },
  },
];

// ----------------------------------------------------------------- the tests

const why = existsSync(CHROMIUM) ? undefined : `SKIPPED: no Chromium at ${CHROMIUM}; set CHROMIUM`;
if (!existsSync(`${REPO}js/dist/widgets/index.js`)) throw new Error('js/dist/widgets is missing: run `npm run build` at the repository root first');
if (why) console.log(why);

test('widgets on the demo replay, in www/widget.html', { skip: why, timeout: 240_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const web = await startWebServer();
  t.after(() => web.stop());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--autoplay-policy=no-user-gesture-required'],
  });
  t.after(() => browser.close());

  // One page, every case a widget made from its query string by www/widget-query.js (what
  // widget.html does), all playing at once (about 120 s / SPEED).
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = watch(page);
  const t0 = Date.now();
  await page.goto(`http://${web.addr}/widget.html?embed=1&transparent=1`);
  await page.evaluate(
    async ({ cases, replay }) => {
      const { widgetFromQuery } = await import('/widget-query.js');
      for (const c of cases) {
        const box = document.createElement('div');
        box.dataset.case = c.name;
        box.style.cssText = 'width: 600px; min-height: 40px; margin: 8px 0;';
        box.append(widgetFromQuery(new URLSearchParams(`${c.query}&${replay}`)));
        document.body.append(box);
      }
      // The battle timer's readings, from the start of the battle on.
      const battle = document.querySelector('[data-case="battle"] > *');
      window.maxSecondsLeft = -1;
      new MutationObserver(() => {
        window.maxSecondsLeft = Math.max(window.maxSecondsLeft, Number(battle.dataset.secondsLeft ?? -1));
      }).observe(battle, { attributes: true, attributeFilter: ['data-seconds-left'] });
    },
    { cases: CASES.map(({ name, query }) => ({ name, query })), replay: REPLAY },
  );
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-case] > *')].every((w) => w.dataset.state === 'ended' && w.dataset.replay === 'done'),
    null,
    { timeout: 90_000, polling: 200 },
  );
  console.log(`# ${CASES.length} widgets played the demo session in ${Date.now() - t0} ms`);
  const seen = { maxSecondsLeft: await page.evaluate(() => window.maxSecondsLeft) };
  for (const c of CASES) {
    await t.test(c.name, async () => {
      await c.check((fn) => inWidget(page, fn, c.name), seen);
      if (!c.noShot) await page.locator(`[data-case="${c.name}"]`).screenshot({ path: `${ARTIFACTS}/widget-${c.name}.png` });
    });
  }
  await t.test('no wire text as markup anywhere, transparent page, no errors', async () => {
    assert.deepEqual(await injected(page), [], 'no element made from wire text');
    assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), 'rgba(0, 0, 0, 0)', 'transparent for OBS');
    assert.deepEqual(problems, [], 'no errors, warnings, failed requests or dialogs');
  });
  await page.close();
});

test('chat on a JSON relay: imDelete, roomPin, max; one connection shared by several widgets', { skip: why, timeout: 60_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const web = await startWebServer();
  t.after(() => web.stop());
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const sockets = [];
  wss.on('connection', (ws) => sockets.push(ws));
  const relay = `ws://127.0.0.1:${wss.address().port}/ws`;
  const user = (id, nickname) => ({ userId: id, uniqueId: `${nickname.toLowerCase().replace(/\W/g, '')}.json`, nickname });
  const chat = (msgId, u, comment) => ({ event: 'chat', data: { msgId, createTime: Date.now(), user: u, comment } });
  const send = (ws, m) => ws.send(JSON.stringify(m));
  const amy = user('501', 'Amy');
  const ben = user('502', 'Ben');
  const eve = user('503', 'Eve <b>');

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());

  await t.test('the relay attribute (www/widget.html): cap, removal by message and by user, pin', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    const problems = watch(page);
    await page.goto(`http://${web.addr}/widget.html?w=chat&relay=${encodeURIComponent(relay)}&uniqueId=json.host&max=3&gifts=/demo/demo-gifts.json`);
    const ws = await until(() => sockets[0], 'the page connects');
    const texts = () => inWidget(page, (w, r) => [...r.querySelectorAll('.line .text')].map((e) => e.textContent));
    const waitTexts = async (list) => {
      await page.waitForFunction((l) => JSON.stringify([...window.tikcastWidget.shadowRoot.querySelectorAll('.line .text')].map((e) => e.textContent)) === JSON.stringify(l), list, { timeout: 10_000 }).catch(() => {});
      assert.deepEqual(await texts(), list);
    };
    for (const [id, u, text] of [['1', amy, 'one'], ['2', ben, 'two'], ['3', eve, 'three'], ['4', amy, 'four'], ['5', eve, '<img src=x onerror=alert(1)>']]) send(ws, chat(id, u, text));
    await waitTexts(['three', 'four', '<img src=x onerror=alert(1)>']);
    send(ws, { event: 'imDelete', data: { msgId: '6', deleteMsgIds: ['4'], deleteUserIds: [] } });
    await waitTexts(['three', '<img src=x onerror=alert(1)>']);
    send(ws, { event: 'roomPin', data: { msgId: '7', action: 1, pinnedMsgId: '3', pinnedComment: '<b>read the rules</b>', pinnedUser: eve, displayDuration: 0 } });
    await page.waitForFunction(() => !window.tikcastWidget.shadowRoot.querySelector('.pinned').hidden, null, { timeout: 10_000 });
    const pin = await inWidget(page, (w, r) => ({ text: r.querySelector('.pinned .text').textContent, nick: r.querySelector('.pinned .nick').textContent }));
    assert.deepEqual(pin, { text: '<b>read the rules</b>', nick: 'Eve <b>' });
    await page.screenshot({ path: `${ARTIFACTS}/widget-chat-json-relay.png` });
    // Every message of Eve goes, and the pin of her message with it.
    send(ws, { event: 'imDelete', data: { msgId: '8', deleteMsgIds: ['3'], deleteUserIds: ['503'] } });
    await waitTexts([]);
    assert.equal(await inWidget(page, (w, r) => r.querySelector('.pinned').hidden), true);
    // A line on its own slides in, unless the viewer asked for reduced motion.
    send(ws, chat('9', amy, 'solo'));
    await waitTexts(['solo']);
    const animation = () => inWidget(page, (w, r) => getComputedStyle(r.querySelector('.line')).animationName);
    assert.equal(await animation(), 'in');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    assert.equal(await animation(), 'none');
    assert.equal(await inWidget(page, (w) => w.dataset.state), 'live');
    assert.deepEqual(await injected(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  await t.test('one connection handed to a chat, an event log and a leaderboard (the connection property)', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(`http://${web.addr}/widget.html`);
    const before = sockets.length;
    await page.evaluate(async (url) => {
      const { TikTokLiveConnection } = await import('/pkg/index.js');
      await import('/pkg/widgets/index.js');
      const conn = new TikTokLiveConnection('json.host', { relay: { url } });
      for (const tag of ['tikcast-chat', 'tikcast-event-log', 'tikcast-leaderboard']) {
        const w = document.createElement(tag);
        w.connection = conn;
        w.gifts = [{ id: '5655', name: 'Rose', diamondCount: 1, imageUrl: '/assets/gifts/rose.svg' }];
        document.body.append(w);
      }
      window.conn = conn;
      await conn.connect();
    }, relay);
    const ws = await until(() => sockets[before], 'the page connects');
    send(ws, chat('11', amy, 'shared hello'));
    const gift = (msgId, u, repeatCount, repeatEnd) => ({
      event: 'gift',
      data: { msgId, user: u, giftId: 5655, giftName: 'Rose', giftType: 1, diamondCount: 1, repeatCount, repeatEnd, groupId: `g${u.userId}` },
    });
    send(ws, gift('12', ben, 1, false));
    send(ws, gift('13', ben, 2, false));
    send(ws, gift('14', ben, 3, true));
    send(ws, gift('14', ben, 3, true)); // a resent message: counted once
    await page.waitForFunction(() => document.querySelector('tikcast-leaderboard').entries.length === 1, null, { timeout: 10_000 });
    const s = await page.evaluate(() => ({
      chat: [...document.querySelector('tikcast-chat').shadowRoot.querySelectorAll('.line .text')].map((e) => e.textContent),
      log: document.querySelector('tikcast-event-log').events.map((e) => e.type),
      board: document.querySelector('tikcast-leaderboard').entries,
      states: [...document.querySelectorAll('tikcast-chat, tikcast-event-log, tikcast-leaderboard')].map((w) => w.dataset.state),
    }));
    assert.deepEqual(s.chat, ['shared hello']);
    assert.deepEqual(s.board, [{ userId: '502', nickname: 'Ben', diamonds: 3, gifts: 1 }], 'one finished streak of 3 roses');
    assert.ok(s.log.includes('chat') && s.log.filter((x) => x === 'gift').length === 1, `${s.log}`);
    assert.deepEqual(s.states, ['live', 'live', 'live']);
    // Removing a widget leaves the connection to the others.
    await page.evaluate(() => {
      document.querySelector('tikcast-chat').remove();
      window.conn.disconnect();
    });
    assert.deepEqual(problems, []);
    await page.close();
  });

  await t.test('the JSON relay with worker=1: decoding and the JSON session in the worker, the same lines', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    const problems = watch(page);
    const before = sockets.length;
    await page.goto(`http://${web.addr}/widget.html?w=chat&relay=${encodeURIComponent(relay)}&uniqueId=json.host&max=3&worker=1&gifts=/demo/demo-gifts.json`);
    const ws = await until(() => sockets[before], 'the page connects');
    for (const [id, u, text] of [['21', amy, 'w1'], ['22', eve, '<img src=x onerror=alert(1)>'], ['21', amy, 'w1'], ['23', ben, 'w2']]) send(ws, chat(id, u, text));
    send(ws, { event: 'imDelete', data: { msgId: '24', deleteMsgIds: ['23'], deleteUserIds: [] } });
    await page.waitForFunction(() => window.tikcastWidget.shadowRoot.querySelectorAll('.line').length === 2, null, { timeout: 10_000 }).catch(() => {});
    const s = await inWidget(page, (w, r) => ({ texts: [...r.querySelectorAll('.line .text')].map((e) => e.textContent), nicks: [...r.querySelectorAll('.line .nick')].map((e) => e.textContent), state: w.dataset.state, worker: w.hasAttribute('worker') }));
    assert.deepEqual(s, { texts: ['w1', '<img src=x onerror=alert(1)>'], nicks: ['Amy', 'Eve <b>'], state: 'live', worker: true }, 'the resent message once, the deleted one gone, wire text as text');
    assert.deepEqual(await injected(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  await t.test('a pinned message with a display duration hides by itself; a new pin replaces the old', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    const problems = watch(page);
    const before = sockets.length;
    await page.goto(`http://${web.addr}/widget.html?w=chat&relay=${encodeURIComponent(relay)}&uniqueId=json.host&gifts=/demo/demo-gifts.json`);
    const ws = await until(() => sockets[before], 'the page connects');
    const pinned = () => inWidget(page, (w, r) => (r.querySelector('.pinned').hidden ? null : r.querySelector('.pinned .text').textContent));
    send(ws, { event: 'roomPin', data: { msgId: '31', action: 1, pinnedMsgId: '30', pinnedComment: 'first', pinnedUser: amy, displayDuration: 60 } });
    await page.waitForFunction(() => !window.tikcastWidget.shadowRoot.querySelector('.pinned').hidden, null, { timeout: 10_000 });
    assert.equal(await pinned(), 'first');
    const t0 = Date.now();
    send(ws, { event: 'roomPin', data: { msgId: '33', action: 1, pinnedMsgId: '32', pinnedComment: 'for one second', pinnedUser: ben, displayDuration: 1 } });
    await page.waitForFunction(() => window.tikcastWidget.shadowRoot.querySelector('.pinned .text')?.textContent === 'for one second', null, { timeout: 10_000 });
    await page.waitForFunction(() => window.tikcastWidget.shadowRoot.querySelector('.pinned').hidden, null, { timeout: 10_000 });
    const shownMs = Date.now() - t0;
    assert.ok(shownMs >= 900 && shownMs < 5000, `hidden after its display duration (1 s): ${shownMs} ms`);
    // The first pin's 60 s timer was replaced, not left to hide a later pin.
    assert.equal(await pinned(), null);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

test('other sources: signed-url (a TikTok-style socket, in a worker) and frames posted by the embedding page', { skip: why ?? mockMissing(), timeout: 60_000 }, async (t) => {
  const web = await startWebServer();
  t.after(() => web.stop());
  // The demo session's script sent by `tikcast mock` as a TikTok-style upstream.
  const mock = await startMock(['--script', `${REPO}tests/fixtures/demo-session.jsonl`, '--gifts', DEMO_GIFTS, '--rate', '0', '--batch', '8']);
  t.after(() => mock.stop());
  // A signing endpoint on another origin, as a streamer's own signer would be: it answers
  // the socket URL as JSON, with CORS.
  let signed = 0;
  const signer = createServer((req, res) => {
    signed++;
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(JSON.stringify({ url: mock.directUrl }));
  });
  await new Promise((r) => signer.listen(0, '127.0.0.1', r));
  t.after(() => signer.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const chatLines = (w, r) => [...r.querySelectorAll('.line:not(.emote-line)')].map((li) => ({ nick: li.querySelector('.nick').textContent, text: li.querySelector('.text').textContent }));

  await t.test('signed-url + room-id + worker=1 (www/widget.html)', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 600 } });
    const problems = watch(page);
    const sign = `http://127.0.0.1:${signer.address().port}/sign`;
    await page.goto(`http://${web.addr}/widget.html?w=chat&max=100&signedUrl=${encodeURIComponent(sign)}&roomId=${MOCK_ROOM_ID}&worker=1`);
    await page.waitForFunction((n) => window.tikcastWidget?.shadowRoot.querySelectorAll('.line:not(.emote-line)').length >= n, want.chats.length, { timeout: 20_000 }).catch(() => {});
    assert.deepEqual(await inWidget(page, chatLines), want.chats, 'every chat line of the session, in order, as text');
    assert.ok(signed >= 1, 'the signing endpoint was asked');
    await page.waitForFunction(() => window.tikcastWidget.dataset.state === 'ended', null, { timeout: 10_000 }).catch(() => {});
    assert.equal(await inWidget(page, (w) => w.dataset.state), 'ended', 'the session script ends the stream');
    assert.deepEqual(await injected(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  await t.test('frames=1: push frames posted by the embedding page (the demo recording) into an iframe', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 700 } });
    const problems = watch(page);
    await page.goto(`http://${web.addr}/widget.html?embed=1`);
    await page.evaluate(async () => {
      const frame = document.createElement('iframe');
      frame.style.cssText = 'width: 560px; height: 640px; border: 0;';
      frame.src = '/widget.html?w=chat&max=100&frames=1&transparent=1';
      document.body.append(frame);
      await new Promise((r) => frame.addEventListener('load', r, { once: true }));
      const { loadRecording } = await import('/pkg/widgets/index.js');
      const rec = await loadRecording('/demo/demo-session.tkrec');
      // Posted at once, some before the widget's connection is up: none may be lost.
      for (const r of rec.records) if (r.kind === 1) frame.contentWindow.postMessage({ type: 'tikcast-frame', bytes: r.body.buffer }, '*', [r.body.buffer]);
      window.frameWidget = () => frame.contentWindow.tikcastWidget;
    });
    await page.waitForFunction(() => window.frameWidget()?.dataset.state === 'ended', null, { timeout: 20_000 }).catch(() => {});
    const s = await page.evaluate(`((w) => ({ lines: (${chatLines})(w, w.shadowRoot), state: w.dataset.state }))(window.frameWidget())`);
    assert.deepEqual(s.lines, want.chats, 'every chat line of the recording, in order, as text');
    assert.equal(s.state, 'ended', 'the recording ends the stream');
    assert.deepEqual(problems, []);
    await page.close();
  });
});

test('gift alerts and leaderboard on `tikcast relay` replaying the demo session (frames relay, catalog from /api/gifts)', { skip: why ?? mockMissing(), timeout: 90_000 }, async (t) => {
  const web = await startWebServer();
  t.after(() => web.stop());
  const relay = await startRelay([
    '--listen', '127.0.0.1:0', '--upstream', `replay:${DEMO_RECORDING}`, '--speed', String(SPEED),
    '--no-auth', '--public-api', '--gifts', DEMO_GIFTS, '--allow-origin', `http://${web.addr}`,
  ]);
  t.after(() => relay.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems = watch(page);
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`http://${web.addr}/widget.html?embed=1&transparent=1`);
  // No `gifts` attribute: the names and pictures must come from the relay's catalog.
  await page.evaluate(async (url) => {
    const { widgetFromQuery } = await import('/widget-query.js');
    for (const w of ['gift-alerts&duration=0', 'leaderboard&max=10']) {
      document.body.append(widgetFromQuery(new URLSearchParams(`w=${w}&relay=${encodeURIComponent(url)}&uniqueId=demo.host`)));
    }
  }, relay.url);
  await page.waitForFunction(() => [...document.querySelectorAll('tikcast-gift-alerts, tikcast-leaderboard')].every((w) => w.dataset.state === 'ended'), null, { timeout: 60_000, polling: 200 });
  const s = await page.evaluate(() => ({
    shown: document.querySelector('tikcast-gift-alerts').shown.map(({ nickname, giftId, count, giftName, imageUrl, diamonds }) => ({ nickname, giftId, count, giftName, imageUrl, diamonds })),
    board: document.querySelector('tikcast-leaderboard').entries.map(({ nickname, diamonds, gifts }) => ({ nickname, diamonds, gifts })),
  }));
  assert.deepEqual(s.shown, want.gifts.map(({ nickname, giftId, count, giftName, imageUrl, diamonds }) => ({ nickname, giftId, count, giftName, imageUrl, diamonds })));
  assert.deepEqual(s.board, want.leaderboard);
  assert.ok(requests.includes('/api/gifts'), 'the catalog came from the relay');
  assert.deepEqual(problems, []);
});

test('event log: a virtual list that follows its end, keeps what a reader scrolled to in place, and stays capped', { skip: why, timeout: 60_000 }, async (t) => {
  const web = await startWebServer();
  t.after(() => web.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  const problems = watch(page);
  await page.goto(`http://${web.addr}/widget.html?embed=1`);
  // A stand-in connection (what the widget uses of one: `on` and `isConnected`) the test
  // feeds chat events through, N at a time.
  await page.evaluate(async () => {
    await import('/pkg/widgets/index.js');
    const listeners = [];
    const conn = { isConnected: true, on: (name, l) => (name === 'decodedData' && listeners.push(l), () => {}) };
    let n = 0;
    window.feed = async (count) => {
      for (let i = 0; i < count; i++) {
        n++;
        for (const l of listeners) l({ type: 'chat', msgId: `m${n}`, createTime: 1700000000000 + n, user: { uniqueId: 'u', nickname: 'U' }, comment: `line ${n}` });
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    };
    const w = document.createElement('tikcast-event-log');
    w.setAttribute('max', '200');
    w.style.cssText = 'display: block; height: 300px; width: 600px;';
    w.connection = conn;
    document.body.append(w);
    window.log = w;
    // What the reader sees: the first row whose top is in view, and the list's state.
    window.view = async () => {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const list = w.shadowRoot.querySelector('.list');
      const top = list.getBoundingClientRect().top;
      const rows = [...w.shadowRoot.querySelectorAll('.row')];
      const first = rows.find((row) => row.getBoundingClientRect().top >= top - 0.5);
      return {
        first: first && { at: Number(first.getAttribute('aria-posinset')), text: first.querySelector('.text').textContent },
        last: rows.at(-1)?.querySelector('.text').textContent,
        atEnd: list.scrollTop + list.clientHeight >= list.scrollHeight - 1,
        rowHeight: rows[0]?.getBoundingClientRect().height,
        elements: rows.length,
        skipped: rows.filter((row) => row.dataset.skipped).map((row) => [row.querySelector('.text').textContent, Number(row.dataset.skipped)]),
        contiguous: rows.every((row, i) => i === 0 || Number(row.getAttribute('aria-posinset')) === Number(rows[i - 1].getAttribute('aria-posinset')) + 1),
        shown: w.shown.length,
        events: w.events.length,
      };
    };
  });
  const view = () => page.evaluate(() => window.view());
  await page.evaluate(() => window.feed(150));
  let v = await view();
  assert.equal(v.last, 'U: line 150');
  assert.ok(v.atEnd, 'follows the end');
  assert.ok(v.elements < 40, `${v.elements} row elements for 150 events in a 300 px list`);
  // Scrolled up to line 80: 100 more events, 50 of the oldest leave (max 200); line 80 stays at the top of the view.
  await page.evaluate((h) => {
    window.log.shadowRoot.querySelector('.list').scrollTop = 79 * h;
  }, v.rowHeight);
  v = await view();
  assert.deepEqual(v.first, { at: 80, text: 'U: line 80' });
  await page.evaluate(() => window.feed(100));
  v = await view();
  assert.deepEqual(v.first, { at: 30, text: 'U: line 80' }, 'what the reader looked at stays in view (lines 1 to 50 left the list)');
  assert.equal(v.atEnd, false);
  assert.equal(v.shown, 200);
  // Its rows leave too: the view shows the oldest kept line.
  await page.evaluate(() => window.feed(100));
  v = await view();
  assert.deepEqual(v.first, { at: 1, text: 'U: line 151' });
  assert.equal(v.atEnd, false);
  // Back at the end, it follows again.
  await page.evaluate(() => {
    window.log.shadowRoot.querySelector('.list').scrollTop = 1e9;
  });
  await view();
  await page.evaluate(() => window.feed(10));
  v = await view();
  assert.equal(v.last, 'U: line 360');
  assert.ok(v.atEnd, 'follows the end again');
  assert.deepEqual([v.shown, v.events], [200, 360], 'the list capped at max, the events kept');
  assert.ok(v.contiguous);
  // A flood while following: one frame adds the newest 16 rows, a line marks the 24 left out.
  await page.evaluate(() => window.feed(40));
  v = await view();
  assert.equal(v.last, 'U: line 400');
  assert.deepEqual(v.skipped, [['U: line 385', 24]]);
  assert.equal(v.contiguous, false);
  // Scrolled up a little, the view is drawn afresh: every row in its place, none left out.
  await page.evaluate(() => {
    window.log.shadowRoot.querySelector('.list').scrollTop -= 30;
  });
  v = await view();
  assert.deepEqual([v.skipped, v.contiguous, v.atEnd], [[], true, false]);
  assert.deepEqual(problems, []);
});

test('gift alerts play their sound only when `sound` is set (a stub Audio counts every play)', { skip: why, timeout: 60_000 }, async (t) => {
  const web = await startWebServer();
  t.after(() => web.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems = watch(page);
  // Before any script of the page: Audio records what it is asked and plays nothing.
  await page.addInitScript(() => {
    window.audioLog = [];
    window.Audio = class {
      constructor(src) {
        this.src = src;
        this.volume = 1;
        window.audioLog.push({ src, played: false, audio: this });
      }
      play() {
        window.audioLog.find((a) => a.audio === this).played = true;
        window.audioLog.find((a) => a.audio === this).volume = this.volume;
        return Promise.resolve();
      }
    };
  });
  await page.goto(`http://${web.addr}/widget.html?embed=1&transparent=1`);
  await page.evaluate(async (replay) => {
    const { widgetFromQuery } = await import('/widget-query.js');
    for (const [name, q] of [['quiet', 'w=gift-alerts&duration=0'], ['loud', 'w=gift-alerts&duration=0&sound=/assets/alert.ogg&volume=0.25&min-diamonds=100']]) {
      const w = widgetFromQuery(new URLSearchParams(`${q}&${replay}`));
      w.dataset.name = name;
      document.body.append(w);
    }
  }, REPLAY);
  await page.waitForFunction(() => [...document.querySelectorAll('tikcast-gift-alerts')].every((w) => w.dataset.replay === 'done' && w.queued === 0), null, { timeout: 60_000, polling: 200 });
  await new Promise((r) => setTimeout(r, 200));
  const s = await page.evaluate(() => ({
    quiet: document.querySelector('[data-name=quiet]').shown.length,
    loud: document.querySelector('[data-name=loud]').shown.length,
    log: window.audioLog.map(({ src, played, volume }) => ({ path: new URL(src).pathname, played, volume })),
  }));
  const loud = want.gifts.filter((g) => g.diamonds >= 100).length;
  assert.equal(s.quiet, want.gifts.length);
  assert.equal(s.loud, loud);
  assert.ok(loud > 0 && loud < want.gifts.length, 'the filter leaves some gifts out');
  assert.deepEqual(s.log, Array.from({ length: loud }, () => ({ path: '/assets/alert.ogg', played: true, volume: 0.25 })), 'one play per alert of the widget with a sound, none for the other');
  assert.deepEqual(problems, []);
});

test('builder: the copied URL and the HTML snippet, opened in fresh pages, show the widget of the preview', { skip: why, timeout: 120_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const web = await startWebServer();
  t.after(() => web.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const problems = watch(page);
  await page.goto(`http://${web.addr}/builder.html`);
  await page.waitForFunction(() => window.tikcastBuilder?.ready);

  // The relay source first: the URL names the relay and the creator typed in.
  await page.selectOption('#widget', 'goal');
  await page.fill('#relay', 'wss://relay.example/ws');
  await page.fill('#uniqueId', '@some.creator');
  const relayUrl = new URL(await page.inputValue('#url'));
  assert.equal(relayUrl.pathname, '/widget.html');
  assert.deepEqual(Object.fromEntries(relayUrl.searchParams), { w: 'goal', relay: 'wss://relay.example/ws', uniqueId: 'some.creator', transparent: '1' });
  // A signed TikTok-style source.
  await page.check('input[name=source][value=signed]');
  await page.fill('#signedUrl', 'https://signer.example/sign?uniqueId=some.creator');
  await page.fill('#roomId', '7300000000000000042');
  assert.deepEqual(Object.fromEntries(new URL(await page.inputValue('#url')).searchParams), { w: 'goal', signedUrl: 'https://signer.example/sign?uniqueId=some.creator', roomId: '7300000000000000042', transparent: '1' });

  // A diamonds goal of 5,000 with an accent colour, on the demo replay.
  await page.selectOption('[data-option=metric]', 'diamonds');
  await page.fill('[data-option=target]', '5000');
  await page.fill('[data-option=label]', 'Gifts <3');
  await page.check('#accent-on');
  await page.fill('#speed', String(SPEED));
  await page.check('input[name=source][value=replay]');
  const { url, snippet, previewUrl } = await page.waitForFunction(
    () => {
      const b = window.tikcastBuilder;
      return b.previewUrl.includes('target=5000') && b.previewUrl.includes('speed=') && b.url.includes('replay=') && b;
    },
    null,
    { timeout: 10_000 },
  ).then((h) => h.jsonValue());
  assert.equal(new URL(url).searchParams.get('label'), 'Gifts <3');

  const read = (frameOrPage) =>
    frameOrPage.evaluate(() => {
      const w = document.querySelector('tikcast-goal');
      return {
        attributes: Object.fromEntries([...w.attributes].filter((a) => !a.name.startsWith('data-')).map((a) => [a.name, a.name === 'replay' || a.name === 'gifts' ? new URL(a.value, location.href).pathname : a.value])),
        value: w.dataset.value,
        label: w.shadowRoot.querySelector('.label').textContent,
        numbers: w.shadowRoot.querySelector('.numbers').textContent,
        accent: getComputedStyle(w).getPropertyValue('--tikcast-accent').trim(),
      };
    });
  const done = (frameOrPage) =>
    frameOrPage.waitForFunction(() => document.querySelector('tikcast-goal')?.dataset.replay === 'done', null, { timeout: 60_000, polling: 200 });

  // The preview plays in the builder's iframe.
  const frame = await until(() => page.frames().find((f) => f.url() === previewUrl), 'the preview loads');
  await done(frame);
  const preview = await read(frame);
  assert.equal(Number(preview.value), want.diamonds);
  assert.equal(preview.label, 'Gifts <3');
  assert.equal(preview.accent, '#fe2c55');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${ARTIFACTS}/widget-builder.png` });

  // The Copy buttons put exactly the URL and the snippet on the clipboard.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://${web.addr}` });
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  await page.click('#copy-url');
  await page.waitForFunction(() => /copied/i.test(document.getElementById('status').textContent), null, { timeout: 5_000 });
  assert.equal(await clipboard(), url, 'Copy (URL): the clipboard holds the URL shown');
  await page.evaluate(() => (document.getElementById('status').textContent = ''));
  await page.click('#copy-snippet');
  await page.waitForFunction(() => /copied/i.test(document.getElementById('status').textContent), null, { timeout: 5_000 });
  assert.equal(await clipboard(), snippet, 'Copy (snippet): the clipboard holds the snippet shown');

  // The copied URL in a fresh browser context: the same widget, the same settings, the same result.
  const context = await browser.newContext();
  const fresh = await context.newPage();
  const freshProblems = watch(fresh);
  await fresh.goto(url);
  await done(fresh);
  assert.deepEqual(await read(fresh), preview);

  // The snippet in a page of its own: its script, then its element.
  const [, src] = snippet.match(/<script type="module" src="([^"]+)"><\/script>/);
  const element = snippet.slice(snippet.indexOf('</script>') + '</script>'.length).trim();
  await fresh.goto(`http://${web.addr}/widget.html?embed=1`);
  await fresh.evaluate(
    async ({ src, element }) => {
      await import(src);
      document.body.insertAdjacentHTML('beforeend', element);
    },
    { src, element },
  );
  await done(fresh);
  assert.deepEqual(await read(fresh), preview);
  assert.deepEqual(await injected(fresh), []);
  assert.deepEqual([...problems, ...freshProblems], []);
  await context.close();
});

async function until(get, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = get();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}
