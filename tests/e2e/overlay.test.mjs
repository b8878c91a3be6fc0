// The overlay (www/) end to end in headless Chromium (playwright-core): `tikcast relay`
// replays the demo session (tests/fixtures/demo-session.tkrec) fast, scripts/serve.mjs
// serves the page and the built package, and the page must show what the session script
// (tests/fixtures/demo-session.jsonl) put in: every chat line once and as text, each
// gift streak settled to its final count, the like total, the viewer count, the battle
// result, the toasts and the stream end. Then the relay is killed and restarted mid-session
// (reconnecting shown, no chat line twice), the recording is played in the page
// (`?replay=`), and the layout is checked from 320 px to full HD. Screenshots go to
// tests/artifacts/.
//
// Run: `node --test tests/e2e/` after `npm run build` and `cargo build -p tikcast`
// (scripts/test-js.sh does all of it). CHROMIUM overrides the browser path.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import test from 'node:test';

import { DEMO_GIFTS, DEMO_RECORDING, REPO, mockMissing, startRelay, startWebServer } from '../../js/test/helpers.mjs';

const { chromium } = createRequire(`${REPO}js/package.json`)('playwright-core');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = `${REPO}tests/artifacts`;
const SPEED = 15;

// ----------------------------------------------------------------- what the script says

function expected() {
  const lines = readFileSync(`${REPO}tests/fixtures/demo-session.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => JSON.parse(l));
  const users = new Map(lines.filter((l) => l.type === 'user').map((u) => [u.handle, u]));
  const timed = lines.filter((l) => typeof l.t === 'number').sort((a, b) => a.t - b.t);
  const of = (type) => timed.filter((l) => l.type === type);
  const nick = (handle) => users.get(handle).nickname;
  return {
    room: lines.find((l) => l.type === 'room'),
    chats: of('chat').map((c) => ({ nick: nick(c.user), text: c.comment })),
    emotes: of('emote').length,
    // One settled line per single gift and per streak, in the order they started.
    gifts: timed
      .filter((l) => l.type === 'gift' || l.type === 'streak')
      .map((g) => ({ nick: nick(g.user), giftId: String(g.giftId), count: g.type === 'streak' ? g.count : 1 })),
    likes: of('like').reduce((sum, l) => sum + (l.count ?? 1), 0),
    viewers: of('roomUser').at(-1).viewers,
    battle: of('battleEnd').at(-1),
    toasts: { follow: of('follow').length, share: of('share').length, subscribe: of('subscribe').length },
    xss: of('chat').find((c) => c.comment.includes('<img')),
  };
}

// ----------------------------------------------------------------- processes

function relayArgs(port, webAddr, speed = SPEED) {
  return [
    '--listen', `127.0.0.1:${port}`,
    '--upstream', `replay:${DEMO_RECORDING}`,
    '--speed', String(speed),
    '--no-auth', '--public-api', '--gifts', DEMO_GIFTS,
    '--allow-origin', `http://${webAddr}`,
  ];
}

// ----------------------------------------------------------------- page helpers

/** Everything the overlay shows, read from the DOM. */
function snapshot(page) {
  return page.evaluate(() => {
    const text = (sel, root = document) => root.querySelector(sel)?.textContent ?? '';
    return {
      chats: [...document.querySelectorAll('#chat .chat-line:not(.emote-line)')].map((li) => ({
        id: li.dataset.msgId,
        nick: text('.nick', li),
        text: text('.text', li),
      })),
      emoteLines: document.querySelectorAll('#chat .emote-line').length,
      gifts: [...document.querySelectorAll('#gifts .gift')].map((li) => ({
        nick: text('.nick', li),
        giftId: li.dataset.giftId,
        count: Number(li.dataset.count),
        final: li.classList.contains('final'),
        label: text('.count', li),
        name: text('.gift-name', li),
        image: li.querySelector('.gift-image')?.getAttribute('src') ?? null,
      })),
      likes: Number(document.getElementById('likes').dataset.value),
      viewers: Number(document.getElementById('viewers').dataset.value),
      status: document.getElementById('status').dataset.state,
      endedShown: !document.getElementById('ended').hidden,
      title: text('#room-title'),
      battle: { ...document.getElementById('battle').dataset, verdict: text('#battle-verdict') },
      states: window.tikcastOverlay.states,
      toasts: window.tikcastOverlay.toasts,
      errors: window.tikcastOverlay.errors,
      badges: [...document.querySelectorAll('#chat .badge')].map((b) => b.textContent),
    };
  });
}

