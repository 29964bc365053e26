#!/usr/bin/env bash
# hosting_metrics: GET /metrics through lighttpd (issue 16, part 1; docs/OPERATIONS.md
# "Metrics"). A 2-worker daemon and the Druid emulator; every scrape must pass
# `promtool check metrics`, and the counts must match what this script sent, as
# differences from a first scrape:
#   1. requests by route and status (health 200, outliers 200, 404, 405), the
#      request-duration histogram by route and detector, the detector histogram,
#      rows analysed, Druid calls ok; /health says the last Druid call succeeded;
#   2. a worker killed with SIGKILL: nothing it counted is lost, exits{signal} +1,
#      starts +1;
#      a worker held past request_timeout_ms (a body at 1 byte/s on the socket):
#      exits{watchdog} +1;
#   3. SIGHUP: reloads{ok} +1, generation 1, exits{recycle} +2, counts kept; a SIGHUP
#      with a bad config: reloads{failed} +1, generation still 1;
#   4. Druid faults: HTTP 500 -> http_error, a garbage 200 -> bad_answer, an answer
#      later than druid_timeout_ms -> timeout, emulator down -> connect_failure; /health then says the last Druid call failed;
#   5. the scrape config and alert rules of docs/OPERATIONS.md pass promtool check config.
# Needs RB_SOURCE_DIR, RB_BUILD_DIR (ctest), lighttpd and promtool (Debian's prometheus).
set -uo pipefail
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init check-metrics
command -v lighttpd >/dev/null || { echo "FAIL: lighttpd is not installed"; exit 1; }
command -v promtool >/dev/null || { echo "FAIL: promtool is not installed (apt-get install prometheus)"; exit 1; }
start_emulator # restarted on the same port for the faults

mkdir "$tmp/models" "$tmp/www"
write_daemon_conf "$tmp/rb.conf" "$tmp/svc.sock" "$druid" "listen_mode = 0666" "workers = 2" \
	"models_dir = $tmp/models" "trained_models_dir =" "druid_datasources = rb_flow" \
	"history = PT0S" "log_file = $tmp/daemon.log" "druid_connect_timeout_ms = 500" \
	"druid_timeout_ms = 1000" "request_timeout_ms = 1500" "body_min_rate = 0" \
	"body_timeout_ms = 10000"
start_bg daemon.out env OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb.conf"
master=$bg_pid
port=$(free_port)
write_lighttpd_conf "" "$port" "$(lighttpd_fcgi_lines "$tmp/svc.sock")"
start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
url=http://127.0.0.1:$port
code_of() { curl -s -m 60 -H 'Expect:' -o /dev/null -w '%{http_code}' "$@"; }
wait_health_http "$port" 300 || die "the service did not come up: $(tail -5 "$tmp/daemon.out")"

field query "$src/tests/data/druid/seed_readme_pt1m.query.json" >"$tmp/body-query"
write_hour_rows "$tmp/rows.json"
printf robust >"$tmp/robust"
{ field data "$tmp/rows.json"; printf '&'; field detector "$tmp/robust"; } >"$tmp/body-data"

# Scrapes /metrics into $tmp/$1.prom and runs promtool on it.
scrape() {
	local c
	c=$(curl -s -m 10 -D "$tmp/$1.head" -o "$tmp/$1.prom" -w '%{http_code}' "$url/metrics")
	[ "$c" = 200 ] || { fail "scrape $1: HTTP $c"; return; }
	grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/$1.head" ||
		fail "scrape $1: content type $(grep -i '^content-type' "$tmp/$1.head")"
	if promtool check metrics <"$tmp/$1.prom" >"$tmp/$1.promtool" 2>&1; then
		pass "scrape $1: promtool check metrics passes ($(grep -vc '^#' "$tmp/$1.prom") samples)"
	else
		fail "scrape $1: promtool check metrics: $(head -5 "$tmp/$1.promtool")"
	fi
}
# The value of series $2 (name{labels} exactly) in scrape $1; 0 when absent.
val() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$tmp/$1.prom"; }
# Asserts val($2,$4) - val($1,$4) == $3.
delta() {
	local d
	d=$(awk -v a="$(val "$1" "$4")" -v b="$(val "$2" "$4")" 'BEGIN { print b - a }')
	if [ "$d" = "$3" ]; then pass "$2: $4 +$3"; else fail "$2: $4 went up by $d, want $3"; fi
}
is() {
	local v
	v=$(val "$1" "$2")
	if [ "$v" = "$3" ]; then pass "$1: $2 = $3"; else fail "$1: $2 = $v, want $3"; fi
}
R='rb_aioutliers_requests_total'
D='rb_aioutliers_request_duration_seconds_count'

