# Sourced by the launch scripts here. They follow the seed's argument convention:
#   bash examples/<script>.sh <path to main.py> <path to dataset> <path to results> [batch size]

# Exits with the usage line unless the three required arguments were given.
check_usage() {
  if [ "$1" -lt 3 ]; then
    echo "usage: bash $0 <path to main.py> <path to dataset> <path to results> [batch size]" >&2
    exit 2
  fi
}

# Preloads jemalloc when the system has it (Debian/Ubuntu: apt install libjemalloc2); it is
# never required, and USE_JEMALLOC=0 switches it off. A LD_PRELOAD the user set is kept. The
# README's performance section gives what it was worth on the benchmark machine.
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
