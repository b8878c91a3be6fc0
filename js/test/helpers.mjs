// Shared by the Node tests (js/test) and the browser smoke test (tests/browser): starting
// `tikcast mock`, minting relay JWTs, and reading delivered message ids. Not a test file
// itself (node --test runs it too, and finds nothing to do).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** `n` (a number or bigint, not negative) as protobuf varint bytes. */
export function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The mock's first msg id; message `i` has `FIRST_MSG_ID + i` (as a decimal string). */
export const FIRST_MSG_ID = 7400000000000000001n;

/** The mock room's id. */
export const MOCK_ROOM_ID = '7300000000000000001';

/** The `tikcast` binary (`cargo build -p tikcast`), or `$TIKCAST_BIN`. */
export const TIKCAST_BIN = process.env.TIKCAST_BIN ?? `${REPO}target/debug/tikcast`;

/** Why mock-backed tests cannot run here, or `undefined` when they can. */
export function mockMissing() {
  if (existsSync(TIKCAST_BIN)) return undefined;
  return `SKIPPED: no tikcast binary at ${TIKCAST_BIN}; run \`cargo build -p tikcast\` (scripts/test-js.sh does) or set TIKCAST_BIN`;
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `tikcast mock` on a free 127.0.0.1 port with `args`; it exits by itself after
 * `--max-seconds 90` at the latest. Resolves once it listens.
 */
export async function startMock(args = []) {
  const p = await startListening('mock', ['mock', '--listen', '127.0.0.1:0', '--max-seconds', '90', ...args]);
  return {
    ...p,
    relayUrl: `ws://${p.addr}/ws`,
    directUrl: `ws://${p.addr}/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=${MOCK_ROOM_ID}&compress=gzip`,
    /** GET /stats as an object. */
    async stats() {
      const r = await fetch(`http://${p.addr}/stats`);
      return r.json();
    },
  };
}

/**
 * Starts `tikcast relay` with `args` (give `--listen 127.0.0.1:0` or a fixed port and an
 * `--upstream`); it exits by itself after `--max-seconds 120` at the latest. Resolves
 * once it listens: `{ addr, url: 'ws://ADDR/ws', http: 'http://ADDR', log, stop, kill }`.
 */
export async function startRelay(args = []) {
  const p = await startListening('relay', ['relay', '--max-seconds', '120', ...args]);
  return { ...p, url: `ws://${p.addr}/ws`, http: `http://${p.addr}` };
}

/**
 * Starts scripts/serve.mjs (the overlay's static server) on a free port; it exits by
 * itself after 180 s at the latest. Resolves with `{ addr, stop }`.
 */
export async function startWebServer() {
  const child = spawn(process.execPath, [`${REPO}scripts/serve.mjs`, '--port', '0', '--max-seconds', '180'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const line = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve.mjs exited ${code}`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  return { addr: JSON.parse(line).listening, stop: () => child.kill('SIGTERM') };
}

/** The demo session recording and gift catalog (tests/fixtures). */
export const DEMO_RECORDING = `${REPO}tests/fixtures/demo-session.tkrec`;
export const DEMO_GIFTS = `${REPO}tests/fixtures/demo-gifts.json`;

/** Spawns `tikcast ARGS` and resolves once its first stdout line says where it listens. */
async function startListening(name, args) {
  const child = spawn(TIKCAST_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout });
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tikcast ${name} did not start in 10 s: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`tikcast ${name} exited ${code}: ${stderr}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).listening);
    });
  });
  const stopWith = async (signal) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return {
    addr,
    /** The process's stderr log so far (for failure messages). */
    log: () => stderr,
    stop: () => stopWith('SIGTERM'),
    /** Ends it abruptly (no close frames), as a crash would. */
    kill: () => stopWith('SIGKILL'),
  };
}

/** An HS256 JWT, as a relay's backend would mint one. */
export function jwt(secret, claims) {
  const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64(claims);
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Seconds since the epoch, an hour from now. */
export const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/**
 * The msg ids of decoded messages in delivery order, one per message: derived events
 * (`follow` after `social`, ...) share their source's id and are folded in; the
 * session's gift summaries (`gift`, `giftStreak`) and `likeAggregate` are left out, as
 * `giftRaw` already stands for each gift message.
 */
export function messageIds(events) {
  const ids = [];
  for (const e of events) {
    if (['gift', 'giftStreak', 'likeAggregate'].includes(e.type)) continue;
    if (ids[ids.length - 1] !== e.msgId) ids.push(e.msgId);
  }
  return ids;
}

/** `["7400000000000000001", ...]`: the ids of mock messages 0..n-1. */
export function expectedIds(n) {
  return Array.from({ length: n }, (_, i) => String(FIRST_MSG_ID + BigInt(i)));
}

/** Resolves when `check()` is truthy; rejects after `ms` with `what`. */
export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
