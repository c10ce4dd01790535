#!/usr/bin/env bash
# The first command of the README: on a fresh machine with only Python 3.11+, install protoforge
# into .venv at the repository root, generate the route-guide example and run its demo (server
# start, one call of each streaming kind, clean stop).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    "$PYTHON" -m venv .venv
fi
echo "== installing protoforge into .venv (pinned: .ci/constraints.txt)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c .ci/constraints.txt -e .

echo "== protoforge gen (examples/routeguide)"
cd examples/routeguide
../../.venv/bin/protoforge gen

echo "== demo: examples/routeguide/demo.py"
../../.venv/bin/python demo.py
