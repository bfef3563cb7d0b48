#!/usr/bin/env bash
# The indicator-sweep benchmark: a million mixed indicators (STIX, MISP, CSV, plain list)
# against millions of generated events, with and without every SigmaHQ rule. Prints a
# Markdown table: load time and memory of the feeds, events per second, and the slowdown
# the indicators cause (the goal is at most 1.2x with a million indicators).
#
# Usage: bench/indicators.sh [N_INDICATORS] [N_EVENTS]   (defaults 1000000 5000000)
#   EVENTS=FILE reuses an existing generated JSON Lines file instead of writing one.
# Needs: the shared data beside the repository (../shared), python3, /usr/bin/time.
# Writes only under a temporary directory (removed at the end); no network.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
n_ind=${1:-1000000}
n_events=${2:-5000000}
sigma="$shared/data/sigma"
regression="$shared/data/vectors/sigma/sigmahq-regression/events.jsonl"
rules=(--rules "$sigma/rules" --rules "$sigma/rules-emerging-threats" --rules "$sigma/rules-threat-hunting")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tiaki-ioc-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

(cd "$repo" && cargo build --release -q -p tiaki-cli)
tiaki="${CARGO_TARGET_DIR:-$repo/target}/release/tiaki"

python3 "$here/gen_indicators.py" "$regression" "$tmp/intel" "$n_ind" >&2
events=${EVENTS:-}
if [ -z "$events" ]; then
  events="$tmp/events.jsonl"
  python3 "$here/gen_jsonl.py" "$regression" "$events" "$n_events"
fi
n_events=$(wc -l <"$events")

rows=()
# run LABEL COMMAND...: one run; records wall seconds, the run's own pipeline seconds, peak
# RSS and the indicator summary line.
run() {
  local label=$1; shift
  /usr/bin/time -v -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || {
    local rc=$?; [ $rc -eq 1 ] || [ $rc -eq 2 ] || { cat "$tmp/err" >&2; exit $rc; }
  }
  local wall rss inner load
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tmp/time")
  inner=$(grep -o 'events from [0-9]* files in [0-9.]* s' "$tmp/err" | awk '{print $(NF-1)}' || true)
  load=$(grep -o 'indicators: [0-9]* loaded in [0-9.]* s' "$tmp/err" | awk '{print $(NF-1)}' || true)
  local rate
  rate=$(awk -v e="$n_events" -v w="${inner:-0}" 'BEGIN { if (w > 0) printf "%.0f", e / w; else print "-" }')
  rows+=("| $label | $wall | ${load:--} | ${inner:--} | $rate | $rss |")
  grep -E '^indicators:' "$tmp/err" >&2 || true
  echo "done: $label (${wall}s)" >&2
}

printf 'x\n' >"$tmp/nothing.log"
run "load ${n_ind} indicators only" "$tiaki" hunt "$tmp/nothing.log" --intel "$tmp/intel" --format jsonl
run "dump --count (reading)" "$tiaki" dump --count "$events"
run "hunt, no rules, ${n_ind} indicators" "$tiaki" hunt "$events" --intel "$tmp/intel" --format jsonl -o "$tmp/a.jsonl"
run "hunt, all SigmaHQ rules" "$tiaki" hunt "$events" "${rules[@]}" --format jsonl -o "$tmp/b.jsonl"
run "hunt, all SigmaHQ rules + ${n_ind} indicators" "$tiaki" hunt "$events" "${rules[@]}" --intel "$tmp/intel" --format jsonl -o "$tmp/c.jsonl"

echo
echo "Machine: $(nproc) CPUs, $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
echo "$n_events generated events ($(du -h "$events" | cut -f1)), $n_ind indicators ($(du -sh "$tmp/intel" | cut -f1) of feeds)"
echo
echo "| run | wall s | feed load s | pipeline s | events/s (pipeline) | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "One run each. wall = whole process (rule compile and feed loading included); pipeline = the run's own summary time (reading + matching + sweeping + output)."
