#!/usr/bin/env bash
# explain: "who caused it" through lighttpd (the shipped snippet) to a 1-worker daemon and
# the Druid emulator (docs/OPERATIONS.md, "Who caused it"):
#   1. POST /api/v1/ip_identifier with a crafted payload (a big steady IP, a small one that
#      jumps at one instant): 200, a JSON object naming the small one only; a wrong shape
#      and a missing payload: 400 with a message;
#   2. POST /api/v1/explain on the emulator's anomalies, dimension ip: A1 -> 10.0.1.11,
#      A2 -> 10.0.1.13, A6 -> 10.0.1.66 first (flows and bytes; dimension
#      application_id_name: unknown); the groupBy the service sent (the emulator's
#      /__last_query) carries the policy's context.timeout; an unknown metric, a dimension
#      that is not a name, a table outside the allow-list: 400.
# Prints the time of each explain request (curl time_total, ms). Needs RB_SOURCE_DIR,
# RB_BUILD_DIR (ctest).
set -uo pipefail
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init check-explain
command -v lighttpd >/dev/null || { echo "FAIL: lighttpd is not installed"; exit 1; }
start_emulator

mkdir "$tmp/models" "$tmp/www"
write_daemon_conf "$tmp/rb.conf" "$tmp/svc.sock" "$druid" "workers = 1" \
	"models_dir = $tmp/models" "trained_models_dir =" "druid_datasources = rb_flow" \
	"history = P1D" "log_file = $tmp/daemon.log"
start_bg daemon.out env OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb.conf"
start_lighttpd "$tmp/svc.sock"
wait_health_http "$port" 300 ||
	die "the service did not come up: $(tail -5 "$tmp/daemon.out" "$tmp/daemon.log" 2>/dev/null)"

# $1 = route, $2 = body file, $3 = name: writes $tmp/$3.json, prints "code ms".
post() {
	curl -s -m 60 -H 'Expect:' -o "$tmp/$3.json" -w '%{http_code} %{time_total}\n' \
		--data-binary @"$2" "$url$1" | awk '{ printf "%s %.1f\n", $1, $2 * 1000 }'
}
b64() { printf '%s' "$1" | base64 -w0 | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g'; }

# 1. ip_identifier.
python3 - >"$tmp/payload.json" <<'EOF'
import json
rows = {"10.9.0.1": [], "10.9.0.2": []}
for h in range(24):
    big = 1000 + 40 * ((h * 7) % 5 - 2) + (70 if h == 20 else 0)
    small = 100 if h == 20 else 10 + (h % 3 - 1)
    ts = "2023-09-21T%02d:00:00.000Z" % h
    rows["10.9.0.1"].append({"timestamp": ts, "result": {"bytes": big}})
    rows["10.9.0.2"].append({"timestamp": ts, "result": {"bytes": small}})
print(json.dumps({"outliers": [{"timestamp": "2023-09-21T20:00:00.000Z"},
                               {"timestamp": "2023-09-21T03:00:00.000Z"}],
                  "all_ips_data": rows}))
EOF
{ printf 'payload='; python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""), end="")' <"$tmp/payload.json"; } >"$tmp/body-ipid"
read -r c t < <(post /api/v1/ip_identifier "$tmp/body-ipid" ipid)
want='{"ips":[{"timestamp":"2023-09-21T20:00:00.000Z","caused_by":["10.9.0.2"]},{"timestamp":"2023-09-21T03:00:00.000Z","caused_by":[]}]}'
if [ "$c" = 200 ] && [ "$(cat "$tmp/ipid.json")" = "$want" ]; then
	pass "ip_identifier: the small IP that jumped, not the big steady one ($t ms)"
else
	fail "ip_identifier: $c $(cat "$tmp/ipid.json")"
fi
printf 'payload=%s' '%7B%22outliers%22%3A3%7D' >"$tmp/body-bad"
read -r c t < <(post /api/v1/ip_identifier "$tmp/body-bad" bad)
if [ "$c" = 400 ] && grep -q '"status":"error"' "$tmp/bad.json" && grep -q 'outliers' "$tmp/bad.json"; then
	pass "ip_identifier: wrong shape: 400 $(cat "$tmp/bad.json")"
else
	fail "ip_identifier, wrong shape: $c $(cat "$tmp/bad.json")"
