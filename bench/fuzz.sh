#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of decoder v2's schema reader against
# the typed prost oracle: targets reader_frame, reader_batch and reader_message in
# crates/tikcast-core/fuzz (the rule they check is in its src/lib.rs), and of the session
# the SDK and the relay run (session_batch: streaks, like windows, copied gift events,
# its own rule). Appends a section
# to bench/RESULTS.md with executions, exec/s, coverage, crashes and corpus size per
# target (--no-write: print it only). Part of `npm run bench`, not `npm test`.
#   bash bench/fuzz.sh                       # 200 s a target, 13 minutes in all
#   FUZZ_SECONDS=30 bash bench/fuzz.sh --no-write
#   FUZZ_TARGETS=reader_message bash bench/fuzz.sh
# Seeds are made at run time from the real captures ($TIKCAST_CORPUS, default
# ../shared/corpus) into target/fuzz/seeds; without them the targets start from nothing
# (and the section says so). Each run starts from the seeds alone (its corpus,
# target/fuzz/corpus/TARGET, is emptied first; FUZZ_KEEP_CORPUS=1 keeps it). A failed
# check or a panic is a crash: libFuzzer saves the input under
# target/fuzz/artifacts/RUN/TARGET/ and the script restarts the target for the rest of
# its time (up to 10 crashes a target), so the crashes of the window are counted.
# Needs cargo-fuzz
# (`cargo install cargo-fuzz`); on the stable toolchain it builds with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
write=1
[ "${1:-}" = "--no-write" ] && write=0
secs="${FUZZ_SECONDS:-200}"
read -r -a targets <<<"${FUZZ_TARGETS:-reader_frame reader_batch reader_message session_batch}"
corpus="${TIKCAST_CORPUS:-../shared/corpus}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is not installed: run \`cargo install cargo-fuzz\` (crates.io) and try again" >&2
  exit 1
