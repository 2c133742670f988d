#!/usr/bin/env bash
# The GPU schedule, NVIDIA's recipe's 40,000 steps: trains on ISBI folds 1-4 and scores fold 0
# (slices 0-5) every 1,000 steps, keeping the best checkpoint by V_rand in <results>/best.
# As on the CPU, augmented first and then a short stretch on the slices as they are: the last
# 400 steps, which at Adam 1e-4 move the weights about as far as the CPU script's last 40 to
# 240 at 3e-4 (docs/accuracy.md: why, and that no GPU run has measured it).
# More flags (e.g. --loss weighted_ce_dice, --use_amp) may follow the batch size.
# Usage: bash examples/unet_TRAIN_EVAL_FOLD0_1GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --fold 0 --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --batch_size "$BATCH_SIZE" "${GPU_FOLD_SCHEDULE[@]}" "${FLAGS[@]}"
