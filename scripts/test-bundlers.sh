#!/usr/bin/env bash
# The bundler matrix (tests/bundlers/bundlers.test.mjs): the `npm pack` tarball built by
# Vite (dev and build), webpack 5, esbuild (ESM, iife), Rollup, Parcel and an import-map
# page, each loaded in headless Chromium on the main thread and with `worker: true`.
# The bundlers are pinned in tests/bundlers/package.json + package-lock.json and installed
# once into tests/bundlers/node_modules (`npm ci`, again only when the lock changes).
# Needs js/dist (npm run build), the tikcast binary (for `tikcast mock`) and Chromium
# (CHROMIUM, default /usr/bin/chromium); builds the first two when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
dir=tests/bundlers
stamp=$dir/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
  echo "installing the pinned bundlers into $dir/node_modules (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "installed in $((SECONDS - started)) s"
fi
[ -f js/dist/index.js ] && [ -f js/dist/inline-assets.js ] || bash scripts/build.sh
[ -d js/node_modules/playwright-core ] || (cd js && npm ci --no-audit --no-fund)
export TIKCAST_BIN="${TIKCAST_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/tikcast}"
[ -x "$TIKCAST_BIN" ] || cargo build -p tikcast --locked

node --test --test-reporter=spec tests/bundlers/
echo "bundler matrix: $((SECONDS - started)) s, install included"
