#!/usr/bin/env bash
# `npm run size`: raw, gzip and brotli size of what the package ships (after `npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f js/dist/wasm/tikcast_wasm_bg.wasm ] && [ -f js/dist/inline-assets.js ] || bash scripts/build.sh
node -e '
const fs = require("fs"), z = require("zlib");
const files = ["js/dist/wasm/tikcast_wasm_bg.wasm", "js/dist/wasm/tikcast_wasm.js",
  ...fs.readdirSync("js/dist").filter((f) => f.endsWith(".js")).map((f) => "js/dist/" + f)];
const row = (name, b) => {
  const gz = z.gzipSync(b, { level: 9 }).length;
  const br = z.brotliCompressSync(b, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(name.padEnd(48), String(b.length).padStart(8), String(gz).padStart(8), String(br).padStart(8));
};
console.log("file".padEnd(48), "raw".padStart(8), "gzip".padStart(8), "brotli".padStart(8));
const read = (f) => fs.readFileSync(f);
for (const f of files) row(f, read(f));
// What each entry ships: tikcast = its JS plus the .wasm beside it (the worker script is a
// separate file, loaded only by worker: true); tikcast/inline = JS with the .wasm (base64)
// and the worker inside, nothing beside it.
const js = files.filter((f) => f.endsWith(".js") && !/\/(inline-assets|worker)\.js$/.test(f)).map(read);
row("all JS together (tikcast, without worker.js)", Buffer.concat(js));
row("tikcast: that JS + tikcast_wasm_bg.wasm", Buffer.concat([...js, read("js/dist/wasm/tikcast_wasm_bg.wasm")]));
row("tikcast/inline: that JS + inline-assets.js", Buffer.concat([...js, read("js/dist/inline-assets.js")]));
// tikcast/widgets: its own JS, on top of tikcast (which it imports).
if (fs.existsSync("js/dist/widgets")) {
  const w = fs.readdirSync("js/dist/widgets").filter((f) => f.endsWith(".js")).map((f) => read("js/dist/widgets/" + f));
  row("tikcast/widgets: its JS (on top of tikcast)", Buffer.concat(w));
}
'
