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

# The report test renders the HTML report in headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (Debian package) for the report rendering test"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    else
        sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    fi
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== benchmarks compile"
cargo bench --workspace --locked --no-run

# Last, so that the closing lines of this script are the test runner's.
echo "== cargo test (release: the regression matrix and readers are data-heavy)"
cargo test --workspace --release --locked
