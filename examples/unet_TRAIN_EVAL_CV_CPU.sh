#!/usr/bin/env bash
# Cross-validation with the CPU schedule: every fold of --num_folds (5) trained on the other
# folds and scored, in turn, into <results>/fold_K/, then <results>/cv_summary.json and
# cv_summary.md (per fold and mean +/- std). A rerun skips finished folds and resumes an
# interrupted one. More flags may follow the batch size and override these
# (e.g. --num_folds 3 --max_steps 2).
# Usage: bash examples/unet_TRAIN_EVAL_CV_CPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$(dirname "$MAIN")/utils/cross_validation.py" --results "$RESULTS_DIR" -- \
  python "$MAIN" --exec_mode train_and_evaluate --num_folds 5 --data_dir "$DATA_DIR" \
  --batch_size "$BATCH_SIZE" --input_size 572 --max_steps 600 --eval_every 200 \
  --save_checkpoints_steps 200 --optimizer adam --learning_rate 0.0003 --augment \
  --augment_steps 560 --loss ce_dice --log_every 20 --warmup_steps 10 "${FLAGS[@]}"
