#!/usr/bin/env bash
# Builds the browser module into js/src/wasm: cargo (release-wasm profile) →
# wasm-bindgen (--target web) → wasm-opt -Oz. Installs the pinned wasm-bindgen CLI, the
# wasm32 target and the js/ dev dependencies (binaryen's wasm-opt) when missing. Called by `npm run build` and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

wb_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' crates/tikcast-wasm/Cargo.toml)
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  echo "installing wasm-bindgen-cli $wb_version (takes a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wb_version"
fi
# wasm-opt comes from the npm `binaryen` package pinned in js/package.json (a current
# release; Debian's binaryen 108 mangles wasm-bindgen's externref table).
if [ ! -x js/node_modules/.bin/wasm-opt ]; then
  (cd js && npm ci --no-audit --no-fund)
fi
wasm_opt=js/node_modules/.bin/wasm-opt

cargo build -p tikcast-wasm --target wasm32-unknown-unknown --profile release-wasm --locked
out=js/src/wasm
rm -rf "$out"
# --omit-default-module-path: the glue must not name the .wasm itself. Each entry point
# of the package says where it is (js/src/index.ts a URL bundlers follow, inline.ts the
# bytes, node.ts the file), so tikcast/inline makes no bundler copy an unused asset.
wasm-bindgen --target web --omit-default-module-path --out-dir "$out" --out-name tikcast_wasm \
  target/wasm32-unknown-unknown/release-wasm/tikcast_wasm.wasm
# Curate the generated types: `[Symbol.dispose]` needs lib esnext.disposable, which a
# project on the default lib of an ES2022-ES2024 target lacks, and its type check of our
# .d.ts would fail (skipLibCheck: false). `free()` stays; the method itself stays too.
sed -i '/\[Symbol\.dispose\]()/d' "$out/tikcast_wasm.d.ts"
# Rust's wasm32 target emits these post-MVP features; wasm-opt must be told it may keep them.
# -Oz after opt-level "s": the same gzip bytes as -Os, 600 raw bytes fewer (bench/profiles.sh).
"$wasm_opt" -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
  "$out/tikcast_wasm_bg.wasm" -o "$out/tikcast_wasm_bg.wasm"
echo "built $out: $(wc -c < "$out/tikcast_wasm_bg.wasm") bytes wasm, $(wc -c < "$out/tikcast_wasm.js") bytes glue"
