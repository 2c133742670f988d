#!/usr/bin/env bash
# Cross-validation on 8 GPUs of one machine with Horovod: each fold of --num_folds (5) trained
# by all GPUs with the schedule of unet_TRAIN_EVAL_CV_1GPU.sh at the given batch size per GPU,
# in turn, into <results>/fold_K/, then <results>/cv_summary.json and cv_summary.md. A rerun
# skips finished folds and resumes an interrupted one. More flags may follow the batch size.
# Usage: bash examples/unet_TRAIN_EVAL_CV_8GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
# One process per GPU; NUM_GPUS=4 runs on four.
NUM_GPUS=${NUM_GPUS:-8}
exec python "$(dirname "$MAIN")/utils/cross_validation.py" --results "$RESULTS_DIR" -- \
  horovodrun -np "$NUM_GPUS" -H "localhost:$NUM_GPUS" python "$MAIN" \
  --exec_mode train_and_evaluate --num_folds 5 --data_dir "$DATA_DIR" \
  --batch_size "$BATCH_SIZE" --max_steps 40000 --eval_every 1000 \
  --save_checkpoints_steps 1000 --optimizer adam --learning_rate 0.0001 --augment \
  --augment_steps 39600 --log_every 100 --warmup_steps 200 "${FLAGS[@]}"
