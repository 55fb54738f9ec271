#!/usr/bin/env bash
# The GPU checks in one run (under 10 minutes on one H200; each step has a time limit): the gpu test
# tier, the scaling series at K = 3 (50k / 150k / 350k, with peak device memory), the canonical
# three-round tutorial, then K = 2. The first run of this script (before commit 58b3430) stalled in
# the sweep: docs/benchmarks.md ("On a GPU") says why.
# Logs go to $OUT (default gpu-out/). Run from the repository root where JAX sees a GPU:
#     bash benchmarks/gpu_checks.sh
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
step() { local name=$1 limit=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"; }
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import jax, numpy; print('jax', jax.__version__, jax.devices(), 'numpy', numpy.__version__)"; } \
  2>&1 | tee "$OUT/machine.txt"
# One minute first: a sweep that stalls on the device shows here, not after the whole budget.
step smoke ${SMOKE_LIMIT:-60} python3 benchmarks/profile_sweep.py --n 50000 --iterations 4 --repeats 1 \
  || { echo "the sweep smoke run failed or ran past its limit: stopping"; exit 1; }
step gpu_tier ${TIER_LIMIT:-70} python3 -m pytest -m gpu tests/core/posterior/test_gpu.py -q -p no:cacheprovider
step scaling_k3 ${SCALING_LIMIT:-180} python3 benchmarks/scaling.py --engines pytyche --k 3 --n 50000 150000 350000
step tutorial ${TUTORIAL_LIMIT:-190} python3 benchmarks/tutorial_time.py --visitors ${TUTORIAL_VISITORS:-50000}
step scaling_k2 ${SCALING_K2_LIMIT:-100} python3 benchmarks/scaling.py --engines pytyche --k 2 --n 50000 150000 350000
