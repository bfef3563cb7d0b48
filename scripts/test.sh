#!/usr/bin/env bash
# The test command from the README: installs what the tests need, then runs
# every test of the workspace, formatting and lint checks.
#
# Needs only the Rust toolchain (and network access to the package
# registries for the first build; Chromium is installed from Debian's
# packages when missing). The shared reference data is expected at
# ../shared relative to the repository (tests fail, never skip, without it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/data ]; then
    echo "error: ../shared/data is missing; the tests read the shared reference data" >&2
    exit 1
fi

# The report and console tests drive headless Chromium (Debian's chromium and
# chromium-driver packages), the distributed tests run nats-server; all are
# installed from Debian's packages when missing.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# The distributed-hunting tests start real NATS servers (a single one and a
# three-node JetStream cluster).
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]} (Debian packages) for the browser tests"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# The interoperability tests run the OASIS peers from PyPI (taxii2-client,
# medallion, stix2-validator) from a virtual environment; the script prints
# the export line that tells the tests where its python is.
echo "== interop virtual environment (taxii2-client, medallion, stix2-validator)"
eval "$(bash scripts/interop-env.sh)"
export TIAKI_INTEROP_PYTHON

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== benchmarks compile"
cargo bench --workspace --locked --no-run

# Last, so that the closing lines of this script are the test runner's.
echo "== cargo test (release: the regression matrix and readers are data-heavy)"
cargo test --workspace --release --locked
