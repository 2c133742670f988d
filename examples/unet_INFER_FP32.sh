#!/usr/bin/env bash
# U-Net, FP32, 1 GPU (or the CPU): predicts test-volume.tif with the last checkpoint in the
# results directory, writing pred/test-probs.tif, pred/test-masks.tif and PNG overlays.
# Usage: bash examples/unet_INFER_FP32.sh <path to main.py> <path to dataset> <path to results> [batch size]
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_usage $#
use_jemalloc
python "$1" --exec_mode predict --data_dir "$2" --model_dir "$3" --batch_size "${4:-1}"
