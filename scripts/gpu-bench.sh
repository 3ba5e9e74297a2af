#!/usr/bin/env bash
# The GPU figures in one command, on a machine with an NVIDIA GPU and nvcc:
# builds ICICLE with its CUDA backend and bin/modex-gpu (make gpu), runs the
# icicle-tagged tests on CUDA, then proves the same full batches of real
# transactions with the CPU prover (every core of the machine) and with the
# ICICLE CUDA prover, in one run, and writes the JSON to build/gpu-bench.json.
#
#   FAMILY=Trade SIZES=16,64 RUNS=3 scripts/gpu-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${FAMILY:-Trade}
SIZES=${SIZES:-16,64}
RUNS=${RUNS:-3}
PARAMS=${PARAMS:-prod}

if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "gpu-bench: no nvcc (CUDA toolkit); the CUDA backend cannot be built here" >&2
  exit 1
fi
mkdir -p build
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee build/gpu-info.txt
echo "cpus: $(nproc)" | tee -a build/gpu-info.txt
make gpu
libs=$PWD/build/icicle/lib/backend
MODEX_ICICLE_BACKEND=CUDA MODEX_ICICLE_LIBS=$libs make test-icicle
./bin/modex-gpu bench prove --json --params "$PARAMS" --family "$FAMILY" --sizes "$SIZES" --runs "$RUNS" \
  --backend both --icicle-backend CUDA --icicle-libs "$libs" --pin | tee build/gpu-bench.json
echo "gpu-bench: figures in build/gpu-bench.json (record them in docs/benchmarks.md with this command)"
