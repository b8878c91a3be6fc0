/// <reference types="node" />
// Node ≥ 20: the .wasm is read from disk. Node 20 has no global WebSocket: pass one
// (e.g. `import WebSocket from 'ws'`) as the `WebSocket` option.
import { readFile } from 'node:fs/promises';
import { setAssets } from './loader.js';
import { TikcastError } from './errors.js';

setAssets({
  wasm: () => readFile(new URL('./wasm/tikcast_wasm_bg.wasm', import.meta.url)),
  worker: () => {
    throw new TikcastError('invalid_options', 'worker: true needs Web Workers (a browser); drop the option in Node');
  },
  hint: "reinstall tikcast (its dist/wasm/tikcast_wasm_bg.wasm is missing), or pass the file's bytes to init(bytes)",
});

export * from './api.js';
