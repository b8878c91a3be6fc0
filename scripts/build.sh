#!/usr/bin/env bash
# `npm run build`: the wasm module (scripts/build-wasm.sh), then the TypeScript package,
# leaving js/ ready for `npm pack` (dist/ holds the JS, the .d.ts and the .wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
# Installed again when the lock changed since (npm writes node_modules/.package-lock.json).
if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then
  (cd js && npm ci --no-audit --no-fund)
fi
bash scripts/build-wasm.sh
(cd js && rm -rf dist && npm run --silent build)
echo "js/ is built: (cd js && npm pack) makes the tarball"
