#!/usr/bin/env bash
# U-Net training throughput, automatic mixed precision, 8 GPUs with Horovod: 200 warm-up
# steps, then global img/s and latency percentiles over the next 100 steps.
# Usage: bash examples/unet_TRAIN_BENCHMARK_TF-AMP_8GPU.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
on_gpus
exec "${ON_GPUS[@]}" python "$MAIN" --exec_mode train --benchmark --augment --data_dir "$DATA_DIR" \
  --model_dir "$RESULTS_DIR" --batch_size "$BATCH_SIZE" "${BENCHMARK_STEPS[@]}" --use_amp "${FLAGS[@]}"
