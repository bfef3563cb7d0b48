#!/usr/bin/env bash
# Distributed hunting throughput on this machine: a fresh single nats-server
# (JetStream, file storage) per run; `tiaki ingest` of the scenario, then 1, 2
# and 4 `tiaki worker`s hunt it with the project rules and the partner intel
# while `tiaki collect --until-drained` stores the detections. Prints, per
# worker count: events, ingest time and rate, hunt time (workers started →
# collect drained) and rate, detections stored, and the stream's bytes/event.
#
#   bash bench/distributed.sh [EVIDENCE_DIR]   (default: a scale-1 apt40 scenario,
#                                               generated under /var/tmp if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TIAKI:-${CARGO_TARGET_DIR:-target}/release/tiaki}
[ -x "$T" ] || cargo build --release -q
EV=${1:-/var/tmp/scen/apt40}
if [ ! -d "$EV" ]; then
    "$T" scenario generate --out "$EV" --scale 1 >/dev/null
fi
NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
PACK=(--rules rules --placeholders examples/parliament/placeholders.yml --intel examples/parliament/intel)
printf '%-8s %9s %9s %11s %9s %11s %11s %10s\n' workers events ingest_s ingest_ev/s hunt_s hunt_ev/s detections bytes/ev
for n in ${WORKERS:-1 2 4}; do
    dir=$(mktemp -d /var/tmp/tiaki-dist-bench.XXXX)
    port=$((20000 + RANDOM % 20000))
    "$NATS" -js -sd "$dir/js" -a 127.0.0.1 -p "$port" -m $((port + 1)) >"$dir/nats.log" 2>&1 &
    npid=$!
    trap 'kill $npid 2>/dev/null; rm -rf "$dir"' EXIT
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$((port + 1))/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    url="nats://127.0.0.1:$port"
    "$T" rollout --nats "$url" "${PACK[@]}" >/dev/null 2>&1
    s=$(date +%s.%N)
    ev=$("$T" ingest "$EV" --nats "$url" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
    e=$(date +%s.%N)
    s2=$(date +%s.%N)
    pids=()
    for i in $(seq "$n"); do
        "$T" worker --nats "$url" --id "w$i" >/dev/null 2>"$dir/w$i.log" &
        pids+=($!)
    done
    det=$("$T" --store "$dir/case.db" collect --nats "$url" --case bench --until-drained --analyse-every 3600 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["added"])')
    e2=$(date +%s.%N)
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    bytes=$(curl -sf "http://127.0.0.1:$((port + 1))/jsz?streams=true" | python3 -c '
import json,sys
d=json.load(sys.stdin)
for a in d.get("account_details",[]):
    for s in a.get("stream_detail",[]):
        if s["name"]=="TIAKI_EVENTS": print(s["state"]["bytes"])')
    python3 - "$n" "$ev" "$s" "$e" "$s2" "$e2" "$det" "$bytes" <<'PY'
import sys
n, ev, s, e, s2, e2, det, b = sys.argv[1:]
ev = int(ev); ing = float(e) - float(s); hunt = float(e2) - float(s2)
print(f"{n:<8} {ev:>9} {ing:>9.2f} {ev/ing:>11.0f} {hunt:>9.2f} {ev/hunt:>11.0f} {det:>11} {int(b)/ev:>10.0f}")
PY
    kill $npid 2>/dev/null || true
    wait $npid 2>/dev/null || true
    rm -rf "$dir"
    trap - EXIT
done
