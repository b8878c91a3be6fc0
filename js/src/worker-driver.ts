// The page side of `worker: true`: forwards commands to the worker, batches back. The
// page never fetches or compiles the wasm here: it tells the worker where it is (a URL,
// or the inline bytes, transferred) and the worker loads it.
import type { Driver, TikTokLiveConnectionOptions } from './connection.js';
import { wasmOptions } from './connection.js';
import { TikcastError } from './errors.js';
import { assetHint, createWorker, wasmForWorker } from './loader.js';

type Batch = Array<Record<string, any>>;

/** A stopped state carrying `error`, as the session reports its own errors. */
function stoppedBatch(code: string, message: string): Batch {
  return [{ type: 'state', state: 'stopped', code, closeCode: null, message, retryAfterMs: null, error: { code, message } }];
}

export async function workerDriver(
  uniqueId: string,
  o: TikTokLiveConnectionOptions,
  onBatch: (batch: Batch) => void,
): Promise<Driver> {
  if (typeof Worker === 'undefined') {
    throw new TikcastError('invalid_options', 'worker: true needs Web Workers (a browser); drop the option here');
  }
  const { getJwt, signedUrl, WebSocket: _ws, ...options } = wasmOptions(uniqueId, o) as Record<string, any>;
  const wasm = await wasmForWorker();
  let worker: Worker;
  try {
    worker = createWorker();
  } catch (e) {
    wasm.share();
    if (e instanceof TikcastError) throw e;
    // e.g. an iife bundle, where `new URL('./worker.js', import.meta.url)` is invalid.
    throw new TikcastError('worker_failed', `cannot start the tikcast worker: ${(e as Error)?.message ?? e}; ${assetHint()}`);
  }
  // A worker that compiles the module hands it back (`module`), for the page's next workers.
  const shareModule = wasm.share;
  let failed = false;
  let nextStats = 1;
  const stats = new Map<number, (s: Record<string, number>) => void>();
  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    shareModule();
    for (const resolve of stats.values()) resolve({});
    stats.clear();
    onBatch(stoppedBatch('worker_failed', message));
  };
  worker.onmessage = async (ev: MessageEvent<Record<string, any>>) => {
    const m = ev.data;
    if (m.cmd === 'batch') {
      // A start that failed before handing the module back: later workers load their own.
      if (m.batch.some((item: Record<string, any>) => item.state === 'stopped')) shareModule();
      onBatch(m.batch);
    } else if (m.cmd === 'module') shareModule(m.module);
    else if (m.cmd === 'stats') {
      stats.get(m.id)?.(m.stats);
      stats.delete(m.id);
    } else if (m.cmd === 'ask') {
      const fn = m.fn === 'getJwt' ? getJwt : signedUrl;
      try {
        worker.postMessage({ cmd: 'answer', id: m.id, ok: true, value: await fn() });
      } catch (e: any) {
        worker.postMessage({ cmd: 'answer', id: m.id, ok: false, message: String(e?.message ?? e) });
      }
    }
  };
  // A script that failed to load (404, wrong MIME type, CSP) fires a plain `Event` with
  // no message; an uncaught exception inside the worker an `ErrorEvent` with one.
  worker.onerror = (ev: Event) => {
    ev.preventDefault();
    const detail = (ev as ErrorEvent).message;
    fail(
      detail
        ? `the tikcast worker failed: ${detail}`
        : `the tikcast worker script did not load (not found, not JavaScript, or refused by the page's Content-Security-Policy); ${assetHint()}`,
    );
  };
  worker.onmessageerror = () => fail('the tikcast worker sent a message this page cannot read');
  return {
    start: () =>
      worker.postMessage({ cmd: 'start', options, wasm: wasm.source, hint: assetHint(), hasGetJwt: typeof getJwt === 'function' }, wasm.transfer),
    stop: () => worker.postMessage({ cmd: 'stop' }),
    // Transferred, not copied: a view spanning its whole ArrayBuffer (a socket message,
    // `new Uint8Array(await blob.arrayBuffer())`) moves to the worker and is detached
    // here afterwards; a view onto part of a buffer, or onto shared memory, is copied so
    // the rest of the caller's buffer stays usable.
    pushFrame: (bytes) => {
      const whole =
        bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const own = whole ? bytes : bytes.slice();
      worker.postMessage({ cmd: 'push', bytes: own }, [own.buffer as ArrayBuffer]);
    },
    setWantedEvents: (names) => worker.postMessage({ cmd: 'wanted', names }),
    setRawFrames: (on) => worker.postMessage({ cmd: 'raw', on }),
    stats: () =>
      failed
        ? Promise.resolve({})
        : new Promise((resolve) => {
            const id = nextStats++;
            stats.set(id, resolve);
            worker.postMessage({ cmd: 'stats', id });
          }),
    dispose: () => {
      shareModule();
      setTimeout(() => worker.terminate(), 0);
    },
  };
}
