#!/usr/bin/env bash
# `npm run size`: raw, gzip and brotli size of what the package ships (after `npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f js/dist/wasm/tikcast_wasm_bg.wasm ] || bash scripts/build.sh
node -e '
const fs = require("fs"), z = require("zlib");
const files = ["js/dist/wasm/tikcast_wasm_bg.wasm", "js/dist/wasm/tikcast_wasm.js",
  ...fs.readdirSync("js/dist").filter((f) => f.endsWith(".js")).map((f) => "js/dist/" + f)];
const row = (name, b) => {
  const gz = z.gzipSync(b, { level: 9 }).length;
  const br = z.brotliCompressSync(b, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(name.padEnd(44), String(b.length).padStart(8), String(gz).padStart(8), String(br).padStart(8));
};
console.log("file".padEnd(44), "raw".padStart(8), "gzip".padStart(8), "brotli".padStart(8));
let js = [];
for (const f of files) { const b = fs.readFileSync(f); row(f, b); if (f.endsWith(".js")) js.push(b); }
row("all JS together", Buffer.concat(js));
'
