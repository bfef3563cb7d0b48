#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS_PER_TARGET (default 60), one after the
# other, and prints per target the executions, the time and what was found.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs nightly (rustup toolchain install nightly) and cargo-fuzz (cargo install cargo-fuzz
# --locked). FUZZ_SANITIZER (default: none; address for ASan) picks the sanitizer. Each run
# starts from fuzz/seeds/<target>/ and the working corpus fuzz/corpus/<target>/ (not kept
# in git); crashes, hangs (-timeout=10) and out-of-memory inputs (-rss_limit_mb=2048) land in
# fuzz/artifacts/<target>/. Copy each to fuzz/regressions/<target>/ under a name saying what
# it exposed once fixed: `cargo test -p tiaki-fuzz-targets` then runs it on stable.
# Exit status: 1 if any target found something.
set -euo pipefail

cd "$(dirname "$0")/.."
SECS="${1:-60}"
shift || true
SANITIZER="${FUZZ_SANITIZER:-none}"
ALL=(evtx json_events windows_xml w3c apache_combined syslog zeek csv evidence_any
     sigma_rule stix_bundle stix_pattern misp_feed taxii_request)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2; exit 2; }

echo "building ${#TARGETS[@]} targets (sanitizer: $SANITIZER)..." >&2
(cd fuzz && cargo +nightly fuzz build -a -s "$SANITIZER" >&2)

LOGS="fuzz/logs"
mkdir -p "$LOGS"
found_any=0
printf '%-16s %12s %8s %10s  %s\n' target executions seconds exec/s findings
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="$LOGS/$t.log"
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    start=$(date +%s)
    # One target at a time (the machine has few cores); a run stops at its first finding so
    # that it can be fixed, then the target is run again.
    set +e
    (cd fuzz && cargo +nightly fuzz run -a -s "$SANITIZER" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/") >"$log" 2>&1
    rc=$?
    set -e
    # Fuzzing time as libFuzzer counts it (the wall time also includes any rebuild).
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n1 | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
    [ -n "$secs" ] || secs=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)
    after=$(ls "fuzz/artifacts/$t" | wc -l)
    new=$(( after - before ))
    findings="none"
    if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
        found_any=1
        findings="exit $rc, $new new artifact(s) in fuzz/artifacts/$t (log: $log)"
    fi
    printf '%-16s %12s %8s %10s  %s\n' "$t" "${execs:-?}" "$secs" "${rate:-?}" "$findings"
done
exit "$found_any"
