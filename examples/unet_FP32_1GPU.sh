#!/usr/bin/env bash
# U-Net, FP32, 1 GPU (or the CPU when no GPU is visible): NVIDIA's recipe's full training schedule,
# 40,000 steps with augmentation, then prediction of test-volume.tif.
# Usage: bash examples/unet_FP32_1GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
# Adam 1e-4, not NVIDIA's recipe's SGD defaults, which did not learn here (docs/accuracy.md);
# --optimizer momentum --learning_rate 0.01 after the batch size restores them.
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --exec_mode train_and_predict --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --batch_size "$BATCH_SIZE" "${TRAIN_SCHEDULE[@]}" "${FLAGS[@]}"
