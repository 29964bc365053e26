#!/usr/bin/env bash
# The test command: configure, build and run the whole ctest suite.
#   bash tests/run.sh              normal build in build/ (RelWithDebInfo: NDEBUG, RB_ASSERT only)
#   bash tests/run.sh --sanitize   ASan+UBSan build in build-asan/
#   bash tests/run.sh --debug      Debug build in build-debug/: no NDEBUG, so every plain
#                                  assert() runs too (still -Werror)
# Needs the packages of packaging/debian-deps.txt (etc/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
case "${1:-}" in
  "") ;;
  --sanitize)
    build=build-asan
    args+=(-DRB_SANITIZE=ON)
    ;;
  --debug)
    build=build-debug
    args=(-DCMAKE_BUILD_TYPE=Debug)
    ;;
  *)
    echo "usage: bash tests/run.sh [--sanitize | --debug]" >&2
    exit 2
    ;;
esac
missing=$(bash etc/setup.sh --check)
if [ -n "$missing" ]; then
  echo "tests/run.sh: missing Debian packages: $missing (run: sudo bash etc/setup.sh)" >&2
  exit 1
fi
cmake -S . -B "$build" "${args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
# Every test carries a label (unit, fuzz-seeds, service, slow: tests/CMakeLists.txt).
unlabelled=$(ctest --test-dir "$build" -N -LE 'unit|fuzz-seeds|service|slow' |
             grep -E '^ +Test +#' || true)
if [ -n "$unlabelled" ]; then
  echo "tests/run.sh: tests without a ctest label (see tests/CMakeLists.txt):" >&2
  echo "$unlabelled" >&2
  exit 1
fi
ctest --test-dir "$build" --output-on-failure -j2
