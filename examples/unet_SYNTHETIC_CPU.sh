#!/usr/bin/env bash
# U-Net, FP32, one process on the CPU, synthetic data: the README's first command.
# Generates an ISBI-format synthetic set (30 training slices; 8 held-out slices with labels),
# trains on it, predicts the held-out slices, writes TIFs and PNG overlays, and reports the
# held-out membrane Dice. A rerun reuses the data and the finished checkpoint.
# Usage: bash examples/unet_SYNTHETIC_CPU.sh [data dir] [results dir] [main.py flags]
# (flags after both directories override the schedule's, e.g. --max_steps 20)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:-data/synthetic}
RESULTS_DIR=${2:-results/synthetic}

if [ ! -f "$DATA_DIR/train-volume.tif" ] || [ ! -f "$DATA_DIR/test-labels.tif" ]; then
  python -m utils.data.synthetic --data_dir "$DATA_DIR" --train_pages 30 --test_pages 8
fi
# Adam on 380x380 windows (196x196 outputs): a schedule a 2-core CPU runs in minutes. NVIDIA's
# recipe's SGD with momentum 0.99 starts much slower (docs/accuracy.md has both measured).
python main.py --exec_mode train_and_predict --data_dir "$DATA_DIR" --model_dir "$RESULTS_DIR" \
  --optimizer adam --learning_rate 0.0002 --input_size 380 --max_steps 300 \
  --log_every 25 --warmup_steps 5 "${@:3}"
python - "$RESULTS_DIR" <<'PY'
import json, os, sys
metrics = json.load(open(os.path.join(sys.argv[1], 'pred', 'metrics.json')))
print(f"Held-out membrane Dice: {metrics['membrane_dice']:.4f} after {metrics['step']} steps; "
      f"overlays in {os.path.join(sys.argv[1], 'pred', 'overlays')}")
PY
