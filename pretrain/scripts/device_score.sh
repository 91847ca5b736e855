#!/bin/bash
# Score synthetic datasets on the device machine's CPUs (see pretrain/remote.py).
# usage (from the repo root, wheels of numpy/pandas/scikit-learn at the pins in .whl/):
#   bash pretrain/scripts/device_score.sh SECONDS TODO_JSON [N_JOBS]
# Records are packed to $OUT/remote_runs.jsonl.gz every 45 s, so a killed run loses little.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
python3 -c "import numpy,scipy,pandas,sklearn,pyarrow,joblib,platform;print('versions',numpy.__version__,scipy.__version__,pandas.__version__,sklearn.__version__,pyarrow.__version__,joblib.__version__,platform.python_version())"
nproc; grep -m1 'model name' /proc/cpuinfo
timeout "$1" python3 -m pretrain.remote score --todo "$2" --out /tmp/runs --n-jobs "${3:-16}" \
  --scored-on "device: $(nproc --all)-vCPU (nproc $(nproc)) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), ${3:-16} workers" > $OUT/score.log 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do sleep 45; python3 -m pretrain.remote pack --runs /tmp/runs --out $OUT/remote_runs.jsonl.gz; done
python3 -m pretrain.remote pack --runs /tmp/runs --out $OUT/remote_runs.jsonl.gz
tail -c 300 $OUT/score.log
