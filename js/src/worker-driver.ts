// The page side of `worker: true`: forwards commands to the worker, batches back.
import type { Driver, TikTokLiveConnectionOptions } from './connection.js';
import { wasmOptions } from './connection.js';
import { TikcastError } from './errors.js';

export async function workerDriver(
  uniqueId: string,
  o: TikTokLiveConnectionOptions,
  onBatch: (batch: Array<Record<string, any>>) => void,
): Promise<Driver> {
  if (typeof Worker === 'undefined') {
    throw new TikcastError('invalid_options', 'worker: true needs Web Workers (a browser); drop the option here');
  }
  const { getJwt, signedUrl, WebSocket: _ws, ...options } = wasmOptions(uniqueId, o) as Record<string, any>;
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  let nextStats = 1;
  const stats = new Map<number, (s: Record<string, number>) => void>();
  worker.onmessage = async (ev: MessageEvent<Record<string, any>>) => {
    const m = ev.data;
    if (m.cmd === 'batch') onBatch(m.batch);
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
  worker.onerror = (ev) => {
    onBatch([
      {
        type: 'state',
        state: 'stopped',
        code: 'worker_failed',
        closeCode: null,
        message: `the tikcast worker failed: ${ev.message}`,
        retryAfterMs: null,
        error: { code: 'worker_failed', message: `the tikcast worker failed: ${ev.message}` },
      },
    ]);
  };
  return {
    start: () => worker.postMessage({ cmd: 'start', options, hasGetJwt: typeof getJwt === 'function' }),
    stop: () => worker.postMessage({ cmd: 'stop' }),
    pushFrame: (bytes) => worker.postMessage({ cmd: 'push', bytes }),
    setWantedEvents: (names) => worker.postMessage({ cmd: 'wanted', names }),
    setRawFrames: (on) => worker.postMessage({ cmd: 'raw', on }),
    stats: () =>
      new Promise((resolve) => {
        const id = nextStats++;
        stats.set(id, resolve);
        worker.postMessage({ cmd: 'stats', id });
      }),
    dispose: () => setTimeout(() => worker.terminate(), 0),
  };
}
