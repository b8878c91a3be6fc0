#!/usr/bin/env bash
# `npm run bench`: tikcast against the JavaScript decoders on identical frames (bench/),
# appending a section to bench/RESULTS.md. Not part of `npm test`.
#   npm run bench                 # build js/dist, then everything (about 30 minutes)
#   npm run bench -- --no-build   # use the js/dist that is there
#   npm run bench -- --quick      # fewer rounds and messages, 20 s a fuzz target (tries the harness)
#   npm run bench -- --no-write   # print the section only
# Reads the real captures from $TIKCAST_CORPUS (default ../shared/corpus) and says
# SKIPPED when they are absent. Fuzzing (bench/fuzz.sh, 13 minutes; FUZZ_SECONDS per
# target, default 200) needs cargo-fuzz; a crash it finds fails the run at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done
# Hostile inputs need no corpus: CPU and peak RSS of `tikcast decode` on the worst
# frames within the decode caps.
no_write=()
[[ " ${args[*]+"${args[*]}"} " == *" --quick "* ]] && export FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
[[ " ${args[*]+"${args[*]}"} " == *" --no-write "* ]] && no_write=(--no-write)
bash bench/hostile.sh "${no_write[@]+"${no_write[@]}"}"
# Coverage-guided fuzzing of the reader against the oracle (seeds from the captures when
# they are there); the rest of the benchmarks still run after a crash.
fuzz_failed=0
bash bench/fuzz.sh "${no_write[@]+"${no_write[@]}"}" || fuzz_failed=1
fuzz_verdict() {
  if [ "$fuzz_failed" = 1 ]; then
    echo "FAILED: bench/fuzz.sh (crashes or no cargo-fuzz; see its output above)" >&2
    exit 1
  fi
}
corpus="${TIKCAST_CORPUS:-../shared/corpus}"
if ! ls "$corpus"/*.json >/dev/null 2>&1; then
  echo "SKIPPED: no corpus at $corpus (set TIKCAST_CORPUS to the directory of real captures); nothing measured" >&2
  fuzz_verdict
  exit 0
fi
if [ "$build" = 1 ] || [ ! -f js/dist/wasm/tikcast_wasm_bg.wasm ]; then
  npm run --silent build
fi
if [ ! -d bench/node_modules ]; then
  (cd bench && npm install --no-audit --no-fund)
fi
# The workload (run.mjs makes the variants too; criterion needs the main file first).
mkdir -p bench/data
[ -f bench/data/frames.bin ] || python3 ../shared/bench/make_frames.py "$corpus" bench/data/frames.bin 2000 1
# Diagnostic wasm build of the core without JS objects (bench/wasm-probe), two profiles.
(cd bench/wasm-probe && cargo build -q --release --target wasm32-unknown-unknown --target-dir ../../target/wasm-probe \
  && cargo build -q --profile size --target wasm32-unknown-unknown --target-dir ../../target/wasm-probe)
# Native upper bound (criterion), read back by run.mjs from target/criterion (emptied
# first, so a bench that no longer exists cannot leave a stale row behind).
rm -rf target/criterion/workload
echo "[bench] native criterion (load $(uptime | sed 's/.*load average: //'))" >&2
TIKCAST_BENCH_FRAMES="$PWD/bench/data/frames.bin" cargo bench -q -p tikcast-core --bench decode >&2
TIKCAST_CORPUS="$corpus" node bench/run.mjs "${args[@]+"${args[@]}"}"
# The widgets (tikcast/widgets) in headless Chromium: frame times at 2,000 messages/s, main
# thread and worker (about 3 minutes; --quick: 3 s a widget), then memory over a long run
# (WIDGETS_SOAK_SECONDS a widget, default 60, --quick 15; one hour: WIDGETS_SOAK_SECONDS=3600).
write=(--write)
[ ${#no_write[@]} -gt 0 ] && write=()
quick=0
[[ " ${args[*]+"${args[*]}"} " == *" --quick "* ]] && quick=1
widget_seconds=6
[ "$quick" = 1 ] && widget_seconds=3
TIKCAST_CORPUS="$corpus" node bench/widgets.mjs --seconds "$widget_seconds" "${write[@]+"${write[@]}"}"
soak="${WIDGETS_SOAK_SECONDS:-60}"
[ "$quick" = 1 ] && soak="${WIDGETS_SOAK_SECONDS:-15}"
TIKCAST_CORPUS="$corpus" node bench/widgets.mjs --soak "$soak" --sample "$(( soak >= 120 ? 30 : 5 ))" "${write[@]+"${write[@]}"}"
fuzz_verdict
