#!/usr/bin/env bash
# druid_wait: a hung Druid does not starve the pool (issue 15, row 3; docs/HOSTING.md,
# "Slow Druid"). Through lighttpd (the shipped snippet) to a 2-worker daemon
# (druid_wait_max automatic = 1, druid_queue_ms 500) and the Druid emulator:
#   1. fast Druid: 24 query requests, 4 at a time, all 200 (the limit of 1 waiting
#      worker does not turn ordinary concurrency into 503s);
#   2. Druid hangs (--fault-delay-ms): one query request holds the only Druid-wait
#      slot; meanwhile /health answers within 100 ms (druid_waiting 1) and an
#      inline-data request answers 200; query requests beyond the limit get a JSON
#      503 with Retry-After at once, logged; /health within 100 ms while 6 of them
#      arrive together; the same /health, inline and 503 checks through Apache
#      (mod_proxy_fcgi, the shipped snippet) to the same daemon;
#   3. the worker holding the slot is killed (SIGKILL): the master frees its slot
#      (druid_waiting 0, a log line) and the next query request takes it (no 503);
#   4. Druid recovers (the emulator restarted without the delay on the same
#      port): query, inline and /health all answer 200, druid_waiting back to 0.
# Prints the timings. Needs RB_SOURCE_DIR, RB_BUILD_DIR, RB_SHARED_DIR (ctest).
set -uo pipefail
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init check-druid-wait
command -v lighttpd >/dev/null || { echo "FAIL: lighttpd is not installed"; exit 1; }
start_emulator

mkdir "$tmp/models" "$tmp/www"
write_daemon_conf "$tmp/rb.conf" "$tmp/svc.sock" "$druid" "listen_mode = 0666" "workers = 2" \
	"models_dir = $tmp/models" "trained_models_dir =" "druid_datasources = rb_flow" \
	"history = PT0S" "log_file = $tmp/daemon.log"
start_bg daemon.out env OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb.conf"
daemon_pid=$bg_pid
start_lighttpd "$tmp/svc.sock"
wait_health_http "$port" 300 ||
	die "the service did not come up: $(tail -5 "$tmp/daemon.out" "$tmp/daemon.log" 2>/dev/null)"

# Bodies: a query (the seed README's), and inline data (60 one-minute rows).
field query "$src/tests/data/druid/seed_readme_pt1m.query.json" >"$tmp/body-query"
write_hour_rows "$tmp/rows.json"
field data "$tmp/rows.json" >"$tmp/body-data"

# $1 = name, $2 = body file (or "" for GET /health): writes $tmp/$1.{json,head,code,time}
ask() {
	if [ -z "$2" ]; then
		curl -s -m 60 -D "$tmp/$1.head" -o "$tmp/$1.json" -w '%{http_code} %{time_total}' \
			"$url/health" >"$tmp/$1.w"
	else
		curl -s -m 60 -H 'Expect:' -D "$tmp/$1.head" -o "$tmp/$1.json" \
			-w '%{http_code} %{time_total}' --data-binary @"$2" "$url/api/v1/outliers" >"$tmp/$1.w"
	fi
	read -r code secs <"$tmp/$1.w"
	echo "$code" >"$tmp/$1.code"
	awk -v s="$secs" 'BEGIN { printf "%.1f\n", s * 1000 }' >"$tmp/$1.time"
}
code() { cat "$tmp/$1.code"; }
ms() { cat "$tmp/$1.time"; }
under() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# 1. Fast Druid, ordinary concurrency.
for i in $(seq 24); do echo "$i"; done |
	xargs -P4 -I{} curl -s -m 60 -H 'Expect:' -o /dev/null -w '%{http_code}\n' \
		--data-binary @"$tmp/body-query" "$url/api/v1/outliers" >"$tmp/fast.codes"
n200=$(grep -c '^200$' "$tmp/fast.codes")
if [ "$n200" = 24 ]; then pass "fast Druid: 24 query requests 4 at a time on 2 workers: all 200"
else fail "fast Druid: $n200 of 24 answered 200: $(sort "$tmp/fast.codes" | uniq -c | tr '\n' ' ')"; fi

# 2. Druid hangs (20 s; druid_timeout_ms is 30 s).
stop_emulator
start_emulator --fault-delay-ms 20000
ask held "$tmp/body-query" &
held=$!
sleep 1
ask health1 ""
if [ "$(code health1)" = 200 ] && under "$(ms health1)" 100 &&
   grep -q '"druid_waiting":1' "$tmp/health1.json" && grep -q '"druid_wait_max":1' "$tmp/health1.json"; then
	pass "Druid hung, its slot held: /health 200 in $(ms health1) ms ($(cat "$tmp/health1.json" | tr -d '\n' | grep -o '"druid_waiting":[0-9]*,"druid_wait_max":[0-9]*'))"
else
	fail "Druid hung: /health $(code health1) in $(ms health1) ms: $(cat "$tmp/health1.json")"
fi
ask inline1 "$tmp/body-data"
if [ "$(code inline1)" = 200 ] && grep -q '"status":"success"' "$tmp/inline1.json"; then
	pass "Druid hung: inline-data request 200 in $(ms inline1) ms"
else
	fail "Druid hung: inline-data request $(code inline1) in $(ms inline1) ms: $(head -c 300 "$tmp/inline1.json")"
