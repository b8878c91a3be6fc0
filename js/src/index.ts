// Browsers, bundlers and Web Workers: the .wasm is fetched from next to this file
// (`new URL(..., import.meta.url)`, which Vite, webpack and esbuild understand).
export * from './api.js';
