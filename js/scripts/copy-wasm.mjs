// Copies the wasm-bindgen output (src/wasm, made by scripts/build-wasm.sh) next to the
// compiled JS, so dist/ is the whole package.
import { cpSync, existsSync } from 'node:fs';

if (!existsSync('src/wasm/tikcast_wasm_bg.wasm')) {
  console.error('js/src/wasm is missing: run `npm run build` at the repository root (it builds the wasm first)');
  process.exit(1);
}
cpSync('src/wasm', 'dist/wasm', { recursive: true });
// The package carries the repository's licence texts.
for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) cpSync(`../${f}`, f);
