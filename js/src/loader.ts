// The wasm module's one-time initialisation, shared by every entry point. Each entry
// (browser/bundler `index`, `node`) installs how to fetch the .wasm bytes.
import wasmInit, * as wasm from './wasm/tikcast_wasm.js';
import { TikcastError } from './errors.js';

/** What `init()` accepts: a URL, a `Response`, bytes or a compiled module. */
export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

type Loader = (source?: WasmSource) => Promise<unknown>;

let loader: Loader = (source) => wasmInit(source === undefined ? undefined : { module_or_path: source as never });
let ready: Promise<void> | undefined;
let initialized = false;

/** Set by the entry point (node.ts reads the file instead of fetching it). */
export function setLoader(l: Loader): void {
  loader = l;
}

/**
 * Loads the WebAssembly module. Call once before anything else; later calls return the
 * same promise. In browsers and bundlers the `.wasm` is fetched from next to this file
 * (pass a URL or bytes to load it from elsewhere); in Node it is read from disk.
 */
export function init(source?: WasmSource): Promise<void> {
  ready ??= loader(source).then(
    () => {
      initialized = true;
    },
    (e: unknown) => {
      ready = undefined;
      throw new TikcastError('init_failed', `cannot load the tikcast wasm module: ${(e as Error)?.message ?? e}`);
    },
  );
  return ready;
}

/** The initialised module; throws a clear error when `init()` has not finished. */
export function module(): typeof wasm {
  if (!initialized) {
    throw new TikcastError('not_initialized', 'tikcast is not initialized: `await init()` before using it');
  }
  return wasm;
}
