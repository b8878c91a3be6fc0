#!/usr/bin/env bash
# Runs every test layer that exists, installing what a fresh machine lacks.
# Called by `npm test` and by .ci/run. Set TIKCAST_CORPUS to point at the real captures
# (default ../shared/corpus); TIKCAST_REQUIRE_CORPUS=1 makes their absence an error.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

corpus="${TIKCAST_CORPUS:-../shared/corpus}"
if [ -f "$corpus/log.json" ]; then
  export TIKCAST_CORPUS="$(cd "$corpus" && pwd)"
  echo "corpus: $TIKCAST_CORPUS"
else
  echo "corpus: NOT FOUND at $corpus; tests that need the real captures will say SKIPPED (set TIKCAST_CORPUS)"
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p tikcast-core --no-default-features --all-targets --locked -- -D warnings

step "tikcast-core builds no_std for the browser target (no default features)"
cargo build -p tikcast-core --no-default-features --target wasm32-unknown-unknown --locked
cargo build -p tikcast-wasm --target wasm32-unknown-unknown --locked

step "real captures: per-method summary"
cargo test -p tikcast-core --test corpus --locked -- --nocapture

step "redis-server for the relay cluster tests (each test starts its own on a free port)"
if ! command -v redis-server > /dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y redis-server || { $sudo_ apt-get update && $sudo_ apt-get install -y redis-server; }
fi

step "native tests: core (corpus, fields, frames, hostile input), CLI, relay (cluster on redis)"
cargo test --workspace --locked
cargo test -p tikcast-core --no-default-features --locked

step "relay JSON mode: the Python example of docs/relay.md against the demo replay"
# A venv under target/ with the pinned websockets package (tests/python/requirements.txt);
# uses target/debug/tikcast, built by the native tests above.
if ! python3 -m venv --help > /dev/null 2>&1 || ! python3 -c "import ensurepip" 2> /dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y python3-venv
fi
# A venv cut short (no pip yet) is made again.
[ -x target/pyenv/bin/python ] && [ -x target/pyenv/bin/pip ] || python3 -m venv --clear target/pyenv
target/pyenv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
target/pyenv/bin/python tests/python/relay_json_example.py

step "browser toolchain: Chromium and chromedriver for the browser tests"
if ! command -v chromedriver > /dev/null || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y chromium chromium-driver
fi

step "browser SDK: build (wasm + js/dist) and its test layers (Node, tsc, npm pack in Chromium, wasm-bindgen-test)"
bash scripts/test-js.sh

step "bundler matrix: the npm pack tarball in Vite (dev, build), webpack, esbuild, Rollup, Parcel, an import map; Chromium, main thread and worker"
bash scripts/test-bundlers.sh

step "demo command (stops by itself after 5 s, checking that the page and the relay answer)"
TIKCAST_DEMO_PORT=0 TIKCAST_DEMO_RELAY_PORT=0 TIKCAST_DEMO_SECONDS=5 TIKCAST_DEMO_PROFILE=debug \
  bash scripts/demo.sh > /dev/null
echo "demo ok"
