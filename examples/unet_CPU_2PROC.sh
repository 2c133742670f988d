#!/usr/bin/env bash
# U-Net, FP32, 2 CPU processes with Horovod over Gloo on one machine: data-parallel training
# as on 8 GPUs, small enough for a 2-core machine (each process gets one core).
# Usage: bash examples/unet_CPU_2PROC.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
horovodrun -np 2 -H localhost:2 --gloo python "$1" --exec_mode train_and_predict \
  --data_dir "$2" --model_dir "$3" --batch_size "${4:-1}" \
  --input_size 380 --max_steps 300 --log_every 25 --warmup_steps 5 \
  --optimizer adam --learning_rate 0.0002
