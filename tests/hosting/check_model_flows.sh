#!/usr/bin/env bash
# hosting_model_flows: the project's own model (models/flows.*, trained by
# models/train-flows.sh on the emulator's September) end to end: rb-druid-emulator (seed 42),
# rb-aioutliers (models_dir = models/ of the source tree, history P7D) and lighttpd from
# etc/lighttpd/rb-aioutliers.conf, every request a `query` (base64) with model=flows, as
# bench/emulator_days.sh asks (RB_DAYS_DETECTORS=model:flows). Nothing of ../shared is read.
# What it asserts, against figures measured with that bench (docs/TRAINING.md, "The shipped
# model"; the emulator is deterministic, so a rebuilt model of the same recipe lands near):
#   - A6 (FlowSensor 2023-10-19 02:00-02:30, a new client at night): >= 20 of its 30 rows
#     flagged (measured 30);
#   - A4 zero-filled (FlowSensor2 2023-10-10 14:00-16:00, an outage answered as zeros):
#     >= 100 of its 120 rows flagged (measured 120);
#   - A2 (FlowSensor 2023-09-28 07:00-07:05) and A3 (FlowSensor 2023-10-05 10:00-11:00):
#     at least one row each inside the window (measured 5 and 8);
#   - three normal days of FlowSensor (2023-10-23..25, Monday to Wednesday, whole days):
#     at most 60 flagged rows together (measured 10 + 8 + 12 = 30; 60 is 1.4 % of the 4,320
#     rows: a model or a threshold twice as noisy fails);
#   - A1 (a 3-minute burst of one client) is reported, not asserted: measured not flagged.
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
src=${RB_SOURCE_DIR:?run through ctest}
bld=${RB_BUILD_DIR:?run through ctest}
daemon=$bld/fcgi/rb-aioutliers
emulator=$bld/tests/emulator/rb-druid-emulator
tmp=$(mktemp -d /tmp/rb-model-flows-XXXXXX)
pids=()
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${RB_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
. "$src/tests/hosting/free-port.sh"
for f in flows.keras flows.ini flows.druid.json; do
	[ -f "$src/models/$f" ] || { echo "FAIL: models/$f missing (bash models/train-flows.sh)"; exit 1; }
done

"$emulator" --listen 127.0.0.1:0 --seed 42 >"$tmp/emulator.log" 2>&1 </dev/null &
pids+=($!)
druid=
for _ in $(seq 100); do
	druid=$(sed -n 's/^listening //p' "$tmp/emulator.log")
	[ -n "$druid" ] && break
	sleep 0.1
done
[ -n "$druid" ] || { echo "FAIL: the emulator did not start"; exit 1; }
mkdir "$tmp/www"
cat >"$tmp/daemon.conf" <<EOC
listen = unix:$tmp/svc.sock
listen_mode = 0600
workers = 2
models_dir = $src/models
trained_models_dir =
druid_url = http://$druid/druid/v2/
$([ "$(id -u)" = 0 ] && echo "allow_root = yes")
history = P7D
log_level = warn
EOC
OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/daemon.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)
port=$(free_port)
sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$tmp/svc.sock#" "$src/etc/lighttpd/rb-aioutliers.conf" \
	>"$tmp/lighttpd.snippet"
cat >"$tmp/lighttpd.conf" <<EOC
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
include "$tmp/lighttpd.snippet"
EOC
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ] && break
	sleep 0.1
done
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" != 200 ]; then
	echo "FAIL: the service did not come up"; tail -20 "$tmp/daemon.log" "$tmp/lighttpd.error.log"
	exit 1
fi

model_b64=$(printf flows | base64 -w0)
# ask SENSOR START END SKIP(true|false): prints the answer's flagged timestamps, one a line.
ask() {
	local ctx=
	[ "$4" = true ] && ctx=',"context":{"skipEmptyBuckets":"true"}'
	local q="{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":{\"type\":\"period\",\"period\":\"PT1M\"},\"intervals\":[\"$2/$3\"],\"filter\":{\"type\":\"selector\",\"dimension\":\"sensor_name\",\"value\":\"$1\"},\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"}]$ctx}"
	local code
	code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --data-urlencode "query=$(printf '%s' "$q" | base64 -w0)" \
	       --data-urlencode "model=$model_b64" "$base/api/v1/outliers")
	if [ "$code" != 200 ] || ! grep -q '"model": *"flows"' "$tmp/answer.json"; then
		echo "FAIL: $1 $2/$3: HTTP $code: $(head -c 300 "$tmp/answer.json")" >&2
		return 1
	fi
	grep -o '"anomalies": *\[[^]]*\]' "$tmp/answer.json" | grep -o '"timestamp": *"[^"]*"' |
		sed 's/.*"\([^"]*\)"$/\1/'
}
# inside FROM TO: counts the stdin timestamps in [FROM, TO) (same text format: compares as text)
inside() { awk -v a="$1" -v b="$2" '$0 >= a && $0 < b' | wc -l; }

n=$(ask FlowSensor 2023-10-18T23:00Z 2023-10-19T05:00Z true | inside 2023-10-19T02:00 2023-10-19T02:30)
[ "$n" -ge 20 ] && pass "A6 (new client at night): $n of 30 rows flagged (>= 20)" ||
	fail "A6: $n of 30 rows flagged, wanted >= 20"
n=$(ask FlowSensor2 2023-10-10T11:00Z 2023-10-10T19:00Z false | inside 2023-10-10T14:00 2023-10-10T16:00)
[ "$n" -ge 100 ] && pass "A4 zero-filled (outage): $n of 120 rows flagged (>= 100)" ||
	fail "A4 zero-filled: $n of 120 rows flagged, wanted >= 100"
n=$(ask FlowSensor 2023-09-28T04:00Z 2023-09-28T10:00Z true | inside 2023-09-28T07:00 2023-09-28T07:05)
[ "$n" -ge 1 ] && pass "A2 (one client's flows x4): $n of 5 rows flagged" || fail "A2: not flagged"
n=$(ask FlowSensor 2023-10-05T07:00Z 2023-10-05T14:00Z true | inside 2023-10-05T10:00 2023-10-05T11:00)
[ "$n" -ge 1 ] && pass "A3 (flows x0.15 for an hour): $n of 60 rows flagged" || fail "A3: not flagged"
n=$(ask FlowSensor 2023-09-21T09:00Z 2023-09-21T10:00Z true | inside 2023-09-21T09:31 2023-09-21T09:34)
echo "info: A1 (one client's bytes per flow x6 for 3 minutes): $n of 3 rows flagged (not asserted)"
total=0
for d in 23 24 25; do
	n=$(ask FlowSensor 2023-10-${d}T00:00Z 2023-10-$((d + 1))T00:00Z true | wc -l)
	echo "info: FlowSensor 2023-10-$d: $n of 1440 rows flagged"
	total=$((total + n))
done
[ "$total" -le 60 ] && pass "normal days FlowSensor 2023-10-23..25: $total flagged rows (<= 60)" ||
	fail "normal days FlowSensor 2023-10-23..25: $total flagged rows, wanted <= 60"
if [ "$failures" != 0 ]; then
	tail -20 "$tmp/daemon.log"
	exit 1
fi
