#!/usr/bin/env bash
# Reproduce docs/benchmarks.md: installs the bench extras (reader, matplotlib) and nginx when
# it can, then runs every system side by side. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d .venv ]; then python3 -m venv .venv; fi
. .venv/bin/activate
python -m pip install --quiet -e '.[bench]'
if ! command -v nginx >/dev/null && command -v apt-get >/dev/null; then
    (apt-get install -y -q nginx-light || apt-get install -y -q nginx) >/dev/null 2>&1 \
        || echo "nginx not installed: falling back to a Python server" >&2
fi
exec python -m bench "$@"