scrape s0
# 1. Known traffic.
for i in 1 2 3 4 5; do code_of "$url/health" >/dev/null; done
for i in 1 2 3; do [ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 200 ] || fail "query $i"; done
for i in 1 2; do [ "$(code_of --data-binary @"$tmp/body-data" "$url/api/v1/outliers")" = 200 ] || fail "data $i"; done
code_of "$url/nope" >/dev/null
code_of -d "" "$url/health" >/dev/null # (with Content-Length: 0; lighttpd answers a POST without it itself, 411)
scrape s1
delta s0 s1 5 "$R{route=\"health\",code=\"200\"}"
delta s0 s1 5 "$R{route=\"outliers\",code=\"200\"}"
delta s0 s1 1 "$R{route=\"not_found\",code=\"404\"}"
delta s0 s1 1 "$R{route=\"method_not_allowed\",code=\"405\"}"
delta s0 s1 1 "$R{route=\"metrics\",code=\"200\"}"
delta s0 s1 2 "$D{route=\"outliers\",model=\"robust\"}"
delta s0 s1 3 "$D{route=\"outliers\",model=\"default\"}"
delta s0 s1 2 'rb_aioutliers_detector_seconds_count{detector="robust"}'
delta s0 s1 3 'rb_aioutliers_druid_calls_total{outcome="ok"}'
delta s0 s1 3 'rb_aioutliers_druid_duration_seconds_count'
delta s0 s1 300 'rb_aioutliers_rows_analysed_total'
is s1 'rb_aioutliers_druid_last_success' 1
curl -s "$url/health" >"$tmp/health1.json"
grep -q '"druid_last_ok":true' "$tmp/health1.json" && pass "/health: druid_last_ok true" ||
	fail "/health after a good Druid call: $(cat "$tmp/health1.json")"

# 2. A worker killed with SIGKILL (one of the master's children; its pid from ps).
victim=$(ps -o pid= --ppid "$master" | head -n 1 | tr -d ' ')
[ -n "$victim" ] || die "no worker found under master $master"
kill -KILL "$victim"
for _ in $(seq 100); do
	curl -s "$url/health" | grep -q '"workers_alive":2' && ! kill -0 "$victim" 2>/dev/null && break
	sleep 0.1
done
for i in 1 2 3; do [ "$(code_of --data-binary @"$tmp/body-data" "$url/api/v1/outliers")" = 200 ] || fail "data after kill $i"; done
scrape s2
delta s0 s2 8 "$R{route=\"outliers\",code=\"200\"}"
delta s1 s2 1 'rb_aioutliers_worker_exits_total{cause="signal"}'
delta s1 s2 1 'rb_aioutliers_worker_starts_total'
is s2 'rb_aioutliers_worker_exits_total{cause="crash"}' 0

# 2b. The watchdog: a body sent at 1 byte/s straight to the socket (lighttpd would buffer
# it) holds a worker past request_timeout_ms (1.5 s; no rate rule, body_timeout_ms 10 s).
python3 "$src/tests/hosting/fcgi_peer.py" slow-body "$tmp/svc.sock" 100 5 >"$tmp/slow.out" 2>&1
for _ in $(seq 100); do curl -s "$url/health" | grep -q '"workers_alive":2' && break; sleep 0.1; done
scrape s2b
delta s2 s2b 1 'rb_aioutliers_worker_exits_total{cause="watchdog"}'
grep -q '^closed' "$tmp/slow.out" || fail "the slow body was not dropped: $(cat "$tmp/slow.out")"

