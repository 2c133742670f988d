#!/usr/bin/env bash
# U-Net, FP32, 2 CPU processes with Horovod over Gloo on one machine: data-parallel training
# as on 8 GPUs, small enough for a 2-core machine (each process gets one core).
# Usage: bash examples/unet_CPU_2PROC.sh <main.py or its folder> <path to dataset> <path to results> [batch size] [flags]
set -euo pipefail
# shellcheck source=examples/common.sh
source "$(dirname "$0")/common.sh"
parse_args "$@"
use_jemalloc
exec horovodrun -np 2 -H localhost:2 --gloo python "$MAIN" --exec_mode train_and_predict \
  --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" --batch_size "$BATCH_SIZE" \
  --input_size 380 --max_steps 300 --log_every 25 --warmup_steps 5 \
  --optimizer adam --learning_rate 0.0002 \
  "${FLAGS[@]}"
