#!/usr/bin/env bash
# U-Net training throughput, FP32, 1 GPU (or the CPU): 200 warm-up steps, then img/s and
# latency percentiles over the next 100 steps on augmented data. No checkpoint is read or written.
# Usage: bash examples/unet_TRAIN_BENCHMARK_FP32_1GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --exec_mode train --benchmark --augment --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --batch_size "$BATCH_SIZE" "${BENCHMARK_STEPS[@]}" "${FLAGS[@]}"
