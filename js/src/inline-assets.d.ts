// Declares dist/inline-assets.js, which scripts/bundle-worker.mjs writes after tsc.
/** tikcast_wasm_bg.wasm, base64. */
export declare const WASM_BASE64: string;
/** dist/worker.js, self-contained (no imports). */
export declare const WORKER_SOURCE: string;
