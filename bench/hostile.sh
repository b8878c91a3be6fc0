#!/usr/bin/env bash
# CPU time and peak RSS of `tikcast decode` (release) on the worst inputs we can build
# within the decode caps (crates/tikcast-core/tests/common/hostile.rs: gzip members,
# messages, likes, empty nested values, many users, long strings, a template that names
# one piece millions of times, nesting past the limit). Appends a section to
# bench/RESULTS.md (--no-write: print it only). Part of `npm run bench`, not `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
write=1
[ "${1:-}" = "--no-write" ] && write=0
if [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y time >/dev/null
fi
cargo build -q --release -p tikcast
dir=target/hostile
rm -rf "$dir"
cargo run -q --release -p tikcast-core --example hostile_inputs -- "$dir" >"$dir.list"
bin=target/release/tikcast
load=$(uptime | sed 's/.*load average: //')
rows=""
while IFS=$'\t' read -r name bytes what; do
  best_cpu=""; rss=""; wall=""
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %U %S %M' -o "$dir/$name.time" "$bin" decode "$dir/$name.bin" \
      >/dev/null 2>"$dir/$name.err" && code=0 || code=$?
    # GNU time writes "Command exited with non-zero status N" first when it does.
    read -r e u s m < <(tail -n 1 "$dir/$name.time")
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
      best_cpu=$cpu; wall=$e
    fi
    [ -z "$rss" ] || [ "$m" -gt "$rss" ] && rss=$m
  done
  outcome="decoded"
  [ "$code" != 0 ] && outcome="refused: $(head -c 160 "$dir/$name.err" | sed 's/^tikcast: cannot decode input: //; s/|/\\|/g')"
  rows+="| \`$name\` | $what | $bytes | $best_cpu s | $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB | $outcome |"$'\n'
done <"$dir.list"
section="## Hostile inputs: CPU and peak RSS of \`tikcast decode\` ($(date -u '+%Y-%m-%d %H:%M UTC'))

\`\`\`sh
bash bench/hostile.sh
\`\`\`

- tikcast $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes'), release build; load average before: $load (other work may share the 2 cores).
- Each input is the worst of its kind that fits the 4 MiB frame cap (and, inflated, the 8 MiB cap where it can), made by \`crates/tikcast-core/examples/hostile_inputs.rs\`. CPU is user + system time, the best of 3 runs; peak RSS the largest of 3 (GNU time's maximum resident set size), for the whole process (about 2 MiB of it is the binary itself).
- Before the caps of \`DecodeOptions\` (the probe in the hardening issue): 200,000 empty gzip members took 15.9 s of CPU; 599,181 unknown-method messages took \`decode\` to 1.07 GB and \`watch\` to 2.0 GB; 484 KB of likes took \`watch\` to 772 MB; a 64 MB \`decode --batch\` to 3.5 GB.

| input | what | frame bytes | CPU | peak RSS | outcome |
|---|---|---:|---:|---:|---|
$rows"
echo "$section"
if [ "$write" = 1 ]; then
  printf '\n%s' "$section" >>bench/RESULTS.md
  echo "[hostile] appended to bench/RESULTS.md" >&2
fi
