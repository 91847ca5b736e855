#!/bin/bash
# On a lent GPU machine: train presets on the GPU while its CPUs score synthetic datasets.
# usage (repo root; wheels of numpy/pandas/scikit-learn at the pins in .whl/):
#   bash pretrain/scripts/device_train.sh SCORE_SECONDS TODO_JSON N_JOBS
# Writes to $OUT: one archive per training run (without checkpoints), the scoring records.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch,numpy,pandas,sklearn;print('torch',torch.__version__,'numpy',numpy.__version__,'pandas',pandas.__version__,'sklearn',sklearn.__version__)"
(OMP_NUM_THREADS=1 timeout "$1" python3 -m pretrain.remote score --todo "$2" --out /tmp/runs_remote \
   --n-jobs "$3" --scored-on "device: $(nproc --all)-vCPU host of an H100, $3 workers beside GPU training" \
   > $OUT/score.log 2>&1; python3 -m pretrain.remote pack --runs /tmp/runs_remote --out $OUT/remote_runs.jsonl.gz) &
scorer=$!
for spec in "small bf16" "small fp32"; do
  set -- $spec
  OMP_NUM_THREADS=2 python3 -m pretrain train --preset $1 --precision $2 --device cuda \
    --out /tmp/train/$1_$2 --no-progress 2>&1 | grep -v "^Loading weights" | tail -4
  tar czf $OUT/$1_$2.tgz -C /tmp/train --exclude checkpoints $1_$2
done
wait $scorer
tail -c 200 $OUT/score.log
