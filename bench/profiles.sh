#!/usr/bin/env bash
# The wasm release profile by measurement: builds the shipped module with several
# opt-level choices (per crate, through `cargo --config`) and wasm-opt levels, then for each
# reports its size and its decode speed against the peer in Node and in headless Chromium
# (every build and the peer run in one process, in the same rounds, so the figures compare
# across rows even when the machine's speed drifts). Not part of `npm test`.
#
# Usage: bash bench/profiles.sh [VARIANT ...]      (default: all below; ROUNDS=5 LIMIT=400;
#        RACE=0 only builds)
# Needs: bench/data/frames.bin (`npm run bench` makes it) and bench's node_modules.
# Writes: target/profiles/<variant>/ (module + glue each) and target/profiles/results.md.
# The comparison itself is bench/profiles.mjs (every build in one process, same rounds).
set -euo pipefail
cd "$(dirname "$0")/.."

# name | cargo --config overrides (space separated) | wasm-opt level
variants=(
  "z|profile.release-wasm.opt-level=\"z\"|-Oz"
  "z,zlib3|profile.release-wasm.opt-level=\"z\" profile.release-wasm.package.zlib-rs.opt-level=3|-Oz"
  "z,zlib3,core3|profile.release-wasm.opt-level=\"z\" profile.release-wasm.package.zlib-rs.opt-level=3 profile.release-wasm.package.tikcast-core.opt-level=3|-Oz"
  "s,zlib3|profile.release-wasm.opt-level=\"s\" profile.release-wasm.package.zlib-rs.opt-level=3|-Os"
  "s|profile.release-wasm.opt-level=\"s\"|-Os"
  "s,core3|profile.release-wasm.opt-level=\"s\" profile.release-wasm.package.tikcast-core.opt-level=3|-Os"
  "s,zlib3,core3|profile.release-wasm.opt-level=\"s\" profile.release-wasm.package.zlib-rs.opt-level=3 profile.release-wasm.package.tikcast-core.opt-level=3|-Os"
  "3|profile.release-wasm.opt-level=3|-O3"
  "s,Oz|profile.release-wasm.opt-level=\"s\"|-Oz"
  "z,Os|profile.release-wasm.opt-level=\"z\"|-Os"
  "2|profile.release-wasm.opt-level=2|-O2"
  "s,thin-lto|profile.release-wasm.opt-level=\"s\" profile.release-wasm.lto=\"thin\"|-Os"
  "s,cgu16|profile.release-wasm.opt-level=\"s\" profile.release-wasm.codegen-units=16|-Os"
  "s,simd128|profile.release-wasm.opt-level=\"s\" target.wasm32-unknown-unknown.rustflags=[\"-Ctarget-feature=+simd128\"]|-Oz --enable-simd"
)
want=("$@")
frames=bench/data/frames.bin
limit=${LIMIT:-400}
rounds=${ROUNDS:-5}
[ -f "$frames" ] || { echo "no $frames: run npm run bench once" >&2; exit 1; }
wasm_opt=js/node_modules/.bin/wasm-opt
feats="--enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue"

out=target/profiles
mkdir -p "$out"
dirs=()
for v in "${variants[@]}"; do
  IFS='|' read -r name cfg level <<< "$v"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  echo "==> $name: cargo $cfg, wasm-opt $level" >&2
  args=()
  for c in $cfg; do args+=(--config "$c"); done
  cargo build -q -p tikcast-wasm --target wasm32-unknown-unknown --profile release-wasm --locked "${args[@]}"
  dir="$out/$name"
  rm -rf "$dir"
  # Each build gets its own glue: wasm-bindgen's import names differ between builds.
  wasm-bindgen --target web --omit-default-module-path --out-dir "$dir" --out-name tikcast_wasm \
    target/wasm32-unknown-unknown/release-wasm/tikcast_wasm.wasm
  # shellcheck disable=SC2086
  "$wasm_opt" "$level" --strip-debug --strip-producers $feats \
    "$dir/tikcast_wasm_bg.wasm" -o "$dir/tikcast_wasm_bg.wasm"
  echo '{"type":"module"}' > "$dir/package.json"
  dirs+=("$dir")
done
[ "${RACE:-1}" = 1 ] || exit 0
(cd bench && node --expose-gc profiles.mjs "${dirs[@]/#/../}" --rounds "$rounds" --limit "$limit") | tee "$out/results.md"
