#!/usr/bin/env bash
# The offline demo (no web server, no Druid): builds the command into build/
# (configuring it if needed) and runs the project's own model flows (models/flows.*,
# trained on the Druid emulator's September: models/train-flows.sh) on the bundled sample
# etc/samples/traffic-sample.json (synthetic, one spike at 10:55; the model flags it and
# nothing else), printing the JSON answer the service would send for the same data.
#   bash etc/demo-offline.sh         default: oneDNN path
#   bash etc/demo-offline.sh --path reference   any extra flags go to rb-aioutliers-detect
# The old service's model (../shared/upstream/traffic.keras) runs the same way:
#   build/rb-aioutliers-detect --models-dir ../shared/upstream --model traffic FILE
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j2 --target rb-aioutliers-detect >/dev/null
exec build/rb-aioutliers-detect --models-dir models --model flows "$@" \
  etc/samples/traffic-sample.json