fi
printf 'other=1' >"$tmp/body-none"
read -r c t < <(post /api/v1/ip_identifier "$tmp/body-none" none)
[ "$c" = 400 ] && grep -q 'payload' "$tmp/none.json" && pass "ip_identifier: no payload: 400" ||
	fail "ip_identifier, no payload: $c $(cat "$tmp/none.json")"

# 2. explain on the emulator's anomalies.
query() { # $1 = sensor, $2 = interval
	printf '{"queryType":"timeseries","dataSource":"rb_flow","granularity":{"type":"period","period":"PT1M"},"intervals":["%s"],"filter":{"type":"selector","dimension":"sensor_name","value":"%s"},"aggregations":[{"type":"longSum","name":"bytes","fieldName":"sum_bytes"},{"type":"longSum","name":"flows","fieldName":"events"}]}' "$2" "$1"
}
ask_explain() { # $1 = name, $2 = timestamp, $3 = metric, $4 = query, $5 = dimension: "code ms"
	printf 'query=%s&timestamp=%s&dimension=%s&metric=%s' "$(b64 "$4")" "$(b64 "$2")" "$(b64 "$5")" \
		"$(b64 "$3")" >"$tmp/body-$1"
	post /api/v1/explain "$tmp/body-$1" "$1"
}
explain() { # $1 = name, $2 = timestamp, $3 = metric, $4 = expected first value [, $5 = dimension]
	local c t
	read -r c t < <(ask_explain "$1" "$2" "$3" "$(query FlowSensor "${2:0:13}:00/PT1H")" "${5:-ip}")
	echo "$t" >>"$tmp/times"
	local first
	first=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["values"]; print(v[0]["value"] if v else "-")' "$tmp/$1.json" 2>/dev/null)
	if [ "$c" = 200 ] && [ "$first" = "$4" ] && grep -q "\"status\":\"success\",\"dimension\":\"${5:-ip}\"" "$tmp/$1.json"; then
		pass "explain $1 ($2, $3): $first first, $t ms: $(head -c 240 "$tmp/$1.json")"
	else
		fail "explain $1: $c, first '$first', want $4: $(head -c 400 "$tmp/$1.json")"
	fi
}
explain A1 2023-09-21T09:32:00Z bytes 10.0.1.11
explain A2 2023-09-28T07:02:00Z bytes 10.0.1.13
explain A6 2023-10-19T02:10:00Z flows 10.0.1.66
curl -s "http://$druid/__last_query" >"$tmp/last.json"
explain A6-app 2023-10-19T02:10:00Z flows unknown application_id_name
explain A6-bytes 2023-10-19T02:10:00Z bytes 10.0.1.66
if grep -q '"queryType": *"groupBy"' "$tmp/last.json" && grep -q '"dimensions": *\[ *"ip" *\]' "$tmp/last.json" &&
   grep -q '"timeout"' "$tmp/last.json"; then
	pass "the query sent is a groupBy on ip with the policy's context.timeout"
else
	fail "the query sent: $(cat "$tmp/last.json")"
fi
refused() { # $1 = name, $2 = metric, $3 = query, $4 = dimension, $5 = text the message holds
	local c t
	read -r c t < <(ask_explain "$1" 2023-09-21T09:32:00Z "$2" "$3" "$4")
	if [ "$c" = 400 ] && grep -q '"status":"error"' "$tmp/$1.json" && grep -q "$5" "$tmp/$1.json"; then
		pass "explain, $1: 400 $(cat "$tmp/$1.json")"
	else
		fail "explain, $1: $c $(cat "$tmp/$1.json")"
	fi
}
q1=$(query FlowSensor 2023-09-21T09/PT1H)
refused "unknown metric" nosuch "$q1" ip 'metric nosuch'
refused "a table outside druid_datasources" bytes "${q1/\"rb_flow\"/\"secret\"}" ip secret
refused "a dimension that is not a name" bytes "$q1" 'a b' dimension
refused "a topN query" bytes "${q1/timeseries/topN}" ip timeseries
echo "explain request times (ms, A1 A2 A6 A6-app A6-bytes): $(tr '\n' ' ' <"$tmp/times")"
# The cost: A1 20 times in a row, median and slowest (curl time_total through lighttpd).
for _ in $(seq 20); do post /api/v1/explain "$tmp/body-A1" rep; done | awk '{ print $2 }' | sort -n >"$tmp/rep"
echo "explain A1 x20 (ms): median $(sed -n 10p "$tmp/rep"), fastest $(head -1 "$tmp/rep"), slowest $(tail -1 "$tmp/rep")"

hosting_finish explain "$tmp/daemon.log"
