#!/usr/bin/env bash
# U-Net inference throughput, FP32, 1 GPU (or the CPU): the test volume's tiles, cycled;
# 200 warm-up batches, then img/s and latency percentiles over the next 100. Writes no prediction.
# Usage: bash examples/unet_INFER_BENCHMARK_FP32.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec python "$MAIN" --exec_mode predict --benchmark --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --batch_size "$BATCH_SIZE" "${BENCHMARK_STEPS[@]}" "${FLAGS[@]}"
