# shellcheck shell=bash
# Sourced by the launch scripts here. They follow the seed's argument convention:
#   bash examples/<script>.sh <main.py or its folder> <dataset> <results> [batch size] [flags]
# The seed's scripts ran `python $1/main.py`, so its README passes the folder (`.`); a path to
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
