#!/usr/bin/env bash
# Every GPU check in one call, for a lent device machine (15 minutes of device time in all).
#
#   bash benchmarks/gpu_check.sh --prepare     # here, with the package index: wheels into .whl/
#   device run: command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=570
#
# The device image has torch, scipy and pytest but not zarr; --prepare downloads zarr and the
# three packages it adds (no dependencies resolved there: nothing can be fetched on the device).
# Each step has its own time limit and the script goes on after a failure, so one call returns
# everything it could measure: logs under $OUT, to be copied into benchmarks/RESULTS.md.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}  # the device image's python3 holds torch
WHEELS=(zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 google-crc32c==1.9.0)

if [[ "${1:-}" == "--prepare" ]]; then
    platforms=()
    for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
        platforms+=(--platform "$p")
    done
    exec "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]}" -d .whl "${WHEELS[@]}"
fi

: "${OUT:?set OUT to the folder that collects the logs}"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || echo "wheel install failed" >>"$OUT/summary.txt"
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi

step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, note the outcome
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s" >>"$OUT/summary.txt"
}

step device 20 bash -c 'nvidia-smi; "$0" -c "import torch, zarr; print(torch.__version__, torch.cuda.get_device_name(), zarr.__version__)"' "$PY"
# every gpu-marked test; a file whose imports the image lacks is reported, the others still run
step tests 170 "$PY" -m pytest -q -o addopts="" -p no:cacheprovider --continue-on-collection-errors -m gpu \
    tests/test_gpu.py tests/test_fixed_grid.py tests/test_sde.py tests/test_metrics.py tests/test_neural_baselines.py
step throughput 240 "$PY" benchmarks/bench_integrate.py --throughput --device cuda --sizes 20,22,24
step invariants 60 "$PY" generation/compute_invariants.py --systems Lorenz,Rossler,MacArthur,Henon,MackeyGlass \
    --device cuda --out /tmp/invariants_cuda.json --report ""
cp /tmp/invariants_cuda.json "$OUT/" 2>/dev/null
step store 60 "$PY" -m chaosdata.cli generate --preset quick --systems Lorenz,Rossler,MacArthur,MackeyGlass,Henon \
    --out /tmp/store_cuda --device cuda --workers 1
cat "$OUT/summary.txt"
