// `tikcast/inline`: the same API with the .wasm (base64) and the worker script (a string,
// started from a blob: URL) inside the JS, for bundlers that do not copy assets named by
// `new URL(..., import.meta.url)` (esbuild, Rollup without a plugin) and single-file
// overlays. About a third larger than the .wasm before compression, and compiled from
// memory instead of streamed. dist/inline-assets.js is written by scripts/bundle-worker.mjs.
import { WASM_BASE64, WORKER_SOURCE } from './inline-assets.js';
import { setAssets } from './loader.js';

let workerUrl: string | undefined;

setAssets({
  wasm: () => fromBase64(WASM_BASE64),
  worker: () => {
    // One blob: URL per page, kept for the page's lifetime (workers may start later).
    workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    return new Worker(workerUrl, { type: 'module' });
  },
  hint: "the inline module is self-contained; a worker: true page also needs its Content-Security-Policy to allow `worker-src blob:`",
});

function fromBase64(b64: string): Uint8Array {
  const U8 = Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array };
  if (typeof U8.fromBase64 === 'function') return U8.fromBase64(b64);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export * from './api.js';
