#!/usr/bin/env bash
# The offline demo (no web server, no Druid): builds the command into build/
# (configuring it if needed) and runs the traffic model on the bundled sample
# etc/samples/traffic-sample.json (synthetic, one spike at 10:55), printing
# the JSON answer the service would send for the same data.
#   bash etc/demo-offline.sh         default: oneDNN path
#   bash etc/demo-offline.sh --path reference   any extra flags go to rb-aioutliers-detect
# The upstream model is read from ../shared/upstream (RB_SHARED_DIR overrides
# ../shared); it is not part of this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${RB_SHARED_DIR:-../shared}
if [ ! -f "$shared/upstream/traffic.keras" ]; then
  echo "etc/demo-offline.sh: $shared/upstream/traffic.keras not found (set RB_SHARED_DIR)" >&2
  exit 1
fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j2 --target rb-aioutliers-detect >/dev/null
exec build/rb-aioutliers-detect --models-dir "$shared/upstream" --model traffic "$@" \
  etc/samples/traffic-sample.json
