#!/usr/bin/env bash
# U-Net, automatic mixed precision, 8 GPUs on one machine with Horovod: the seed's schedule
# at the given batch size per GPU, then prediction by rank 0.
# Usage: bash examples/unet_TF-AMP_8GPU.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
horovodrun -np 8 -H localhost:8 python "$1" \
  --exec_mode train_and_predict --data_dir "$2" --model_dir "$3" --batch_size "${4:-1}" \
  --max_steps 40000 --log_every 100 --warmup_steps 200 --augment --use_amp
