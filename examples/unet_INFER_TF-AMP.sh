#!/usr/bin/env bash
# U-Net, automatic mixed precision, 1 GPU (or the CPU): predicts test-volume.tif with the last
# checkpoint in the results directory, as unet_INFER_FP32.sh does.
# Usage: bash examples/unet_INFER_TF-AMP.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --exec_mode predict --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" --batch_size "$BATCH_SIZE" --use_amp \
  "${FLAGS[@]}"
