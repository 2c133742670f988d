#!/usr/bin/env bash
# U-Net training throughput, automatic mixed precision, 1 GPU (or the CPU): 200 warm-up steps,
# then img/s and latency percentiles over 800 steps. No checkpoint is read or written.
# Usage: bash examples/unet_TRAIN_BENCHMARK_TF-AMP_1GPU.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
python "$1" --exec_mode train --benchmark --augment --data_dir "$2" --model_dir "$3" \
  --batch_size "${4:-1}" --max_steps 1000 --warmup_steps 200 --log_every 100 --use_amp
