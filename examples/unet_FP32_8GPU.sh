#!/usr/bin/env bash
# U-Net, FP32, 8 GPUs on one machine with Horovod: NVIDIA's recipe's schedule, 40,000 steps with
# augmentation at the given batch size per GPU, then prediction by rank 0.
# Usage: bash examples/unet_FP32_8GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
# Adam 1e-4, not NVIDIA's recipe's SGD defaults, which did not learn here (docs/accuracy.md);
# --optimizer momentum --learning_rate 0.01 after the batch size restores them.
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
on_gpus
exec "${ON_GPUS[@]}" python "$MAIN" --exec_mode train_and_predict --data_dir "$DATA_DIR" \
  --model_dir "$RESULTS_DIR" --batch_size "$BATCH_SIZE" "${TRAIN_SCHEDULE[@]}" "${FLAGS[@]}"
