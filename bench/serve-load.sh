#!/usr/bin/env bash
# Load on `tiaki serve` over loopback: the TAXII 2.1 objects endpoint and the timeline API,
# each under a load generator bounded in time and in request count
# (crates/server/examples/load.rs). Prints one JSON line per endpoint: requests per second,
# latency percentiles, errors. Figures go into BENCHMARKS.md.
#
#   bash bench/serve-load.sh [EVIDENCE_DIR]     (default: examples/parliament/apt40)
#   SECONDS_EACH=20 CONCURRENCY=8 MAX_REQUESTS=200000 bash bench/serve-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
evidence=${1:-examples/parliament/apt40}
seconds=${SECONDS_EACH:-20}
concurrency=${CONCURRENCY:-8}
max=${MAX_REQUESTS:-200000}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --locked -p tiaki-cli >&2
cargo build --release --locked -p tiaki-server --example load >&2
tiaki="$target/release/tiaki"
load="$target/release/examples/load"

work=$(mktemp -d)
db="$work/tiaki.db"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$tiaki" --store "$db" hunt "$evidence" --rules rules \
    --placeholders examples/parliament/placeholders.yml --intel examples/parliament/intel \
    --yara-pack --format jsonl --case load --title "Load test" >/dev/null
"$tiaki" --store "$db" user add loader --role admin >/dev/null
token=$("$tiaki" --store "$db" user token loader 2>/dev/null | head -1)
collection=$("$tiaki" --store "$db" collection add "Load test" --max-tlp amber 2>/dev/null)

"$tiaki" --store "$db" serve --listen 127.0.0.1:0 --connections "$concurrency" --rate-limit 0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/serve.out" | head -1)
[ -n "$base" ] || { cat "$work/serve.err" >&2; exit 1; }

"$tiaki" --store "$db" share push --case load --tlp amber --taxii "$base/taxii2/" \
    --collection "$collection" --user loader --token "$token" >&2
detections=$("$tiaki" --store "$db" case list --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["detections"])')
echo "case: $detections detections; machine: $(nproc) cores, $(uname -m); $(date -u +%FT%TZ)" >&2

taxii=(--header "Accept: application/taxii+json;version=2.1" --header "Authorization: Bearer $token")
api=(--header "Authorization: Bearer $token")
run() { "$load" --concurrency "$concurrency" --seconds "$seconds" --max-requests "$max" "$@"; }
run --url "$base/taxii2/tiaki/collections/$collection/objects/?limit=100" "${taxii[@]}"
run --url "$base/taxii2/tiaki/collections/$collection/objects/?match%5Btype%5D=indicator,sighting&limit=50" "${taxii[@]}"
run --url "$base/api/v1/cases/load/timeline?limit=100" "${api[@]}"
run --url "$base/api/v1/cases/load/timeline?text=powershell&min_level=medium&limit=50" "${api[@]}"
