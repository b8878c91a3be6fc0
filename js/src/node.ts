/// <reference types="node" />
// Node ≥ 20: the .wasm is read from disk. Node 20 has no global WebSocket: pass one
// (e.g. `import WebSocket from 'ws'`) as the `WebSocket` option.
import { readFile } from 'node:fs/promises';
import { setLoader } from './loader.js';
import { initSync } from './wasm/tikcast_wasm.js';

setLoader(async (source) => {
  const bytes = source ?? (await readFile(new URL('./wasm/tikcast_wasm_bg.wasm', import.meta.url)));
  initSync({ module: bytes as BufferSource });
});

export * from './api.js';
