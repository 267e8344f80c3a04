#!/bin/sh
# Builds logitlab and runs every test. The reference data in ../shared
# (next to this checkout) is required: tests that need it never skip.
#   scripts/test.sh [build-dir] [extra cmake args...]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -d ../shared/vectors ] || [ ! -d ../shared/models ]; then
  echo "error: ../shared (reference vectors and models) is missing next to this checkout" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
