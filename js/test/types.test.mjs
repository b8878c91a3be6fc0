// The shipped .d.ts under the settings users have: `tsc --strict`, skipLibCheck false,
// the default lib of an ES2022 target and the newer ES libs (no Node types: a browser
// project), over the ported v2 README examples (whose @ts-expect-error lines prove that
// `{}`, two transports, server-only options and misspelled events do not compile).
// Needs js/dist (npm run build).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'node:test';
import { promisify } from 'node:util';

import { REPO } from './helpers.mjs';

const run = promisify(execFile);
const TSC = `${REPO}js/node_modules/.bin/tsc`;
const why = existsSync(`${REPO}js/dist/index.d.ts`) ? undefined : 'SKIPPED: js/dist is missing; run `npm run build`';
if (why) throw new Error(why);

async function tsc(args) {
  try {
    await run(TSC, args, { cwd: `${REPO}js` });
    return '';
  } catch (e) {
    return `${e.stdout}${e.stderr}` || String(e);
  }
}

test('tsc --strict, skipLibCheck false, lib ES2022 / ES2023 / ES2024 / ESNext + DOM: the package types and the v2 examples', { timeout: 180_000 }, async () => {
  // In parallel: each run is one single-threaded tsc (the usage file with Node types is
  // checked by scripts/test-js.sh and `npm run typecheck`).
  const libs = ['ES2022', 'ES2023', 'ES2024', 'ESNext'];
  const out = await Promise.all(libs.map((lib) => tsc(['--noEmit', '-p', 'test/v2/tsconfig.json', '--lib', `${lib},DOM`])));
  assert.deepEqual(Object.fromEntries(libs.map((l, i) => [l, out[i]])), Object.fromEntries(libs.map((l) => [l, ''])));
});
