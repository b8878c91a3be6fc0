// Runs inside a Web Worker when a connection is made with `worker: true`: the socket,
// the session and all decoding live here; the page only receives finished batches. The
// page says where the wasm is (`start.wasm`: a URL, bytes or a module); only this thread
// fetches and instantiates it. scripts/bundle-worker.mjs makes dist/worker.js
// self-contained, so it runs from any URL a bundler gives it, or from a blob: URL.
import { compiledModule, init, module, setAssetHint } from './loader.js';
import { SocketDriver } from './socket-driver.js';

type Msg = Record<string, any>;
const scope = self as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((ev: MessageEvent<Msg>) => void) | null;
};

let conn: SocketDriver | undefined;
let wanted: string[] | null = null;
let raw = false;
/** A stop that arrived while `start` was still loading the module. */
let stopRequested = false;
let nextAsk = 1;
const asks = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();

/** Asks the page to run one of the app's callbacks (getJwt, signedUrl). */
function ask(fn: string): Promise<string> {
  const id = nextAsk++;
  scope.postMessage({ cmd: 'ask', id, fn });
  return new Promise((resolve, reject) => asks.set(id, { resolve, reject }));
}

/** Errors lose their own properties when posted; send them as plain objects. */
function plain(batch: Msg[]): Msg[] {
  return batch.map((item) =>
    item.error ? { ...item, error: { code: item.error.code, message: item.error.message, retryAfterMs: item.error.retryAfterMs } } : item,
  );
}

scope.onmessage = async (ev) => {
  const m = ev.data;
  switch (m.cmd) {
    case 'start': {
      try {
        if (typeof m.hint === 'string') setAssetHint(m.hint);
        await init(m.wasm);
        // Hand the compiled module back: the page's next worker starts from it.
        if (!(m.wasm instanceof WebAssembly.Module)) scope.postMessage({ cmd: 'module', module: compiledModule() });
        const options = { ...m.options };
        if (m.hasGetJwt) options.getJwt = () => ask('getJwt');
        if (options.transport === 'signedUrl') options.signedUrl = () => ask('signedUrl');
        conn = new SocketDriver(module(), options, (batch: Msg[]) => scope.postMessage({ cmd: 'batch', batch: plain(batch) }));
        conn.setWantedEvents(wanted);
        conn.setRawFrames(raw);
        conn.start();
        if (stopRequested) conn.stop();
      } catch (e: any) {
        scope.postMessage({
          cmd: 'batch',
          batch: [{ type: 'state', state: 'stopped', code: e?.code ?? 'worker_failed', closeCode: null, message: String(e?.message ?? e), retryAfterMs: null, error: { code: e?.code ?? 'worker_failed', message: String(e?.message ?? e) } }],
        });
      }
      break;
    }
    case 'stop':
      stopRequested = true;
      conn?.stop();
      break;
    case 'push':
      try {
        conn?.pushFrame(m.bytes);
      } catch (e: any) {
        scope.postMessage({ cmd: 'batch', batch: [{ type: 'state', state: 'error', code: e?.code ?? 'decode_failed', message: String(e?.message ?? e) }] });
      }
      break;
    case 'wanted':
      wanted = m.names;
      conn?.setWantedEvents(wanted);
      break;
    case 'raw':
      raw = m.on;
      conn?.setRawFrames(raw);
      break;
    case 'stats':
      scope.postMessage({ cmd: 'stats', id: m.id, stats: conn ? conn.stats() : {} });
      break;
    case 'answer': {
      const a = asks.get(m.id);
      asks.delete(m.id);
      if (m.ok) a?.resolve(m.value);
      else a?.reject(new Error(m.message));
      break;
    }
  }
};
