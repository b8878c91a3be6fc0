// The shipped .d.ts under the settings users have: `tsc --strict`, skipLibCheck false,
// the default lib of an ES2022 target and the newer ES libs (no Node types: a browser
// project), over the ported v2 README examples (whose @ts-expect-error lines prove that
// `{}`, two transports, server-only options and misspelled events do not compile); and
// the Node-typed usage file js/test/usage.ts. Needs js/dist (npm run build).
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

for (const lib of ['ES2022', 'ES2023', 'ES2024', 'ESNext']) {
  test(`tsc --strict, lib ${lib} + DOM, skipLibCheck false: the package types and the v2 examples`, { timeout: 120_000 }, async () => {
    assert.equal(await tsc(['--noEmit', '-p', 'test/v2/tsconfig.json', '--lib', `${lib},DOM`]), '');
  });
}

test('tsc --strict with Node types: test/usage.ts', { timeout: 120_000 }, async () => {
  assert.equal(await tsc(['--noEmit', '-p', 'test/tsconfig.json']), '');
});