fi
fuzz_dir=crates/tikcast-core/fuzz
work=target/fuzz
# No sanitizer: tikcast-core forbids unsafe code, so what we hunt is panics, overflow
# (debug assertions and overflow checks stay on, cargo-fuzz's default) and differences
# from the oracle; AddressSanitizer would only watch zlib-rs (fuzzed upstream) at about
# half the executions a second.
build=(--fuzz-dir "$fuzz_dir" --sanitizer none --target-dir "$work/build")
echo "[fuzz] building the targets (RUSTC_BOOTSTRAP=1 cargo fuzz build)" >&2
RUSTC_BOOTSTRAP=1 cargo fuzz build "${build[@]}" >&2
bin="$work/build/x86_64-unknown-linux-gnu/release"
rm -rf "$work/seeds"
if ls "$corpus"/*.json >/dev/null 2>&1; then
  seeds_note="seeds made from the real captures in \`$corpus\` by \`bench/fuzz_seeds.py\`: $(python3 bench/fuzz_seeds.py "$corpus" "$work/seeds")"
else
  echo "[fuzz] no corpus at $corpus (set TIKCAST_CORPUS to the directory of real captures): the targets start without seeds" >&2
  seeds_note="NO SEEDS: no corpus at \`$corpus\`; the targets started from nothing"
fi
# 1234567 -> 1,234,567
commas() { sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"; }
run=$(date -u '+%Y%m%d-%H%M%S')
load_before=$(uptime | sed 's/.*load average: //')
start=$SECONDS
rows=""
crashes_all=0
for t in "${targets[@]}"; do
  mkdir -p "$work/seeds/$t" "$work/corpus/$t" "$work/artifacts/$run/$t" "$work/logs/$run"
  [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || find "$work/corpus/$t" -type f -delete
  seeds_n=$(find "$work/seeds/$t" -type f | wc -l)
  execs=0; crashes=0; rss=0; part=0; status=""
  t_start=$SECONDS
  # A crash ends a libFuzzer run: restart for the rest of the time, up to 10 crashes (an
  # input that crashes at start-up would otherwise be counted again and again).
  while (( SECONDS - t_start < secs && crashes < 10 )); do
    part=$((part + 1))
    log="$work/logs/$run/$t.$part.log"
    left=$((secs - (SECONDS - t_start)))
    echo "[fuzz] $t for ${left} s (load $(uptime | sed 's/.*load average: //'))" >&2
    # -timeout: one input taking 10 s is a hang (the decode caps bound real work far lower).
    if "$bin/$t" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$run/$t/" "$work/corpus/$t" "$work/seeds/$t" >"$log" 2>&1; then
      :
    else
      crashes=$((crashes + 1))
      echo "[fuzz] $t crashed; input and log: $(ls -t "$work/artifacts/$run/$t/" | head -n 1), $log" >&2
      grep -m 3 -E "panicked|differ|refused|ERROR" "$log" | cut -c 1-400 >&2 || true
    fi
    # Executions: libFuzzer's final stats (printed on a crash too), else its last status line.
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$n" ] || n=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    execs=$((execs + ${n:-0}))
    r=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
    [ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    [ -n "$last" ] && status=$last
  done
  elapsed=$((SECONDS - t_start))
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$status")
  rate=$(awk -v e="$execs" -v s="$elapsed" 'BEGIN { printf "%d", (s > 0 ? e / s : 0) }')
  crashes_all=$((crashes_all + crashes))
  echo "[fuzz] $t: $execs executions in $elapsed s, $crashes crashes, cov $cov ft $ft corpus $corp" >&2
  rows+="| \`$t\` | $elapsed s | $(commas "$execs") | $(commas "$rate") | $cov / $ft | **$crashes** | $seeds_n → ${corp:-?} | $rss MiB |"$'\n'
done
total=$((SECONDS - start))
load_after=$(uptime | sed 's/.*load average: //')
section="## Fuzzing the reader against the oracle, and the session: $((total / 60)) min $((total % 60)) s ($(date -u '+%Y-%m-%d %H:%M UTC'))

\`\`\`sh
FUZZ_SECONDS=$secs bash bench/fuzz.sh
\`\`\`

- tikcast $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes'); cargo-fuzz $(cargo fuzz --version | awk '{print $2}') (libFuzzer), $(rustc --version | awk '{print $1, $2}') with RUSTC_BOOTSTRAP=1, release with debug assertions and overflow checks, no sanitizer; one fuzzing process at a time. Load average before: $load_before; after: $load_after (other work may share the 2 cores).
- Each \`reader_*\` target checks every input against the typed prost decoder (the oracle): no panic, every event text is JSON, the same outcome (error codes included) and frame/batch fields, and each message's events equal to the oracle's or one \`decodeError\` event where the oracle refuses too or the reader's reason is the documented one (a singular message field sent twice) or the budget (rule in \`crates/tikcast-core/fuzz/src/lib.rs\`). \`session_batch\` runs the input through a relay-mode session (\`giftRaw\` on, streaks, like windows, timers, stop): no panic, every event text is JSON, and each delivered batch written with copied gift events equals it written in full (unless either runs out of the budget). A crash is any failed check or panic; its input is kept in \`target/fuzz/artifacts/$run/\`.
- $seeds_note.
- Coverage is libFuzzer's at the end of the target's last run, over the whole binary (the reader, the oracle, gzip and serde_json alike): \`cov\` = code edges reached, \`ft\` = features (edges with hit counts and compare values); corpus = inputs kept (count/size), seeds → end. exec/s = executions / time, start-up (loading the seeds) included.

| target | time | executions | exec/s | cov / ft | crashes | corpus | peak RSS |
|---|---:|---:|---:|---:|---:|---|---:|
$rows"
echo "$section"
if [ "$write" = 1 ]; then
  printf '\n%s' "$section" >>bench/RESULTS.md
  echo "[fuzz] appended to bench/RESULTS.md" >&2
fi
if [ "$crashes_all" != 0 ]; then
  echo "[fuzz] $crashes_all crashes: inputs in $work/artifacts/$run/ (reproduce: bench/README.md)" >&2
  exit 1
fi
