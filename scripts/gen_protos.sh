#!/usr/bin/env bash
# Regenerates the committed Python stubs in clients/python from proto/.
# Usage: scripts/gen_protos.sh [OUTDIR]   (default clients/python; tests pass a temp dir to check freshness)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-clients/python}
py=${PYTHON:-.venv/bin/python}
export PATH="$(dirname "$py"):$PATH"
mkdir -p "$out"
rm -rf "$out/aqueduct/v1"
"$py" -m grpc_tools.protoc -Iproto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  proto/aqueduct/v1/*.proto
touch "$out/aqueduct/__init__.py" "$out/aqueduct/v1/__init__.py" "$out/aqueduct/py.typed"
