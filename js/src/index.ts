// Browsers, bundlers and Web Workers: the .wasm and the worker script are found next to
// this file (`new URL(..., import.meta.url)`, which Vite, webpack and Parcel follow and
// copy; listed in package.json `sideEffects` so this registration is never dropped).
import { setAssets } from './loader.js';

setAssets({
  wasm: () => new URL('./wasm/tikcast_wasm_bg.wasm', import.meta.url),
  worker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
  hint: "the bundler did not copy tikcast's dist/wasm/tikcast_wasm_bg.wasm and dist/worker.js next to the bundle: import from 'tikcast/inline' instead (esbuild; see the tikcast README, Loading), or serve that file and pass its URL to init(url)",
});

export * from './api.js';
