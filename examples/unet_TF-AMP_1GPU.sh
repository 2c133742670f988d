#!/usr/bin/env bash
# U-Net, automatic mixed precision, 1 GPU (float16 with loss scaling; on a CPU with native
# bfloat16, bfloat16; elsewhere a warning and FP32): the seed's schedule, then prediction.
# Usage: bash examples/unet_TF-AMP_1GPU.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
python "$1" --exec_mode train_and_predict --data_dir "$2" --model_dir "$3" --batch_size "${4:-1}" \
  --max_steps 40000 --log_every 100 --warmup_steps 200 --augment --use_amp