fi
ask busy1 "$tmp/body-query"
retry=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/Ip' "$tmp/busy1.head")
if [ "$(code busy1)" = 503 ] && [ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 30 ] &&
   grep -q '"status":"error"' "$tmp/busy1.json" && grep -q 'Druid is slow' "$tmp/busy1.json" &&
   grep -q 'Content-Type: application/json' "$tmp/busy1.head" && under "$(ms busy1)" 100; then
	pass "Druid hung: a query request beyond the limit: 503 + Retry-After $retry in $(ms busy1) ms"
else
	fail "Druid hung: query beyond the limit: $(code busy1) in $(ms busy1) ms, Retry-After '$retry': $(cat "$tmp/busy1.head" "$tmp/busy1.json")"
fi
if grep -q 'Druid busy: all 1 Druid-wait slots held' "$tmp/daemon.log"; then
	pass "the 503 is logged: $(grep -m1 'Druid busy' "$tmp/daemon.log" | sed 's/.*Druid busy/Druid busy/')"
else
	fail "no log line for the 503"
fi
# A burst: 6 query requests and /health at the same time.
burst=()
for i in 1 2 3 4 5 6; do
	ask "burst$i" "$tmp/body-query" &
	burst+=($!)
done
sleep 0.05
ask health2 ""
wait "${burst[@]}"
n503=0
for i in 1 2 3 4 5 6; do [ "$(code "burst$i")" = 503 ] && n503=$((n503 + 1)); done
if [ "$n503" = 6 ] && [ "$(code health2)" = 200 ] && under "$(ms health2)" 100; then
	pass "Druid hung, 6 query requests at once: 6 x 503 (slowest $(cat "$tmp"/burst?.time | sort -n | tail -1) ms); /health meanwhile in $(ms health2) ms"
else
	fail "burst: $n503 of 6 answered 503; /health $(code health2) in $(ms health2) ms"
fi

# The same through Apache, while the slot is still held.
aport=$(free_port)
snippet_for apache "$tmp/svc.sock" >"$tmp/apache-snippet.conf"
write_apache_conf "$tmp/apache-snippet.conf" "$aport" reqtimeout
start_bg apache.log /usr/sbin/apache2 -D FOREGROUND -f "$tmp/apache.conf"
lurl=$url
url=http://127.0.0.1:$aport
wait_health_http "$aport"
ask ahealth ""
ask ainline "$tmp/body-data"
ask abusy "$tmp/body-query"
retry=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/Ip' "$tmp/abusy.head")
if [ "$(code ahealth)" = 200 ] && under "$(ms ahealth)" 100 && grep -q '"druid_waiting":1' "$tmp/ahealth.json" &&
   [ "$(code ainline)" = 200 ] && [ "$(code abusy)" = 503 ] && [ -n "$retry" ] &&
   grep -q 'Druid is slow' "$tmp/abusy.json"; then
	pass "Apache, Druid hung: /health 200 in $(ms ahealth) ms, inline 200 in $(ms ainline) ms, query beyond the limit 503 + Retry-After $retry in $(ms abusy) ms"
else
	fail "Apache, Druid hung: /health $(code ahealth) in $(ms ahealth) ms, inline $(code ainline), query $(code abusy) Retry-After '$retry': $(cat "$tmp/ahealth.json" "$tmp/abusy.head" "$tmp/abusy.json" 2>/dev/null | head -c 600)"
fi
url=$lurl

# 3. The holder dies: the master reclaims its slot.
holder=$(ss -Htnp state established "dst 127.0.0.1:$druid_port" 2>/dev/null |
	grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
if [ -n "$holder" ] && [ "$(ps -o ppid= -p "$holder" | tr -d ' ')" = "$daemon_pid" ]; then
	kill -KILL "$holder"
	wait "$held" 2>/dev/null
	sleep 0.5
	ask health3 ""
	if grep -q '"druid_waiting":0' "$tmp/health3.json" &&
	   grep -q "worker $holder died waiting on Druid; its Druid-wait slot is free again" "$tmp/daemon.log"; then
		pass "holder $holder killed: its slot reclaimed by the master (druid_waiting 0, logged)"
	else
		fail "holder killed: $(cat "$tmp/health3.json"); log: $(grep -c 'died waiting' "$tmp/daemon.log")"
	fi
	ask held2 "$tmp/body-query" &
	held=$!
	sleep 1
	ask health4 ""
	if grep -q '"druid_waiting":1' "$tmp/health4.json"; then
		pass "after the reclaim a new query request takes the slot (druid_waiting 1)"
	else
		fail "after the reclaim: $(cat "$tmp/health4.json")"
	fi
else
	fail "could not find the worker waiting on the emulator (ss: '$holder')"
fi

# 4. Druid recovers.
stop_emulator
start_emulator
wait "$held" 2>/dev/null
ask query2 "$tmp/body-query"
ask inline2 "$tmp/body-data"
ask health5 ""
if [ "$(code query2)" = 200 ] && [ "$(code inline2)" = 200 ] && [ "$(code health5)" = 200 ] &&
   grep -q '"druid_waiting":0' "$tmp/health5.json"; then
	pass "Druid recovered: query 200 in $(ms query2) ms, inline 200 in $(ms inline2) ms, /health 200 in $(ms health5) ms, druid_waiting 0"
else
	fail "after recovery: query $(code query2) inline $(code inline2) health $(code health5): $(cat "$tmp/health5.json")"
fi

[ "$failures" = 0 ] || RB_KEEP=1
hosting_finish druid_wait
