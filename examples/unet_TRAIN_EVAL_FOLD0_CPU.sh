#!/usr/bin/env bash
# The CPU schedule: trains on ISBI folds 1-4 (slices 6-29) with the default loss (cross-entropy
# + Dice) and scores fold 0 (slices 0-5) every 200 steps, keeping the best checkpoint by
# V_rand in <results>/best. 600 steps of one 572x572 window: the first 560 augmented, the last
# 40 on the slices as they are. docs/accuracy.md gives the scores and the times measured.
# More flags may follow the batch size and override these (e.g. --loss weighted_ce_dice
# --max_steps 960).
# Usage: bash examples/unet_TRAIN_EVAL_FOLD0_CPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --fold 0 --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --batch_size "$BATCH_SIZE" "${CPU_FOLD_SCHEDULE[@]}" "${FLAGS[@]}"
