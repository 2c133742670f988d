#!/usr/bin/env bash
# U-Net, FP32, 1 GPU (or the CPU): predicts test-volume.tif with the last checkpoint in the
# results directory, writing pred/test-probs.tif, pred/test-masks.tif and PNG overlays.
# Usage: bash examples/unet_INFER_FP32.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --exec_mode predict --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" --batch_size "$BATCH_SIZE" \
  "${FLAGS[@]}"
