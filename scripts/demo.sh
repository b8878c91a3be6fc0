#!/usr/bin/env bash
# `npm run demo`: the overlay (www/) against a local `tikcast relay` that replays the
# bundled demo session (tests/fixtures/demo-session.tkrec: two minutes of invented chat,
# gift streaks, likes, joins, follows, a battle and a stream end, made by our own encoder),
# so no TikTok account is needed. Builds what is missing (the release binary, js/dist),
# binds 127.0.0.1 only, prints the URL to open, and runs until Ctrl-C.
#
#   bash scripts/demo.sh [--max-seconds N]
#
# Environment: TIKCAST_DEMO_PORT (web, default 8000) and TIKCAST_DEMO_RELAY_PORT (relay,
# default 8080), each falling back to a free port when taken (0 = always a free one);
# TIKCAST_DEMO_SECONDS=N (or --max-seconds N) stops by itself after N seconds and first
# checks that the page, the package and the relay answer (what `npm test` does);
# TIKCAST_DEMO_PROFILE=debug uses the debug binary (`npm test`, which has built it
# already, saves the release build: about 5 minutes on a cold 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${TIKCAST_DEMO_SECONDS:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --max-seconds) seconds="$2"; shift 2 ;;
    *) echo "demo: unknown argument $1 (try --max-seconds N)" >&2; exit 2 ;;
  esac
done
web_port="${TIKCAST_DEMO_PORT:-8000}"
relay_port="${TIKCAST_DEMO_RELAY_PORT:-8080}"
say() { printf 'demo: %s\n' "$*" >&2; }

for tool in cargo node npm; do
  command -v "$tool" > /dev/null || { say "$tool is not installed (the demo needs Rust and Node >= 20)"; exit 1; }
done

if [ "${TIKCAST_DEMO_PROFILE:-release}" = debug ]; then
  say "building tikcast (debug)"
  cargo build --quiet -p tikcast --locked
  bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/tikcast"
else
  say "building tikcast (release)"
  cargo build --quiet --release -p tikcast --locked
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/tikcast"
fi

stale=""
if [ ! -f js/dist/index.js ] || [ ! -f js/dist/wasm/tikcast_wasm_bg.wasm ]; then
  stale="js/dist is missing"
else
  newer=$(find crates/tikcast-core/src crates/tikcast-wasm/src crates/tikcast-wasm/Cargo.toml \
    proto js/src js/package.json -newer js/dist/index.js -type f -not -path 'js/src/wasm/*' -print -quit)
  [ -n "$newer" ] && stale="$newer changed"
fi
if [ -n "$stale" ]; then
  say "building the browser package ($stale)"
  bash scripts/build.sh > /dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tikcast-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the address a started process listens on (its first stdout line).
listening() {
  for _ in $(seq 150); do
    if [ -s "$work/$1.out" ]; then
      sed -n '1s/.*"listening":"\([^"]*\)".*/\1/p' "$work/$1.out"
      return
    fi
    if ! kill -0 "$2" 2> /dev/null; then break; fi
    sleep 0.1
  done
  return 1
}

limit=()
[ -n "$seconds" ] && limit=(--max-seconds "$seconds")

node scripts/serve.mjs --port "$web_port" --fallback "${limit[@]}" > "$work/web.out" 2> "$work/web.err" &
pids+=("$!")
web=$(listening web "$!") || { say "the web server did not start: $(cat "$work/web.err")"; exit 1; }
web_port=${web##*:}

start_relay() {
  "$bin" relay --listen "127.0.0.1:$1" --upstream replay:tests/fixtures/demo-session.tkrec --loop \
    --no-auth --public-api --gifts tests/fixtures/demo-gifts.json \
    --allow-origin "http://127.0.0.1:$web_port" --allow-origin "http://localhost:$web_port" \
    "${limit[@]}" > "$work/relay.out" 2> "$work/relay.err" &
  pids+=("$!")
  relay=$(listening relay "$!")
}
if ! start_relay "$relay_port"; then
  if [ "$relay_port" != 0 ] && grep -qi "in use" "$work/relay.err"; then
    say "port $relay_port is taken, using a free one"
    start_relay 0 || { say "the relay did not start: $(cat "$work/relay.err")"; exit 1; }
  else
    say "the relay did not start: $(cat "$work/relay.err")"
    exit 1
  fi
fi

url="http://$web/?relay=ws://$relay/ws&uniqueId=demo.host"
echo "tikcast demo: open $url"
echo "  OBS browser source: $url&transparent=1"
echo "  without the relay (the recording played in the page): http://$web/?replay=/demo/demo-session.tkrec"
echo "  widgets for OBS (pick one, preview it on the replay, copy its URL): http://$web/builder.html?relay=ws://$relay/ws&uniqueId=demo.host"
echo "  relay: ws://$relay/ws (replaying tests/fixtures/demo-session.tkrec, looped: the session"
echo "  lasts 2 minutes and ends with a stream end; reload the page to watch it again)"

if [ -n "$seconds" ]; then
  # Self-check: the page, the package, the relay's health, gifts and room answer.
  node - "$web" "$relay" << 'JS'
const [web, relay] = process.argv.slice(2);
const checks = [
  [`http://${web}/`, (t) => t.includes('overlay.js')],
  [`http://${web}/overlay.js`, (t) => t.includes('TikTokLiveConnection')],
  [`http://${web}/pkg/index.js`, (t) => t.length > 0],
  [`http://${web}/builder.html`, (t) => t.includes('builder.js')],
  [`http://${web}/widget.html`, (t) => t.includes('widget.js')],
  [`http://${web}/pkg/widgets/index.js`, (t) => t.includes('tikcast-chat')],
  [`http://${relay}/healthz`, (t) => t.includes('ok')],
  [`http://${relay}/api/gifts`, (t) => JSON.parse(t).length > 0],
  [`http://${relay}/api/rooms/demo.host`, (t) => JSON.parse(t).uniqueId === 'demo.host'],
];
for (const [url, ok] of checks) {
  const r = await fetch(url);
  const text = await r.text();
  if (!r.ok || !ok(text)) {
    console.error(`demo: ${url} answered ${r.status}: ${text.slice(0, 200)}`);
    process.exit(1);
  }
}
console.log('demo: page, package and relay answer');
JS
fi
say "running; Ctrl-C stops"
wait -n "${pids[@]}" || true
