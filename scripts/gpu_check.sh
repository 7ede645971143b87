#!/usr/bin/env bash
# The GPU check (issue 27): runs the device paths on a CUDA machine and prints their figures.
# One command, at most 8 minutes. Where the project's packages are missing (a bare CUDA image),
# wheels in .whl/ (and an unpacked site folder in .gpudata/site/) are installed to /tmp/site first.
# Usage: scripts/gpu_check.sh [DATA_DIR] [OUT_DIR]   (DATA_DIR: trumpet melodies, `make demo`'s data/trumpet)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-data/trumpet}"
out="${2:-/tmp/gpu_check}"
PY="${PYTHON:-python3}"
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if [ -d .whl ] && ! "$PY" -c "import librosa, soundfile, kymatio, torchcrepe" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/.gpudata/site:${PYTHONPATH:-}"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONUNBUFFERED=1
timeout 480 "$PY" benchmarks/bench_gpu.py --data "$data" --out "$out" "${@:3}"
