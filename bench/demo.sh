#!/usr/bin/env bash
# The demo benchmark: `tiaki demo` on each scenario at a few scales, with the project's rules
# only and with every SigmaHQ rule added. Generation is timed on its own (`tiaki scenario
# generate`), then the whole demo (generation + hunt + incidents + attribution + reports).
# Prints a Markdown table: scenario, scale, events, evidence MB, generation s, demo s,
# detections, incidents, peak RSS. Everything goes to a temporary directory that is removed.
#
# Usage: bench/demo.sh [SCALES...]   (default: 1 5)
set -euo pipefail
cd "$(dirname "$0")/.."
SIGMA=../shared/data/sigma/rules
cargo build --release --locked -q -p tiaki-cli
BIN=${CARGO_TARGET_DIR:-target}/release/tiaki
SCALES=${*:-1 5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "| scenario | scale | rules | events | evidence MB | generate s | demo s (wall) | detections | incidents | peak RSS MiB |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for scale in $SCALES; do
  for scenario in apt40 apt31 background; do
    gen="$WORK/gen-$scenario-$scale"
    g0=$(date +%s.%N)
    "$BIN" scenario generate --scenario "$scenario" --scale "$scale" --out "$gen" > "$WORK/gen.out"
    g1=$(date +%s.%N)
    events=$(sed -E 's/^[a-z0-9]+: ([0-9]+) events.*/\1/' "$WORK/gen.out")
    mb=$(du -sm "$gen" | cut -f1)
    rm -rf "$gen"
    for rules in project sigmahq; do
      extra=()
      [ "$rules" = sigmahq ] && extra=(--rules "$SIGMA")
      d="$WORK/demo-$scenario-$scale-$rules"
      /usr/bin/time -v "$BIN" demo --scenario "$scenario" --scale "$scale" --dir "$d" "${extra[@]}" \
        > "$WORK/demo.out" 2> "$WORK/demo.err"
      wall=$(grep "Elapsed (wall clock)" "$WORK/demo.err" | awk '{print $NF}')
      rss=$(grep "Maximum resident" "$WORK/demo.err" | awk '{print int($NF/1024)}')
      dets=$(grep -E "^detections: [0-9]+ \(" "$WORK/demo.out" | sed -E 's/detections: ([0-9]+) \(([0-9]+) incidents\)/\1 \2/')
      echo "| $scenario | $scale | $rules | $events | $mb | $(echo "$g1 - $g0" | bc) | $wall | ${dets% *} | ${dets#* } | $rss |"
      rm -rf "$d"
    done
  done
done
