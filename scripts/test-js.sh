#!/usr/bin/env bash
# The browser SDK's test layers, in this order, each against real `tikcast mock`s that
# the tests or this script start (127.0.0.1 only, --max-seconds, killed on exit):
#   - JS tests on the built package in Node (`node --test js/test/`, `ws` as WebSocket)
#     and `tsc --noEmit` over the typed usage file js/test/usage.ts;
#   - the `npm pack` tarball imported by a plain page in headless Chromium, driven by
#     playwright-core (tests/browser/), main thread and `worker: true`;
#   - `wasm-bindgen-test` in headless Chromium (crates/tikcast-wasm/tests/browser.rs):
#     decoding our encoder's frames, the session engine step by step, the event tape
#     (sessions over real sockets with drops: the JS tests in Node and tests/browser/);
#   - the overlay (www/) end to end in headless Chromium (tests/e2e/): `tikcast relay`
#     replaying the demo session, a relay killed and restarted mid-session, `?replay=`,
#     layouts from 320 px to full HD; screenshots in tests/artifacts/;
#   - the widgets (tikcast/widgets, www/widget.html, www/builder.html) on the demo replay in
#     headless Chromium (tests/widgets/); screenshots in tests/artifacts/widget-*.png.
# Builds the package first when js/dist is missing or older than its sources
# (TIKCAST_REBUILD=1 forces it). Needs Chromium and chromedriver: CHROMIUM (default
# /usr/bin/chromium) and CHROMEDRIVER (default: chromedriver on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

started=$SECONDS
step() { printf '\n==> %s  [%ss]\n' "$*" "$((SECONDS - started))"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tikcast-test-js.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver || true)}"
for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "test-js: $tool is not installed" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "test-js: no Chromium at $CHROMIUM; install it or set CHROMIUM" >&2; exit 1; }
[ -n "$CHROMEDRIVER" ] && [ -x "$CHROMEDRIVER" ] || {
  echo "test-js: chromedriver not found; install the one matching Chromium or set CHROMEDRIVER" >&2
  exit 1
}

step "build: wasm + js/dist (npm run build) when stale"
stale=""
if [ ! -f js/dist/index.js ] || [ ! -f js/dist/wasm/tikcast_wasm_bg.wasm ]; then
  stale="js/dist is missing"
elif [ -n "${TIKCAST_REBUILD:-}" ]; then
  stale="TIKCAST_REBUILD is set"
else
  newer=$(find crates/tikcast-core/src crates/tikcast-core/build.rs crates/tikcast-core/Cargo.toml \
    crates/tikcast-wasm/src crates/tikcast-wasm/build.rs crates/tikcast-wasm/Cargo.toml \
    proto js/src js/scripts js/package.json js/tsconfig.json \
    scripts/build.sh scripts/build-wasm.sh Cargo.lock \
    -newer js/dist/index.js -type f -not -path 'js/src/wasm/*' -print -quit)
  [ -n "$newer" ] && stale="$newer changed"
fi
if [ -n "$stale" ]; then
  echo "building ($stale)"
  bash scripts/build.sh
else
  echo "js/dist is up to date"
fi
[ -d js/node_modules/playwright-core ] || (cd js && npm ci --no-audit --no-fund)

step "build: tikcast mock"
cargo build -p tikcast --locked
export TIKCAST_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/tikcast"

step "JS tests in Node: node --test js/test/"
node --test --test-reporter=spec js/test/

step "types: tsc --noEmit -p js/test/tsconfig.json (js/test/usage.ts)"
js/node_modules/.bin/tsc --noEmit -p js/test/tsconfig.json
echo "usage.ts type-checks, every @ts-expect-error holds"

step "npm pack smoke test in headless Chromium (playwright-core): node --test tests/browser/"
node --test --test-reporter=spec tests/browser/

step "wasm-bindgen-test in headless Chromium: decoding, the session engine, the event tape"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER
export WASM_BINDGEN_TEST_TIMEOUT=120
webdriver="$repo/crates/tikcast-wasm/tests/webdriver.json"
if [ "$CHROMIUM" != /usr/bin/chromium ]; then
  sed "s|/usr/bin/chromium|$CHROMIUM|" "$webdriver" >"$work/webdriver.json"
  webdriver="$work/webdriver.json"
fi
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$webdriver"
wb_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' crates/tikcast-wasm/Cargo.toml)
if [ "$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  echo "test-js: wasm-bindgen-test-runner $wb_version is needed (cargo install wasm-bindgen-cli --version $wb_version)" >&2
  exit 1
fi
cargo clippy -p tikcast-wasm --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
out="$work/wasm-test.log"
if ! cargo test -p tikcast-wasm --target wasm32-unknown-unknown --locked 2>&1 | tee "$out"; then
  echo "test-js: wasm-bindgen-test failed" >&2
  exit 1
fi
if grep -q '^SKIPPED' "$out"; then
  echo "test-js: a wasm test said SKIPPED" >&2
  exit 1
fi

step "overlay end to end in headless Chromium (playwright-core): node --test tests/e2e/"
node --test --test-reporter=spec tests/e2e/

step "widgets on the demo replay in headless Chromium (playwright-core): node --test tests/widgets/"
node --test --test-reporter=spec tests/widgets/

step "all browser SDK layers passed"
