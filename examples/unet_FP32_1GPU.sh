#!/usr/bin/env bash
# U-Net, FP32, 1 GPU (or the CPU when no GPU is visible): the seed's full training schedule,
# 40,000 steps with augmentation, then prediction of test-volume.tif.
# Usage: bash examples/unet_FP32_1GPU.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
python "$1" --exec_mode train_and_predict --data_dir "$2" --model_dir "$3" --batch_size "${4:-1}" \
  --max_steps 40000 --log_every 100 --warmup_steps 200 --augment
