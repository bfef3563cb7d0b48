#!/usr/bin/env bash
# Creates (idempotently) the Python environment the STIX/TAXII interoperability tests of
# tiaki-share need: the OASIS validator, the OASIS TAXII client and the reference TAXII
# server, at the versions the research note verified.
#
#   bash scripts/interop-env.sh            # then run the `export` line it prints
#   TIAKI_INTEROP_VENV=/path bash scripts/interop-env.sh
#
# Needs python3 with the venv module; on Debian/Ubuntu, python3-venv is installed with
# apt-get when missing and we are root.
set -euo pipefail

VENV="${TIAKI_INTEROP_VENV:-$HOME/.cache/tiaki/interop-venv}"
PACKAGES=(taxii2-client==2.3.0 stix2-validator==3.3.2 medallion==3.0.0)
PY="${PYTHON:-python3}"

log() { printf 'interop-env: %s\n' "$*" >&2; }

command -v "$PY" >/dev/null 2>&1 || { log "$PY not found: install python3 (3.9 or later)"; exit 1; }

# Already complete? Then only print the export line.
if [ -x "$VENV/bin/python" ] \
   && "$VENV/bin/python" - "${PACKAGES[@]}" >/dev/null 2>&1 <<'PYEOF'
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name) != want:
        sys.exit(1)
import stix2validator, taxii2client, medallion  # noqa: F401
PYEOF
then
    log "up to date: $VENV"
    echo "export TIAKI_INTEROP_PYTHON=$VENV/bin/python"
    exit 0
fi

venv_ok() {
    local probe
    probe="$(mktemp -d)"
    if "$PY" -m venv "$probe/v" >/dev/null 2>&1 && [ -x "$probe/v/bin/pip" ]; then
        rm -rf "$probe"; return 0
    fi
    rm -rf "$probe"; return 1
}

if ! venv_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        ver="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        log "python3 -m venv does not work; installing python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv"
        venv_ok || { log "python3 -m venv still fails after installing python3-venv"; exit 1; }
    else
        log "python3 -m venv does not work: install python3-venv (e.g. sudo apt-get install python3-venv)"
        exit 1
    fi
fi

# A half-made venv (interrupted run) without pip is recreated.
if [ -d "$VENV" ] && [ ! -x "$VENV/bin/pip" ]; then
    log "removing incomplete venv $VENV"
    rm -rf "$VENV"
fi
if [ ! -d "$VENV" ]; then
    log "creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
fi
log "installing ${PACKAGES[*]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"
"$VENV/bin/python" -c 'import stix2validator, taxii2client, medallion' \
    || { log "the packages do not import; see the pip output above"; exit 1; }
[ -x "$VENV/bin/medallion" ] || { log "$VENV/bin/medallion is missing"; exit 1; }
log "ready: $VENV"
echo "export TIAKI_INTEROP_PYTHON=$VENV/bin/python"
