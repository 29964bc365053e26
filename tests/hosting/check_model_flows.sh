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
#   - A1 (a 3-minute burst of one client) is reported, not asserted: measured not flagged;
#   - /health and the log show the inference plan measured for flows; the log (debug) has a
#     stage timer line for each detection request.
set -uo pipefail
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init model-flows
for f in flows.keras flows.ini flows.druid.json; do
	[ -f "$src/models/$f" ] || { echo "FAIL: models/$f missing (bash models/train-flows.sh)"; exit 1; }
done

start_emulator --seed 42
mkdir "$tmp/www"
write_daemon_conf "$tmp/daemon.conf" "$tmp/svc.sock" "$druid" "listen_mode = 0600" "workers = 2" \
	"models_dir = $src/models" "trained_models_dir =" "history = P7D" "log_level = debug"
start_bg daemon.log env OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/daemon.conf"
start_lighttpd "$tmp/svc.sock"
base=$url
if ! wait_health_http "$port" 300; then
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
# How it ran: the plan the master measured (inference = auto), in /health and the log, and
# the stage timer's line for every detection request (log_level = debug).
if curl -s "$base/health" | grep -q '"inference_plan":{"flows":"measured: '; then
	pass "/health: inference_plan of flows measured at start-up"
else
	fail "/health: no measured inference_plan for flows: $(curl -s "$base/health")"
fi
grep -q 'model flows: inference plan measured: ' "$tmp/daemon.log" && pass "log: the plan of flows" ||
	fail "log: no 'model flows: inference plan measured' line"
n=$(grep -c 'stages wall/cpu ms/faults: body .* parse .* detect .* total ' "$tmp/daemon.log")
[ "$n" -ge 8 ] && pass "log: a stage timer line for each of the $n detection requests" ||
	fail "log: $n stage timer lines, wanted >= 8 (one per detection request)"
hosting_finish model_flows "$tmp/daemon.log"
