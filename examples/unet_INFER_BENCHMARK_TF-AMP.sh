#!/usr/bin/env bash
# U-Net inference throughput, automatic mixed precision, 1 GPU (or the CPU): 200 warm-up
# batches, then img/s and latency percentiles over 400. Writes no prediction.
# Usage: bash examples/unet_INFER_BENCHMARK_TF-AMP.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
python "$1" --exec_mode predict --benchmark --data_dir "$2" --model_dir "$3" \
  --batch_size "${4:-1}" --max_steps 600 --warmup_steps 200 --log_every 100 --use_amp
