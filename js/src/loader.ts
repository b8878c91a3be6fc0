// The wasm module's one-time initialisation, shared by every entry point. The glue is
// built with `--omit-default-module-path`, so it never names the .wasm itself: each entry
// (`index` for browsers and bundlers, `inline`, `node`) says where the bytes and the
// worker script are, through `setAssets`. Only this file and the entries know that.
import wasmInit, * as wasm from './wasm/tikcast_wasm.js';
import { TikcastError } from './errors.js';

/** What `init()` accepts: a URL, a `Response`, bytes or a compiled module. */
export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/** Where an entry point finds the .wasm and the worker script. */
export interface Assets {
  /** The .wasm when `init()` is given nothing (a URL, bytes or a module). */
  wasm(): WasmSource | Promise<WasmSource>;
  /** A new Web Worker running the package's `dist/worker.js` (for `worker: true`). */
  worker(): Worker;
  /** Says what to do when the default .wasm or worker cannot be loaded. */
  hint: string;
}

let assets: Assets = {
  wasm: () => {
    throw new TikcastError('init_failed', 'tikcast has no default wasm here: pass its URL or bytes to init(source)');
  },
  worker: () => {
    throw new TikcastError('invalid_options', 'worker: true needs Web Workers (a browser); drop the option here');
  },
  hint: 'pass the URL or bytes of tikcast_wasm_bg.wasm to init(source)',
};
let ready: Promise<void> | undefined;
let initialized = false;
/** The source given to `init()`, reused by workers so they load the same file. */
let given: WasmSource | undefined;
/** The module this thread compiled (page after `init()`, or a worker). */
let compiled: WebAssembly.Module | undefined;
/** A module a worker compiled and handed back: later workers start from it, no refetch. */
let shared: WebAssembly.Module | undefined;
/** Set while a worker is compiling the module that it will hand back. */
let sharing: Promise<unknown> | undefined;

/** Called once by the entry point (index.ts, inline.ts, node.ts). */
export function setAssets(a: Assets): void {
  assets = a;
}

/** Says what to do when the default assets cannot be loaded. */
export function assetHint(): string {
  return assets.hint;
}

/** A worker takes its page's hint, so its errors say what to do in that page's setup. */
export function setAssetHint(hint: string): void {
  assets = { ...assets, hint };
}

/** Starts a worker running the package's worker script (the entry point knows where it is). */
export function createWorker(): Worker {
  return assets.worker();
}

/**
 * What a worker should load the module from, without fetching or compiling anything on
 * this thread: a compiled module when this page has one (its own, or one an earlier worker
 * handed back), else a URL string, or bytes to transfer. A Request/Response given to
 * `init()` cannot be shared, so the worker then loads the default.
 */
export async function wasmForWorker(): Promise<{
  source: string | ArrayBuffer | WebAssembly.Module;
  transfer: ArrayBuffer[];
  /** Call with the module the worker handed back, or with nothing when it failed or stopped first. */
  share: (m?: WebAssembly.Module) => void;
}> {
  // A worker that is still compiling hands its module back; wait for it instead of
  // fetching the same file again (it resolves on failure too, then we load ourselves).
  if (!compiled && !shared && sharing) await sharing;
  const module = compiled ?? shared;
  if (module) return { source: module, transfer: [], share: () => {} };
  // This worker will compile: workers started meanwhile wait for its module.
  let done: () => void = () => {};
  const pending = new Promise<void>((resolve) => (done = resolve));
  sharing = pending;
  const share = (m?: WebAssembly.Module) => {
    if (m instanceof WebAssembly.Module) shared ??= m;
    if (sharing === pending) sharing = undefined;
    done();
  };
  try {
    let s: WasmSource | undefined = given;
    if (s === undefined || (typeof Request === 'function' && s instanceof Request) || (typeof Response === 'function' && s instanceof Response)) {
      s = await resolveDefault();
    }
    if (typeof s === 'string' || s instanceof URL) return { source: absolute(s), transfer: [], share };
    if (s instanceof WebAssembly.Module) return { source: s, transfer: [], share };
    // Bytes: a private copy, transferred (the caller's own buffer stays as it was).
    const view = ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s as ArrayBuffer);
    const copy = view.slice().buffer;
    return { source: copy, transfer: [copy], share };
  } catch (e) {
    share();
    throw e;
  }
}

