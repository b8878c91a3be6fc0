// Wasm speed of each reader candidate in Node (no wasm-bindgen: the raw exports of
// reader-sink's wasm_exports). Frames are inflated once up front with node:zlib; only
// the `decode()` calls are timed (the batch is copied into wasm memory before each).
// Usage: node wasm-speed.mjs [frames.bin] [frames to use] [rounds]   (after ./size.sh)
import fs from 'node:fs';
import zlib from 'node:zlib';

const [path = '/tmp/frames.bin', take = '500', roundsArg = '7'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const dir = new URL('../../target/reader-candidates/wasm32-unknown-unknown/opt/', import.meta.url);

function varint(b, at) {
  let v = 0, mul = 1;
  for (;;) {
    const x = b[at.i++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 128;
  }
}

// PushFrame field 8 (payload) of each record (u32 LE length + frame).
const raw = fs.readFileSync(path);
const batches = [];
for (let at = 0; at < raw.length && batches.length < Number(take);) {
  const len = raw.readUInt32LE(at);
  const frame = raw.subarray(at + 4, at + 4 + len);
  at += 4 + len;
  const p = { i: 0 };
  while (p.i < frame.length) {
    const key = varint(frame, p);
    const wire = key & 7;
    if (wire === 0) { varint(frame, p); continue; }
    const n = varint(frame, p);
    if (Math.floor(key / 8) === 8) batches.push(zlib.gunzipSync(frame.subarray(p.i, p.i + n)));
    p.i += n;
  }
}

const rows = [];
for (const c of ['none', 'prost', 'femtopb', 'micropb', 'quick', 'table', 'table-checked', 'table-all']) {
  for (const profile of ['size', 'release']) {
    const file = new URL(`cand_${c}.${profile}.wasm`, dir);
    if (!fs.existsSync(file)) continue;
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(file), {});
    const { buf, decode, memory } = instance.exports;
    let best = Infinity, tape = 0;
    for (let r = 0; r < rounds; r++) {
      let t = 0;
      tape = 0;
      for (const b of batches) {
        const ptr = buf(b.length);
        new Uint8Array(memory.buffer, ptr, b.length).set(b);
        const t0 = process.hrtime.bigint();
        const n = decode();
        t += Number(process.hrtime.bigint() - t0);
        if (n === 0xffffffff) throw new Error(`${c}: bad batch`);
        tape += n;
      }
      best = Math.min(best, t);
    }
    rows.push({ c, level: profile === 'size' ? 'z' : '3', fps: batches.length / (best / 1e9), us: best / 1e3 / batches.length, tape });
  }
}
console.log(`Node ${process.version}, ${batches.length} frames, best of ${rounds}\n`);
console.log('| candidate | opt-level | frames/s (reader only) | µs/frame | tape bytes |\n|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.c} | ${r.level} | ${r.fps.toFixed(0)} | ${r.us.toFixed(1)} | ${r.tape} |`);
