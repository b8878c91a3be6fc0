// Bytes a browser downloads: tikcast's .wasm + JS glue (and the whole package bundled)
// against the peer bundled for the same events (esbuild, minified, browser conditions).
// Usage: node size.mjs → JSON on stdout
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import * as proto from 'tiktok-live-proto/v3';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..');
const sizes = (b) => ({
  raw: b.length,
  gzip: gzipSync(b, { level: 9 }).length,
  brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const sum = (...xs) => ({ raw: xs.reduce((a, x) => a + x.raw, 0), gzip: xs.reduce((a, x) => a + x.gzip, 0), brotli: xs.reduce((a, x) => a + x.brotli, 0) });
const bundle = async (entry, name) => {
  mkdirSync(join(HERE, 'dist'), { recursive: true });
  const file = join(HERE, 'dist', name);
  writeFileSync(file + '.entry.mjs', entry);
  await esbuild.build({
    entryPoints: [file + '.entry.mjs'], bundle: true, format: 'esm', platform: 'browser', minify: true,
    outfile: file, logLevel: 'warning', nodePaths: [join(HERE, 'node_modules')],
  });
  return readFileSync(file);
};

// Every method our decoder knows (the methods! table of decode.rs), and which the peer's schema has.
const src = readFileSync(join(REPO, 'crates/tikcast-core/src/decode.rs'), 'utf8');
const ours = [...src.matchAll(/^\s*\[("[^\]]+)\] =>/gm)].flatMap((m) => [...m[1].matchAll(/"(\w+)"/g)].map((x) => x[1]));
const shared = ours.filter((m) => typeof proto[m]?.decode === 'function');

const wasm = sizes(readFileSync(join(REPO, 'js/dist/wasm/tikcast_wasm_bg.wasm')));
const glue = sizes(readFileSync(join(REPO, 'js/dist/wasm/tikcast_wasm.js')));
const pkg = sizes(await bundle(`export * from ${JSON.stringify(join(REPO, 'js/dist/index.js'))};\n`, 'tikcast-bundle.js'));
const peerEvents = sizes(await bundle(
  `import { WebcastPushFrame, ProtoMessageFetchResult, ${shared.join(', ')} } from 'tiktok-live-proto/v3';\n` +
  `import { gunzipSync } from 'fflate';\n` +
  `export const types = { ${shared.join(', ')} };\nexport { WebcastPushFrame, ProtoMessageFetchResult, gunzipSync };\n`,
  'peer-events.js'));
const peerChatGift = sizes(await bundle(
  `export { WebcastPushFrame, ProtoMessageFetchResult, WebcastChatMessage, WebcastGiftMessage } from 'tiktok-live-proto/v3';\nexport { gunzipSync } from 'fflate';\n`,
  'peer-chat-gift.js'));
const peerAll = sizes(await bundle(`export * from 'tiktok-live-proto/v3';\nexport { gunzipSync } from 'fflate';\n`, 'peer-all.js'));
console.log(JSON.stringify({
  methods: { ours: ours.length, peerHas: shared.length },
  tikcast: { wasm, glue, wasmPlusGlue: sum(wasm, glue), packageJsBundle: pkg, packagePlusWasm: sum(wasm, pkg) },
  peer: { sameEvents: peerEvents, chatAndGiftOnly: peerChatGift, wholeV3Schema: peerAll },
}));
