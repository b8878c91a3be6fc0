#!/usr/bin/env node
// Remakes the widget screenshots of the README (docs/widgets/*.png): every widget of
// tikcast/widgets plays the demo recording in one headless Chromium page (www/widget.html's
// query strings, 20× speed, alerts kept on screen) and is captured at the stream end.
//
//   node scripts/widget-screenshots.mjs      (after npm run build; CHROMIUM overrides the browser)
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const { chromium } = createRequire(`${REPO}js/package.json`)('playwright-core');
const OUT = `${REPO}docs/widgets`;
const SHOTS = [
  ['chat', 'w=chat&max=30', 420],
  ['gift-alerts', 'w=gift-alerts&duration=600000&min-diamonds=500', 420],
  ['goal', 'w=goal&metric=likes&target=300&label=Like%20goal', 420],
  ['leaderboard', 'w=leaderboard&max=5', 360],
  ['counter', 'w=counter&metric=viewers', 220],
  ['alerts', 'w=alerts&duration=600000&max=3', 420],
  ['battle', 'w=battle&hide-after=0', 520],
  ['event-log', 'w=event-log&max=40', 720],
];

const server = spawn(process.execPath, [`${REPO}scripts/serve.mjs`, '--port', '0', '--max-seconds', '120'], { stdio: ['ignore', 'pipe', 'inherit'] });
const addr = JSON.parse(await new Promise((r) => createInterface({ input: server.stdout }).once('line', r))).listening;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 1800 }, deviceScaleFactor: 1 });
  await page.goto(`http://${addr}/widget.html?embed=1`);
  await page.evaluate(async (shots) => {
    const { widgetFromQuery } = await import('/widget-query.js');
    document.body.style.cssText = 'display: grid; gap: 16px; justify-items: start;';
    for (const [name, query, width] of shots) {
      const box = document.createElement('div');
      box.dataset.shot = name;
      box.style.cssText = `width: ${width}px; padding: 10px; background: #2b2f3a;`;
      box.append(widgetFromQuery(new URLSearchParams(`${query}&replay=/demo/demo-session.tkrec&gifts=/demo/demo-gifts.json&speed=20`)));
      document.body.append(box);
    }
  }, SHOTS);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-shot] > *')].every((w) => w.dataset.replay === 'done'), null, { timeout: 60_000, polling: 250 });
  await page.waitForTimeout(500);
  mkdirSync(OUT, { recursive: true });
  for (const [name] of SHOTS) {
    await page.locator(`[data-shot="${name}"]`).screenshot({ path: `${OUT}/${name}.png` });
    console.log(`docs/widgets/${name}.png`);
  }
} finally {
  await browser.close();
  server.kill();
}
