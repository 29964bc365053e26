#!/usr/bin/env bash
# Builds every fuzz target with clang + libFuzzer + ASan/UBSan into build-fuzz/ and runs
# each for a bounded time on a copy of its seed corpus, with a fixed seed (repeatable). A crash fails the run (exit 1) and
# leaves the crashing input in build-fuzz/crashes/<target>/.
#   bash tests/fuzz/run-fuzzers.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRB_LIBFUZZER=ON -DRB_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 OMP_NUM_THREADS=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
export RB_SHARED_DIR=${RB_SHARED_DIR:-$PWD/../shared} RB_SOURCE_DIR=$PWD RB_BUILD_DIR=$PWD/build-fuzz
failed=0 ran=0
for src in tests/fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c)
  exe=$(find build-fuzz -type f -name "$name" -perm -u+x | head -n 1)
  if [ -z "$exe" ]; then
    echo "run-fuzzers: $name was not built" >&2
    failed=1
    continue
  fi
  target=${name#fuzz_}
  work=build-fuzz/corpus/$target crashes=build-fuzz/crashes/$target
  mkdir -p "$work" "$crashes"
  seeds=tests/fuzz/corpus/$target
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  if "$exe" "$work" -seed=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$crashes/" -print_final_stats=1 >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$name.log" | grep -o '[0-9]*$') runs, no crash"
  else
    echo "fuzz $target: FAILED (see build-fuzz/$name.log, inputs in $crashes)"
    tail -n 30 "build-fuzz/$name.log"
    failed=1
  fi
  ran=$((ran + 1))
done
echo "fuzzers: $ran targets for ${secs}s each; $([ $failed = 0 ] && echo 'no crash' || echo 'FAILURES')"
exit $failed
