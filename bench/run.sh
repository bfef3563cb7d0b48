#!/usr/bin/env bash
# Whole-run benchmarks of tiaki: reading alone (`dump --count`), reading + every SigmaHQ rule
# (`hunt`), peak memory, and rule compile time. Prints a Markdown table.
#
# Usage: bench/run.sh [N_EVENTS]   (default 5000000 generated JSON Lines events)
# Needs: the shared data beside the repository (../shared), python3, /usr/bin/time.
# Writes only under a temporary directory (removed at the end); no network.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
n_events=${1:-5000000}
samples="$shared/data/evtx/EVTX-ATTACK-SAMPLES"
sigma="$shared/data/sigma"
rules=(--rules "$sigma/rules" --rules "$sigma/rules-emerging-threats" --rules "$sigma/rules-threat-hunting")
for p in "$samples" "$sigma/rules" "$shared/data/vectors/sigma/sigmahq-regression/events.jsonl"; do
  [ -e "$p" ] || { echo "missing shared data: $p" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tiaki-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

(cd "$repo" && cargo build --release -q -p tiaki-cli)
tiaki="$repo/target/release/tiaki"

rows=()
# measure RUNS LABEL COMMAND... : runs the command RUNS times; records the median wall seconds
# (and that run's summary time), the largest peak RSS, and the events read.
measure() {
  local runs=$1 label=$2; shift 2
  local results=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -v -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || {
      local rc=$?; [ $rc -eq 1 ] || { cat "$tmp/err" >&2; exit $rc; }
    }
    local wall rss events inner
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tmp/time")
    events=$(grep -o 'read [0-9]* events' "$tmp/err" | head -1 | awk '{print $2}')
    inner=$(grep -o 'events from [0-9]* files in [0-9.]* s' "$tmp/err" | awk '{print $(NF-1)}')
    results+=("$wall ${inner:-0} $rss ${events:-0}")
  done
  local median maxrss
  median=$(printf '%s\n' "${results[@]}" | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2)')
  maxrss=$(printf '%s\n' "${results[@]}" | awk '$3 > m {m = $3} END {print m}')
  read -r wall inner _ events <<<"$median"
  local rate inner_rate
  rate=$(awk -v e="$events" -v w="$wall" 'BEGIN { if (w > 0) printf "%.0f", e / w; else print "-" }')
  inner_rate=$(awk -v e="$events" -v w="$inner" 'BEGIN { if (w > 0) printf "%.0f", e / w; else print "-" }')
  rows+=("| $label | $events | $wall | $rate | $inner | $inner_rate | $maxrss |")
  echo "done: $label (median of $runs: ${wall}s)" >&2
}

# Rule compile time (load + parse + compile, all cores).
/usr/bin/time -v -o "$tmp/time" "$tiaki" rules check "$sigma/rules" "$sigma/rules-emerging-threats" \
  "$sigma/rules-threat-hunting" --format json >"$tmp/check.json" 2>/dev/null || true
compile_s=$(python3 -c "import json,sys; d=json.load(open('$tmp/check.json')); print(f\"{d['seconds']:.2f} s for {d['loaded']} rules ({d['rejected']} rejected)\")")
compile_rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tmp/time")

# EVTX-ATTACK-SAMPLES, and the same set replicated 10 times (symbolic links to the files).
for i in $(seq 0 9); do cp -rs "$samples" "$tmp/x10-$i"; done
measure 5 "EVTX samples: dump --count (reading)" "$tiaki" dump --count "$samples"
measure 5 "EVTX samples: dump to JSONL" "$tiaki" dump "$samples" -o /dev/null
measure 5 "EVTX samples: hunt, all SigmaHQ rules" "$tiaki" hunt "$samples" "${rules[@]}" --format jsonl -o /dev/null
measure 3 "EVTX samples ×10: dump --count" "$tiaki" dump --count "$tmp"/x10-*
measure 3 "EVTX samples ×10: hunt, all SigmaHQ rules" "$tiaki" hunt "$tmp"/x10-* "${rules[@]}" --format jsonl -o /dev/null

# Generated JSON Lines.
python3 "$here/gen_jsonl.py" "$shared/data/vectors/sigma/sigmahq-regression/events.jsonl" "$tmp/events.jsonl" "$n_events"
size=$(du -h "$tmp/events.jsonl" | cut -f1)
measure 1 "JSONL ${n_events} events ($size): dump --count" "$tiaki" dump --count "$tmp/events.jsonl"
measure 1 "JSONL ${n_events} events: hunt, all SigmaHQ rules" "$tiaki" hunt "$tmp/events.jsonl" "${rules[@]}" --format jsonl -o "$tmp/hits.jsonl"
hits=$(wc -l <"$tmp/hits.jsonl")

echo
echo "Machine: $(nproc) CPUs, $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
echo "Rule compile (\`rules check\`, 3 SigmaHQ directories): $compile_s, peak RSS $compile_rss MiB"
echo
echo "| run | events | wall s | events/s (wall) | pipeline s | events/s (pipeline) | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "Median of 5 runs (samples), 3 (×10), 1 (JSONL). wall = whole process (hunt includes loading and compiling the rules); pipeline = the run's own"
echo "summary time (reading + matching + output, without rule loading). JSONL hunt wrote $hits detections."
