#!/usr/bin/env bash
# Builds the ICICLE native libraries for BN254 from the sources inside the Go
# module github.com/ingonyama-zk/icicle-gnark/v3 (the version go.mod pins), into
# build/icicle (override with ICICLE_PREFIX):
#   - the CPU backend, always (any machine);
#   - the CUDA backend too, where nvcc exists (PATH or /usr/local/cuda/bin).
# Installs cmake from Debian's packages when it is missing. `make gpu` runs
# this, then builds bin/modex with -tags icicle.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prefix=${ICICLE_PREFIX:-$root/build/icicle}
work=$root/build/icicle-src

if ! command -v cmake >/dev/null 2>&1; then
  echo "icicle-build: installing cmake (apt-get)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y cmake; else sudo apt-get install -y cmake; fi
fi

src=$(go list -m -f '{{.Dir}}' github.com/ingonyama-zk/icicle-gnark/v3)
if [ -z "$src" ] || [ ! -d "$src/icicle" ]; then
  go mod download github.com/ingonyama-zk/icicle-gnark/v3
  src=$(go list -m -f '{{.Dir}}' github.com/ingonyama-zk/icicle-gnark/v3)
fi
version=$(go list -m -f '{{.Version}}' github.com/ingonyama-zk/icicle-gnark/v3)

nvcc=$(command -v nvcc || true)
if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
cuda=OFF
cuda_args=()
if [ -n "$nvcc" ]; then
  cuda=ON
  cuda_args=(-DCMAKE_CUDA_COMPILER="$nvcc")
fi
echo "icicle-build: icicle-gnark $version, BN254, CPU backend ON, CUDA backend $cuda, into $prefix"

# the module cache is read-only: build from a writable copy
rm -rf "$work"
mkdir -p "$work"
cp -r "$src/icicle/." "$work/"
chmod -R u+w "$work"

# ICICLE v3.2.2's CPU backend asserts on machines with 2 hardware threads: its
# vector operations start hardware_concurrency()-2 worker threads (0 there).
# Keep at least one worker. (Only the CPU backend's thread count changes.)
vecops="$work/backend/cpu/src/field/cpu_vec_ops.cpp"
old_line='return ((hw_threads > 1) ? hw_threads - 1 : 1); // reduce 1 for the main'
if grep -qF "$old_line" "$vecops"; then
  sed -i 's|return ((hw_threads > 1) ? hw_threads - 1 : 1); // reduce 1 for the main|return ((hw_threads > 2) ? hw_threads - 1 : 2); // modex: at least one worker besides the main thread|' "$vecops"
  grep -q "modex: at least one worker" "$vecops"
else
  echo "icicle-build: cpu_vec_ops.cpp changed upstream; check the worker-count patch" >&2
  exit 1
fi

jobs=${ICICLE_JOBS:-$(nproc)}
cmake -S "$work" -B "$work/build" \
  -DCURVE=bn254 -DMSM=ON -DNTT=ON -DG2=ON \
  -DCPU_BACKEND=ON -DCUDA_BACKEND="$cuda" "${cuda_args[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix"
cmake --build "$work/build" --target install -j"$jobs"
echo "$version cuda=$cuda" > "$prefix/BUILD_INFO"
echo "icicle-build: done: $prefix/lib"
ls "$prefix/lib"
