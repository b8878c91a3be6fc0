#!/usr/bin/env bash
# What the decoder itself weighs (issue 18's budget: .wasm + glue <= 60 kB gzip): builds
# bench/wasm-floor's variants (raw exports, no wasm-bindgen, no browser driver) at
# opt-levels "s" and "z", runs `wasm-opt -Oz` on each, and prints raw and gzip -9 sizes
# next to the shipped module's. Not part of `npm test`.
#
# Usage: bash bench/floor.sh        (needs js/node_modules for wasm-opt)
set -euo pipefail
cd "$(dirname "$0")/.."
wasm_opt=js/node_modules/.bin/wasm-opt
feats="--enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue"
out=target/wasm-floor
mkdir -p "$out/opt"

# name | cargo features of wasm-floor
variants=(
  "inflate (miniz_oxide)|inflate-only"
  "inflate (zlib-rs)|inflate-only,zlib-rs"
  "decoder, miniz_oxide|"
  "decoder, zlib-rs|zlib-rs"
  "decoder + session, miniz_oxide|session"
  "decoder + session, zlib-rs|zlib-rs,session"
)
size() { echo "$(stat -c%s "$1") $(gzip -9 -c "$1" | wc -c)"; }
echo "| variant | opt-level | raw | gzip -9 |"
echo "|---|---|---:|---:|"
for v in "${variants[@]}"; do
  name=${v%%|*}
  features=${v#*|}
  for level in s z; do
    cargo build --quiet --release --manifest-path bench/wasm-floor/Cargo.toml \
      --target wasm32-unknown-unknown --target-dir "$out" \
      --config "profile.release.opt-level=\"$level\"" \
      ${features:+--features "$features"}
    tag=$(echo "$name-$level" | tr -c 'a-z0-9\n' '_')
    $wasm_opt $feats -Oz --strip-debug --strip-producers \
      "$out/wasm32-unknown-unknown/release/wasm_floor.wasm" -o "$out/opt/$tag.wasm"
    read -r raw gz < <(size "$out/opt/$tag.wasm")
    echo "| $name | $level | $raw | $gz |"
  done
done
if [ -f js/src/wasm/tikcast_wasm_bg.wasm ]; then
  read -r raw gz < <(size js/src/wasm/tikcast_wasm_bg.wasm)
  echo "| shipped .wasm (bash scripts/build-wasm.sh) | s | $raw | $gz |"
fi