/** The module this thread compiled (for a worker to hand back to its page). */
export function compiledModule(): WebAssembly.Module | undefined {
  return compiled;
}

/** `import.meta.url`-relative URLs made absolute, so a worker (a blob: URL too) can fetch them. */
function absolute(u: string | URL): string {
  const base = typeof location === 'object' && location ? location.href : undefined;
  return new URL(u, base).href;
}

async function resolveDefault(): Promise<WasmSource> {
  try {
    return await assets.wasm();
  } catch (e) {
    if (e instanceof TikcastError) throw e;
    // e.g. an esbuild/Rollup `iife` bundle, where `import.meta.url` is empty.
    throw new TikcastError(
      'init_failed',
      `cannot locate the tikcast wasm module (${(e as Error)?.message ?? e}): this bundle has no usable import.meta.url; ${assets.hint}`,
    );
  }
}

/** Fetches a URL ourselves, so a missing file says which URL and what to do. */
async function fetchWasm(url: string | URL | Request): Promise<Response> {
  const where = url instanceof Request ? url.url : absolute(url);
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new TikcastError('init_failed', `cannot fetch the tikcast wasm module from ${where}: ${(e as Error)?.message ?? e}; ${assets.hint}`);
  }
  if (!r.ok) {
    throw new TikcastError(
      'init_failed',
      `cannot fetch the tikcast wasm module: ${where} answered HTTP ${r.status}; ${assets.hint}`,
    );
  }
  return r;
}

/** Compiles any accepted source; streaming when the server says `application/wasm`. */
async function compile(s: WasmSource): Promise<WebAssembly.Module> {
  if (s instanceof WebAssembly.Module) return s;
  if (typeof s === 'string' || s instanceof URL || (typeof Request === 'function' && s instanceof Request)) s = await fetchWasm(s);
  try {
    if (typeof Response === 'function' && s instanceof Response) {
      if (!s.ok) throw new Error(`${s.url} answered HTTP ${s.status}`);
      const type = s.headers.get('content-type')?.split(';')[0].trim();
      if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') return await WebAssembly.compileStreaming(s);
      return await WebAssembly.compile(await s.arrayBuffer());
    }
    return await WebAssembly.compile(s as BufferSource);
  } catch (e) {
    throw new TikcastError(
      'init_failed',
      `cannot compile the tikcast wasm module (${(e as Error)?.message ?? e}): the source is not tikcast_wasm_bg.wasm of this version, or is damaged`,
    );
  }
}

/**
 * Loads the WebAssembly module. Call once before anything else; later calls return the
 * same promise. In browsers and bundlers the `.wasm` is fetched from next to this file
 * (pass a URL or bytes to load it from elsewhere); `tikcast/inline` carries it inside
 * its JS; in Node it is read from disk. `worker: true` connections never need it on the
 * page: their worker loads it.
 */
export function init(source?: WasmSource): Promise<void> {
  ready ??= (async () => {
    if (source !== undefined) given = source;
    const module = await compile(source ?? shared ?? (await resolveDefault()));
    try {
      await wasmInit({ module_or_path: module });
    } catch (e) {
      throw new TikcastError('init_failed', `cannot instantiate the tikcast wasm module: ${(e as Error)?.message ?? e}`);
    }
    compiled = module;
    initialized = true;
  })().catch((e: unknown) => {
    ready = undefined;
    throw e instanceof TikcastError ? e : new TikcastError('init_failed', `cannot load the tikcast wasm module: ${(e as Error)?.message ?? e}`);
  });
  return ready;
}

/** The initialised module; throws a clear error when `init()` has not finished. */
export function module(): typeof wasm {
  if (!initialized) {
    throw new TikcastError('not_initialized', 'tikcast is not initialized: `await init()` before using it');
  }
  return wasm;
}