/** Fails the test on page errors, console errors or warnings, failed requests and dialogs. */
function watch(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return problems;
}

const ended = (page, ms = 40_000) =>
  page.waitForFunction(() => window.tikcastOverlay?.ended && window.tikcastOverlay.state === 'ended', null, { timeout: ms });

function checkAgainstScript(s, want) {
  assert.deepEqual(s.chats.map(({ nick, text }) => ({ nick, text })), want.chats, 'every chat line once, in order, as text');
  assert.equal(new Set(s.chats.map((c) => c.id)).size, s.chats.length, 'no chat line twice');
  assert.equal(s.emoteLines, want.emotes);
  assert.equal(s.likes, want.likes, 'like total');
  assert.equal(s.viewers, want.viewers, 'viewer count');
  assert.equal(s.status, 'ended');
  assert.ok(s.endedShown, 'the stream-ended banner shows');
}

// ----------------------------------------------------------------- the tests

const why = existsSync(CHROMIUM) ? mockMissing() : `SKIPPED: no Chromium at ${CHROMIUM}; set CHROMIUM`;
if (!existsSync(`${REPO}js/dist/index.js`)) throw new Error('js/dist is missing: run `npm run build` at the repository root first');
if (why) console.log(why);

test('the overlay against the relay replaying the demo session', { skip: why, timeout: 180_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const want = expected();
  const web = await startWebServer();
  t.after(() => web.stop());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => browser.close());

  await t.test('shows what the script put in: chat, streaks, likes, viewers, battle, toasts, stream end', async (st) => {
    const relay = await startRelay(relayArgs(0, web.addr));
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const problems = watch(page);
      const requests = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`http://${web.addr}/?relay=${encodeURIComponent(relay.url)}&uniqueId=demo.host&maxGifts=50`);
      // Mid-battle, with a streak running.
      await page.waitForFunction(() => Number(document.getElementById('battle').dataset.ours) > 1000, null, { timeout: 30_000 });
      await page.screenshot({ path: `${ARTIFACTS}/overlay-battle.png` });
      await ended(page);
      const s = await snapshot(page);
      await page.screenshot({ path: `${ARTIFACTS}/overlay-demo.png` });

      checkAgainstScript(s, want);
      // Gift streaks: one settled line each, with the final count, name and picture from
      // the relay's catalog (fetchAvailableGifts).
      const catalog = new Map(JSON.parse(readFileSync(DEMO_GIFTS, 'utf8')).map((g) => [String(g.id), g]));
      assert.deepEqual(s.gifts.map(({ nick, giftId, count }) => ({ nick, giftId, count })), want.gifts, 'one line per streak, final counts');
      for (const g of s.gifts) {
        assert.ok(g.final, `settled: ${JSON.stringify(g)}`);
        assert.equal(g.label, `x${g.count}`);
        assert.equal(g.name, `sent ${catalog.get(g.giftId).name}`);
        assert.equal(g.image, catalog.get(g.giftId).imageUrl);
      }
      // Room details from fetchRoomInfo; badges and moderator marks.
      assert.equal(s.title, want.room.title);
      assert.ok(s.badges.includes('MOD') && s.badges.includes('SUB') && s.badges.includes('Lv12'), `${s.badges}`);
      // The battle's final scores and verdict.
      assert.equal(s.battle.ours, String(want.battle.host));
      assert.equal(s.battle.theirs, String(want.battle.opponent));
      assert.equal(s.battle.state, 'finished');
      assert.equal(s.battle.verdict, want.battle.host > want.battle.opponent ? 'Victory!' : want.battle.host < want.battle.opponent ? 'Defeat' : 'Draw');
      assert.deepEqual(s.toasts, want.toasts);
      assert.deepEqual(s.errors, []);
      // The relay's close after the end (4005) is not shown as a fault.
      assert.deepEqual(s.states, ['connecting', 'live', 'ended']);
      // Nothing but the page, the package, the relay and local images.
      const origins = new Set(requests.map((u) => new URL(u).host));
      assert.deepEqual([...origins].sort(), [web.addr, relay.addr].sort(), [...origins].join(', '));
      assert.ok(requests.some((u) => u.endsWith('/api/gifts')) && requests.some((u) => u.endsWith('/api/rooms/demo.host')));
      assert.deepEqual(problems, [], 'no errors, warnings, failed requests or dialogs');

      // The markup in chat (and in a nickname) is text: no element made from it.
      await st.test('a chat message <img src=x onerror=alert(1)> renders as text', async () => {
        const line = page.locator('#chat .chat-line', { hasText: want.xss.comment });
        assert.equal(await line.count(), 1);
        assert.equal(await line.locator('.text').textContent(), want.xss.comment);
        assert.equal(await line.locator('.nick').textContent(), 'Zed <i>');
        assert.ok(await line.locator('.text').isVisible());
        assert.equal(await page.locator('img[src="x"]').count(), 0);
        assert.equal(await page.locator('#chat i, #chat b, #chat [onerror]').count(), 0);
        await line.scrollIntoViewIfNeeded();
        await line.screenshot({ path: `${ARTIFACTS}/overlay-xss-line.png` });
      });
      await page.close();
    } finally {
      await relay.stop();
    }
  });

  await t.test('relay killed and restarted mid-session: reconnecting, recovery, no chat line twice', async () => {
    // Slower, so the outage lands mid-session; the restarted relay gets the same port.
    let relay = await startRelay(relayArgs(0, web.addr, 10));
    const port = relay.addr.split(':').pop();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const problems = watch(page);
      await page.goto(`http://${web.addr}/?relay=${encodeURIComponent(relay.url)}&uniqueId=demo.host&maxGifts=50`);
      await page.waitForFunction(() => document.querySelectorAll('#chat .chat-line').length >= 8, null, { timeout: 30_000 });
      await relay.kill();
      await page.waitForFunction(() => window.tikcastOverlay.state === 'reconnecting', null, { timeout: 10_000 });
      await page.screenshot({ path: `${ARTIFACTS}/overlay-reconnecting.png` });
      await new Promise((r) => setTimeout(r, 1500));
      relay = await startRelay(relayArgs(port, web.addr, 10));
      await page.waitForFunction(() => window.tikcastOverlay.state === 'live', null, { timeout: 30_000 });
      await ended(page, 60_000);
      const s = await snapshot(page);
      checkAgainstScript(s, want);
      const i = s.states.indexOf('reconnecting');
      assert.ok(i > 0 && s.states.slice(i).includes('live'), `reconnecting, then live again: ${s.states}`);
      // Console noise is expected here (the browser logs the refused sockets); only the
      // page's own errors count.
      assert.deepEqual(problems.filter((p) => p.startsWith('pageerror') || p.startsWith('dialog')), []);
      await page.close();
    } finally {
      await relay.stop();
    }
  });

  await t.test('?replay= plays the recording in the page (frames transport), transparent, 320 px to full HD', async () => {
    const page = await browser.newPage({ viewport: { width: 320, height: 640 } });
    const problems = watch(page);
    await page.goto(`http://${web.addr}/?replay=/demo/demo-session.tkrec&speed=${SPEED * 2}&transparent=1&maxGifts=50`);
    await ended(page);
    const s = await snapshot(page);
    checkAgainstScript(s, want);
    assert.deepEqual(s.gifts.map(({ nick, giftId, count }) => ({ nick, giftId, count })), want.gifts);
    assert.deepEqual(problems, []);
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgba(0, 0, 0, 0)');
    for (const [width, height] of [[320, 640], [768, 432], [1920, 1080]]) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${ARTIFACTS}/overlay-${width}.png` });
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('#overlay *')]
          .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest('.chat, .gifts, .toasts'))
          .map((e) => `${e.tagName.toLowerCase()}.${e.className || e.id}`),
      );
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0 && wide.length === 0, `nothing sticks out at ${width} px (${overflow} px: ${wide})`);
    }
    await page.close();
  });
});
