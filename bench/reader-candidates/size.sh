#!/usr/bin/env bash
# Wasm size of each reader candidate: a cdylib exporting `buf` and `decode` (reader-sink's
# wasm_exports), built at opt-level "z" (profile `size`) and 3 (profile `release`), both
# with lto, codegen-units 1 and panic abort, then `wasm-opt -Oz` as scripts/build-wasm.sh
# runs it. Prints raw and gzip -9 bytes. Usage: ./size.sh [candidate ...]
set -euo pipefail
cd "$(dirname "$0")"
target=../../target/reader-candidates/wasm32-unknown-unknown
wasm_opt=${WASM_OPT:-../../js/node_modules/.bin/wasm-opt}
if [ ! -x "$wasm_opt" ]; then
  echo "wasm-opt not found at $wasm_opt: run 'cd js && npm ci' or set WASM_OPT" >&2
  exit 1
fi
cands=("$@")
[ ${#cands[@]} -gt 0 ] || cands=(none prost femtopb micropb quick table table-checked table-all)
mkdir -p "$target/opt"
printf '| candidate | profile | raw | gzip | raw after wasm-opt -Oz | gzip after wasm-opt -Oz |\n|---|---|---:|---:|---:|---:|\n'
for c in "${cands[@]}"; do
  for profile in size release; do
    if [ "$c" = table-checked ]; then
      # The table reader checking every declared field (CHECKED_TABLES), writing the projection.
      cargo build -q --locked -p cand-table --features checked --lib --target wasm32-unknown-unknown --profile "$profile"
      cp "$target/$profile/cand_table.wasm" "$target/$profile/cand_table-checked.wasm"
    elif [ "$c" = table-all ]; then
      # The table reader with every declared field of the whole schema in its tables.
      cargo build -q --locked -p cand-table --features all-fields --lib --target wasm32-unknown-unknown --profile "$profile"
      cp "$target/$profile/cand_table.wasm" "$target/$profile/cand_table-all.wasm"
    else
      cargo build -q --locked -p "cand-$c" --lib --target wasm32-unknown-unknown --profile "$profile"
    fi
    wasm="$target/$profile/cand_$c.wasm"
    out="$target/opt/cand_$c.$profile.wasm"
    "$wasm_opt" -Oz --strip-debug --strip-producers \
      --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
      --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
      "$wasm" -o "$out"
    level=$([ "$profile" = size ] && echo z || echo 3)
    printf '| %s | %s | %d | %d | %d | %d |\n' "$c" "$level" \
      "$(wc -c < "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" \
      "$(wc -c < "$out")" "$(gzip -9 -c "$out" | wc -c)"
  done
done
