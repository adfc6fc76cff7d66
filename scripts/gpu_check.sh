#!/usr/bin/env bash
# The GPU check (at most about 8 minutes on one GPU): each chapter's paper profile for one epoch on
# a smoke-sized export at the paper's resolution, on CUDA (bf16 autocast, channels_last); prints
# samples/s, peak GPU memory and the projected time of each full paper run. Never part of CI.
# Usage: bash scripts/gpu_check.sh [01 02 ...] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3   # a GPU machine with its own torch
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: no CUDA device here')"
"$PY" benchmarks/gpu_check.py "$@"
