// After tsc, copy-wasm and bundle-worker: turns the browser entries (dist/index.js and
// dist/inline.js) into bundles that share one chunk, instead of the ~14 modules tsc
// emits. A browser without a bundler (an OBS overlay, a CDN import) fetched those one
// request at a time, up to six at once, and spent most of its start-up there: import →
// first event 74 ms, 58 of them in `import`; bundled, 41 ms, as fast as the peer's single
// file (bench/RESULTS.md, "start-up"). Node keeps the per-module files (dist/node.js and
// what it imports), and so do the types.
//
// The chunk is written next to the entries (dist/), so `new URL('./wasm/…',
// import.meta.url)` means the same wherever esbuild puts that code.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

for (const f of readdirSync('dist')) {
  if (/-[A-Z0-9]{8}\.js$/.test(f)) rmSync(`dist/${f}`); // chunks of an earlier build
}
const out = await build({
  entryPoints: ['dist/index.js', 'dist/inline.js'],
  outdir: 'dist',
  outbase: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
const names = [];
for (const f of out.outputFiles) {
  mkdirSync(dirname(f.path), { recursive: true });
  writeFileSync(f.path, f.contents);
  names.push(`${f.path.slice(f.path.lastIndexOf('/dist/') + 1)} ${f.contents.length} B`);
}
console.log(`browser entries bundled: ${names.join(', ')}`);
