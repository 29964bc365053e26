#!/usr/bin/env bash
# train-flows.sh: reproduces models/flows.keras, flows.ini and flows.druid.json, the project's
# own model (docs/TRAINING.md "The shipped model"): rb-aioutliers-train on the Druid
# emulator's September 2023 (tests/emulator, seed 42, started here on loopback port 0), every
# sensor (one query each: models/train/flows/*.json, the traffic model's 11 metrics), the old
# trainer's eight granularities, the reference path, seed 1, at most 20 epochs (early stopping
# after 5 without a better validation loss; why not the defaults: docs/TRAINING.md). Same build,
# same machine: same bytes (checked by running it twice).
#   bash models/train-flows.sh [OUT_DIR]    (default: models/; RB_BUILD_DIR default build/)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bld=${RB_BUILD_DIR:-$src/build}
out=${1:-$src/models}
for exe in "$bld/rb-aioutliers-train" "$bld/tests/emulator/rb-druid-emulator"; do
	[ -x "$exe" ] || { echo "train-flows.sh: $exe is not built (cmake --build build)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/rb-train-flows-XXXXXX)
emu=
cleanup() {
	if [ -n "$emu" ]; then kill -TERM "$emu" 2>/dev/null; wait "$emu" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
"$bld/tests/emulator/rb-druid-emulator" --listen 127.0.0.1:0 --seed 42 >"$tmp/emu.log" 2>&1 &
emu=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^listening 127.0.0.1://p' "$tmp/emu.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "train-flows.sh: the emulator did not start:" >&2; cat "$tmp/emu.log" >&2; exit 1; }
printf 'druid_url = http://127.0.0.1:%s/druid/v2/\ndruid_timeout_ms = 120000\n' "$port" >"$tmp/train.conf"
mkdir "$tmp/models"
nice "$bld/rb-aioutliers-train" --name flows --models-dir "$tmp/models" -c "$tmp/train.conf" \
	--query "$src"/models/train/flows/FlowSensor.json "$src"/models/train/flows/FlowSensor2.json \
	"$src"/models/train/flows/ASA-Gateway.json \
	--from 2023-09-01T00:00Z --to 2023-10-01T00:00Z \
	--granularities pt1m,pt2m,pt5m,pt15m,pt30m,pt1h,pt2h,pt8h \
	--path ref --seed 1 --epochs 20 --patience 5
mkdir -p "$out"
cp "$tmp"/models/flows.keras "$tmp"/models/flows.ini "$tmp"/models/flows.druid.json "$out"/
echo "train-flows.sh: wrote $out/flows.keras, flows.ini, flows.druid.json"