# 3. SIGHUP: a new generation; the counts stay.
kill -HUP "$master"
for _ in $(seq 100); do curl -s "$url/health" | grep -q '"generation":1' && break; sleep 0.1; done
sleep 0.5 # the old generation's exits reaped
for i in 1 2; do [ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 200 ] || fail "query after reload $i"; done
scrape s3
delta s0 s3 10 "$R{route=\"outliers\",code=\"200\"}"
delta s2b s3 1 'rb_aioutliers_reloads_total{result="ok"}'
delta s2b s3 2 'rb_aioutliers_worker_exits_total{cause="recycle"}'
delta s2b s3 2 'rb_aioutliers_worker_starts_total'
is s3 'rb_aioutliers_generation' 1
is s3 'rb_aioutliers_reloads_total{result="failed"}' 0
delta s0 s3 5 'rb_aioutliers_druid_calls_total{outcome="ok"}'

# 3b. A reload that fails (an unknown key): counted, the generation stays.
cp "$tmp/rb.conf" "$tmp/rb.conf.good"
echo "no_such_key = 1" >>"$tmp/rb.conf"
kill -HUP "$master"
for _ in $(seq 50); do grep -q "reload failed" "$tmp/daemon.log" && break; sleep 0.1; done
cp "$tmp/rb.conf.good" "$tmp/rb.conf"
scrape s3b
delta s3 s3b 1 'rb_aioutliers_reloads_total{result="failed"}'
is s3b 'rb_aioutliers_generation' 1

# 4. Druid faults.
stop_emulator
start_emulator --fault status 500
[ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 502 ] || fail "Druid 500 not a 502"
stop_emulator
start_emulator --fault garbage
[ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 502 ] || fail "garbage not a 502"
stop_emulator
start_emulator --fault-delay-ms 1400
[ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 504 ] || fail "slow Druid not a 504"
stop_emulator
[ "$(code_of --data-binary @"$tmp/body-query" "$url/api/v1/outliers")" = 502 ] || fail "Druid down not a 502"
scrape s4
delta s3 s4 1 'rb_aioutliers_druid_calls_total{outcome="http_error"}'
delta s3 s4 1 'rb_aioutliers_druid_calls_total{outcome="bad_answer"}'
delta s3 s4 1 'rb_aioutliers_druid_calls_total{outcome="connect_failure"}'
delta s3 s4 1 'rb_aioutliers_druid_calls_total{outcome="timeout"}'
delta s3 s4 3 "$R{route=\"outliers\",code=\"502\"}"
delta s3 s4 1 "$R{route=\"outliers\",code=\"504\"}"
is s4 'rb_aioutliers_druid_last_success' 0
curl -s "$url/health" >"$tmp/health4.json"
grep -q '"druid_last_ok":false' "$tmp/health4.json" && pass "/health: druid_last_ok false" ||
	fail "/health after a failed Druid call: $(cat "$tmp/health4.json")"

# 5. The scrape config and alert rules of docs/OPERATIONS.md are valid.
awk '/^```yaml$/ { n++; on = 1; next } /^```$/ { on = 0 } on { print > (dir "/doc" n ".yml") }' \
	dir="$tmp" "$src/docs/OPERATIONS.md"
echo "rule_files: ['$tmp/doc2.yml']" >>"$tmp/doc1.yml"
if promtool check config "$tmp/doc1.yml" >"$tmp/doc.promtool" 2>&1; then
	pass "docs/OPERATIONS.md: the scrape config and alert rules pass promtool check config"
else
	fail "docs/OPERATIONS.md: promtool check config: $(cat "$tmp/doc.promtool")"
fi

[ "$failures" = 0 ] || grep -v '_bucket' "$tmp/s4.prom" | head -60 >"$tmp/s4.scrape"
hosting_finish metrics "$tmp/s4.scrape"
