// One list of error codes: every code the package (js/src) or the wasm bindings
// (crates/tikcast-wasm, and the core session's give-up codes it passes on) can put on a
// TikcastError is in ERROR_CODES (and so in the TikcastErrorCode union), every listed
// code is produced somewhere, and the package README documents each one.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import test from 'node:test';

import { ERROR_CODES, TikcastError } from '../dist/node.js';
import { REPO } from './helpers.mjs';

const read = (dir, ext) =>
  readdirSync(`${REPO}${dir}`)
    .filter((f) => f.endsWith(ext) && !f.endsWith('.generated.ts'))
    .map((f) => [`${dir}/${f}`, readFileSync(`${REPO}${dir}/${f}`, 'utf8')]);

/**
 * Codes in sources: `new TikcastError('x'`, `code: 'x'`, `?? 'x'`, `404: 'x'` (a table by
 * HTTP status) (js); `error("x"` (the wasm bindings), `=> "x"` (the session's code functions).
 */
function producedCodes() {
  const found = new Map();
  const add = (code, where) => found.set(code, [...(found.get(code) ?? []), where]);
  const scan = (files, patterns) => {
    for (const [path, text] of files) {
      for (const re of patterns) for (const m of text.matchAll(re)) add(m[1], path);
    }
  };
  scan(read('js/src', '.ts'), [/TikcastError\(\s*'([a-z_]+)'/g, /\bcode: '([a-z_]+)'/g, /code \?\? '([a-z_]+)'/g, /\[\s*'([a-z_]+)',\s*`/g, /\b[1-5]\d\d: '([a-z_]+)'/g]);
  // The wasm bindings make every TikcastError with error::error("code", ...); its other
  // `=> "x"` matches name other things (state names, close classes).
  scan(read('crates/tikcast-wasm/src', '.rs'), [/\berror\(\s*"([a-z_]+)"/g]);
  // The session's give-up codes (GiveUpKind::code, GiveUp::code), which the driver's
  // `stopped` item turns into TikcastErrors.
  const session = readFileSync(`${REPO}crates/tikcast-core/src/session/mod.rs`, 'utf8');
  const codeFns = session.match(/pub fn code\(self\)[\s\S]*?\n {4}\}\n/g) ?? [];
  codeFns.push(...(session.match(/pub fn code\(&self\)[\s\S]*?\n {4}\}\n/g) ?? []));
  scan(codeFns.map((t) => ['session/mod.rs', t]), [/=> "([a-z_]+)"/g]);
  return found;
}

test('every produced error code is in ERROR_CODES, and every listed code is produced', () => {
  const found = producedCodes();
  // The scan really sees each layer (it cannot pass by finding nothing).
  for (const c of ['unknown_event', 'origin_refused', 'worker_failed', 'network_error', 'not_found', 'decode_failed', 'rate_limited', 'unreachable', 'stopped']) {
    assert.ok(found.has(c), `the scan finds ${c}`);
  }
  const listed = new Set(ERROR_CODES);
  const unlisted = [...found.keys()].filter((c) => !listed.has(c));
  assert.deepEqual(unlisted, [], `codes missing from ERROR_CODES (js/src/errors.ts): ${unlisted.map((c) => `${c} (${found.get(c)})`)}`);
  const unused = ERROR_CODES.filter((c) => !found.has(c));
  assert.deepEqual(unused, [], 'codes nothing produces');
});

test('the package README documents every code', () => {
  const readme = readFileSync(`${REPO}js/README.md`, 'utf8');
  const table = readme.slice(readme.indexOf('## Errors'));
  for (const c of ERROR_CODES) assert.match(table, new RegExp(`\\| \`${c}\` \\|`), `js/README.md ## Errors lists ${c}`);
});

test('TikcastError.from keeps known codes and turns unknown ones into internal', () => {
  assert.equal(TikcastError.from(Object.assign(new Error('x'), { code: 'invalid_auth' })).code, 'invalid_auth');
  const odd = TikcastError.from(Object.assign(new Error('y'), { code: 'made_up' }));
  assert.deepEqual([odd.code, odd.detail, odd.message], ['internal', 'made_up', 'y']);
});
