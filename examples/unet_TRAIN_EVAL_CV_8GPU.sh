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
on_gpus
cross_validate "${ON_GPUS[@]}" python "$MAIN" --data_dir "$DATA_DIR" --batch_size "$BATCH_SIZE" \
  "${GPU_FOLD_SCHEDULE[@]}" "${FLAGS[@]}"
