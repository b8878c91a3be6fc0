// The event objects the package builds (wasm → one tape per batch → JS objects, see
// crates/tikcast-wasm/src/tape.rs) must be exactly what `JSON.parse` of the canonical
// event JSON gives: `tikcast decode` (native, serde_json) is the reference. Every
// message of the real corpus goes through both, packed into plain push frames.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';

import { decodeFrame, init } from 'tikcast';
import { REPO, TIKCAST_BIN, mockMissing, varint } from './helpers.mjs';

const CORPUS = process.env.TIKCAST_CORPUS ?? join(REPO, '..', 'shared', 'corpus');

function field(num, bytes) {
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
}

const utf8 = (s) => [...new TextEncoder().encode(s)];

/** A plain (not gzipped) push frame of `messages` ([method, payload, msgId]). */
function frame(messages) {
  const batch = [];
  for (const [method, payload, id] of messages) {
    const msg = [...field(1, utf8(method)), ...field(2, payload), 3 << 3, ...varint(id)];
    batch.push(...field(1, msg));
  }
  return new Uint8Array([...field(7, utf8('msg')), ...field(8, batch)]);
}

/** The canonical JSON of every event of `bytes`, through the native CLI. */
function reference(bytes, dir) {
  const path = join(dir, 'frame.bin');
  writeFileSync(path, bytes);
  const out = execFileSync(TIKCAST_BIN, ['decode', path], { maxBuffer: 1 << 28 }).toString();
  return out.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

test('decodeFrame: the demo frame\'s objects equal the canonical JSON', { skip: mockMissing() }, async () => {
  await init();
  const bytes = new Uint8Array(readFileSync(`${REPO}tests/fixtures/demo-frame.bin`));
  const dir = mkdtempSync(join(tmpdir(), 'tikcast-objects-'));
  try {
    const want = reference(bytes, dir);
    assert.equal(want.length, 14);
    assert.deepStrictEqual(decodeFrame(bytes).events, want);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const corpusFiles = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith('.json')) : [];
const corpusMissing = corpusFiles.length === 0 ? `SKIPPED: no corpus at ${CORPUS}; set TIKCAST_CORPUS` : undefined;
if (corpusMissing && process.env.TIKCAST_REQUIRE_CORPUS === '1') {
  throw new Error(`corpus not found at ${CORPUS} (TIKCAST_REQUIRE_CORPUS=1)`);
}

test('decodeFrame: every corpus message\'s objects equal the canonical JSON', { skip: mockMissing() ?? corpusMissing }, async () => {
  await init();
  const dir = mkdtempSync(join(tmpdir(), 'tikcast-objects-'));
  let messages = 0;
  let events = 0;
  const types = new Set();
  try {
    let id = 7500000000000000001n;
    for (const file of corpusFiles.sort()) {
      const all = [];
      for (const [method, samples] of Object.entries(JSON.parse(readFileSync(join(CORPUS, file), 'utf8')))) {
        for (const s of samples) all.push([method, [...Buffer.from(s.eventData, 'base64')], id++]);
      }
      // Frames of at most 200 messages stay far below the 4 MiB frame cap.
      for (let i = 0; i < all.length; i += 200) {
        const bytes = frame(all.slice(i, i + 200));
        const want = reference(bytes, dir);
        const got = decodeFrame(bytes).events;
        assert.equal(got.length, want.length, `${file}: event count`);
        for (let j = 0; j < want.length; j++) {
          assert.deepStrictEqual(got[j], want[j], `${file}: event ${j} of frame ${i / 200} (${want[j].type})`);
          types.add(want[j].type);
        }
        messages += Math.min(200, all.length - i);
        events += want.length;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`objects: ${messages} corpus messages, ${events} events of ${types.size} types equal the canonical JSON`);
  assert.equal(messages, 2933);
  assert.ok(types.size >= 70, `only ${types.size} event types`);
});
