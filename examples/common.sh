# shellcheck shell=bash
# Sourced by the launch scripts here. They follow NVIDIA's recipe's argument convention:
#   bash examples/<script>.sh <main.py or its folder> <dataset> <results> [batch size] [flags]
# NVIDIA's recipe's scripts ran `python $1/main.py`, so its README passes the folder (`.`); a path to
# main.py works as well. Flags after the batch size go to main.py after the script's own, so
# they override them (argparse keeps the last value). Each script execs its launcher, so a
# signal sent to the script reaches main.py (or horovodrun) itself, and its exit code is theirs.

USAGE_ARGS='<main.py or its folder> <path to dataset> <path to results> [batch size] [main.py flags]'

usage() {
  echo "usage: bash $0 $USAGE_ARGS" >&2
  [ -z "${1:-}" ] || echo "error: $1" >&2
  exit 2
}

# Sets MAIN, DATA_DIR, RESULTS_DIR, BATCH_SIZE and the array FLAGS from the script's
# arguments, or exits 2 with the usage line and what is wrong.
# shellcheck disable=SC2034  # The variables are the sourcing script's to read.
parse_args() {
  [ "$#" -ge 3 ] || usage "expected at least 3 arguments, got $#"
  if [ -d "$1" ]; then
    MAIN="${1%/}/main.py"
    [ -f "$MAIN" ] || usage "$1: a folder without main.py (give the recipe's folder or its main.py)"
  elif [ -f "$1" ] && [ "$(basename "$1")" = main.py ]; then
    MAIN=$1
  else
    usage "$1: not main.py nor a folder holding it"
  fi
  DATA_DIR=$2
  RESULTS_DIR=$3
  shift 3
  BATCH_SIZE=1
  if [ "$#" -gt 0 ] && [[ "$1" != -* ]]; then
    [[ "$1" =~ ^[1-9][0-9]*$ ]] || usage "batch size '$1' is not a whole number >= 1"
    BATCH_SIZE=$1
    shift
  fi
  FLAGS=("$@")
}

# Preloads jemalloc when the system has it (Debian/Ubuntu: apt install libjemalloc2); it is
# never required, and USE_JEMALLOC=0 switches it off. A LD_PRELOAD the user set is kept.
# docs/performance.md gives what it was worth on the benchmark machine.
use_jemalloc() {
  local ldconfig lib
  [ "${USE_JEMALLOC:-1}" != 0 ] || return 0
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  [ -x "$ldconfig" ] || return 0
  # awk reads to the end: an early exit would kill ldconfig with SIGPIPE, fatal under pipefail.
  lib=$("$ldconfig" -p 2>/dev/null | awk '/libjemalloc\.so\.2 / && !lib {lib = $NF} END {print lib}' \
        || true)
  if [ -n "$lib" ] && [[ ":${LD_PRELOAD:-}:" != *":$lib:"* ]]; then
    export LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$lib"
  fi
}

# The schedules, each written once; the scripts put the dataset, results and batch size
# flags before them and the user's flags after them.
# NVIDIA's recipe's training run: 40,000 augmented steps, with Adam at 1e-4 in place of its
# SGD defaults, which did not learn here (docs/accuracy.md).
# shellcheck disable=SC2034  # The arrays are the sourcing script's to read.
TRAIN_SCHEDULE=(--max_steps 40000 --log_every 100 --warmup_steps 200 --augment
                --optimizer adam --learning_rate 0.0001)
# The GPU fold schedule: TRAIN_SCHEDULE scored every 1,000 steps, its last 400 steps on the
# slices as they are (docs/accuracy.md: why).
# shellcheck disable=SC2034
GPU_FOLD_SCHEDULE=(--exec_mode train_and_evaluate --num_folds 5 --max_steps 40000
                   --eval_every 1000 --save_checkpoints_steps 1000 --optimizer adam
                   --learning_rate 0.0001 --augment --augment_steps 39600 --log_every 100
                   --warmup_steps 200)
# The CPU fold schedule: 600 steps of one 572x572 window, the first 560 augmented, scored
# every 200 steps.
# shellcheck disable=SC2034
CPU_FOLD_SCHEDULE=(--exec_mode train_and_evaluate --num_folds 5 --input_size 572
                   --max_steps 600 --eval_every 200 --save_checkpoints_steps 200
                   --optimizer adam --learning_rate 0.0003 --augment --augment_steps 560
                   --loss ce_dice --log_every 20 --warmup_steps 10)
# The benchmarks: 200 warm-up steps, then 100 measured.
# shellcheck disable=SC2034
BENCHMARK_STEPS=(--max_steps 300 --warmup_steps 200 --log_every 100)

# Sets the array ON_GPUS to horovodrun with one process per GPU of this machine: 8, or
# NUM_GPUS (NUM_GPUS=4 runs on four).
on_gpus() {
  local gpus=${NUM_GPUS:-8}
  # shellcheck disable=SC2034  # The sourcing script's to read.
  ON_GPUS=(horovodrun -np "$gpus" -H "localhost:$gpus")
}

# Runs cross-validation (utils.run.cross_validation) into RESULTS_DIR, each fold by the
# command given: a launcher, if any, then python and MAIN with its flags.
cross_validate() {
  PYTHONPATH="$(cd "$(dirname "$MAIN")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
  export PYTHONPATH
  exec python -m utils.run.cross_validation --results "$RESULTS_DIR" -- "$@"
}
