#!/usr/bin/env bash
# hosting_deadlines: a stalled peer frees its worker within the phase's limit
# (fcgi/worker.c "Deadlines"), checked with 2 workers and short limits
# (params_timeout_ms 1000, body_grace_ms 500, body_min_rate 1K):
#   - raw FastCGI: two peers that send half their params and stall are dropped
#     at ~1 s, each with a "phase params" log line, and /health answers while
#     they stall (within 1.5 s of their start);
#   - raw FastCGI: two peers whose body comes at 1 byte/s are dropped at
#     ~0.5 s ("phase body"), /health answers meanwhile;
#   - raw FastCGI: two peers that never read their answer (model traffic on a
#     week of rows: ~0.75 MB) are dropped ("phase write", write_timeout_ms
#     1000) and /health answers after them;
#   - Apache (mod_proxy_fcgi streams the body): two clients sending their body
#     at 1 byte/s; /health answers within 1.5 s, the daemon logs "phase body";
#   - lighttpd (buffers the whole body before it connects): the same two
#     clients never reach a worker, /health answers at once.
# Timings are printed (ms); the assertions leave room for a loaded machine.
set -u
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init deadlines RB_KEEP_SVC
traffic_daemon_conf "params_timeout_ms = 1000" "body_grace_ms = 500" "body_min_rate = 1K" \
	"write_timeout_ms = 1000"
start_bg daemon.log "$daemon" -f -c "$tmp/daemon.conf"
wait_health_fcgi "$sock"

# $1 = label, $2 = log phrase, $3 = most ms for a drop, $4.. = the stalling command (run twice)
stall_pair() {
	local label=$1 phrase=$2 most=$3
	shift 3
	local before
	before=$(grep -c "$phrase" "$tmp/daemon.log")
	"$@" >"$tmp/p1.out" &
	local a=$!
	"$@" >"$tmp/p2.out" &
	local b=$!
	sleep 0.2 # both connected and holding a worker
	local h
	h=$(python3 "$peer" get "$sock" /health)
	wait "$a" "$b"
	local after
	after=$(grep -c "$phrase" "$tmp/daemon.log")
	echo "$label: peers $(cat "$tmp/p1.out"), $(cat "$tmp/p2.out") ms; /health after 200 ms: $h ms"
	local ok=1
	for f in "$tmp/p1.out" "$tmp/p2.out"; do
		read -r what ms <"$f"
		[ "$what" = closed ] && [ "${ms%.*}" -le "$most" ] || ok=0
	done
	[ "$ok" = 1 ] && pass "$label: both dropped within $most ms" ||
		fail "$label: not dropped in time"
	[ "${h%% *}" = 200 ] && [ "$(cut -d' ' -f2 <<<"$h" | cut -d. -f1)" -le 1500 ] &&
		pass "$label: /health answered ($h ms)" || fail "$label: /health: $h"
	[ $((after - before)) -ge 2 ] && pass "$label: logged '$phrase' twice" ||
		fail "$label: $((after - before)) '$phrase' lines"
}

stall_pair "raw params stall" "phase params: dropped" 1400 python3 "$peer" stall-params "$sock" 8
stall_pair "raw body at 1 byte/s" "phase body: dropped" 900 python3 "$peer" slow-body "$sock" 1000 8

# Answers nobody reads: a week of rows through the traffic model (a ~0.75 MB answer).
write_week_form "$tmp/week.form"
before=$(grep -c "phase write" "$tmp/daemon.log")
python3 "$peer" post-noread "$sock" /api/v1/outliers "$tmp/week.form" 6 >/dev/null &
w1=$!
python3 "$peer" post-noread "$sock" /api/v1/outliers "$tmp/week.form" 6 >/dev/null &
w2=$!
sleep 0.5
h=$(python3 "$peer" get "$sock" /health)
for _ in $(seq 50); do
	[ $(( $(grep -c "phase write" "$tmp/daemon.log") - before )) -ge 2 ] && break
	sleep 0.1
done
n=$(( $(grep -c "phase write" "$tmp/daemon.log") - before ))
echo "answers not read: /health 0.5 s after the two peers: $h ms; phase write lines: $n"
[ "$n" -ge 2 ] && pass "answers not read: both dropped ('phase write')" ||
	fail "answers not read: $n 'phase write' lines"
[ "${h%% *}" = 200 ] && [ "$(cut -d' ' -f2 <<<"$h" | cut -d. -f1)" -le 2500 ] &&
	pass "answers not read: /health answered ($h ms)" || fail "answers not read: /health: $h"
kill "$w1" "$w2" 2>/dev/null
wait "$w1" "$w2" 2>/dev/null

# Through Apache (streams the body to the worker as it comes).
web=$(free_port)
snippet_for apache "$sock" >"$tmp/apache-rb.conf"
write_apache_conf "$tmp/apache-rb.conf" "$web"
start_bg apache.log /usr/sbin/apache2 -X -f "$tmp/apache.conf"
health_ms() { curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$1/health"; }
wait_health_http "$web"
# $1 = label, $2 = port, $3 = "phase body" expected (1) or not (0)
http_slow_pair() {
	local before
	before=$(grep -c "phase body: dropped" "$tmp/daemon.log")
	python3 "$peer" http-slow-body "127.0.0.1:$2" 1000 4 >"$tmp/h1.out" &
	local a=$!
	python3 "$peer" http-slow-body "127.0.0.1:$2" 1000 4 >"$tmp/h2.out" &
	local b=$!
	sleep 1.2 # past the moment the web server passes the request on, and the grace
	local h t
	h=$(health_ms "$2")
	t=$(awk '{printf "%d", $2 * 1000}' <<<"$h")
	wait "$a" "$b"
	local n=$(( $(grep -c "phase body: dropped" "$tmp/daemon.log") - before ))
	echo "$1: two clients at 1 byte/s: $(cat "$tmp/h1.out"), $(cat "$tmp/h2.out"); /health $h s; phase body lines: $n"
	[ "${h%% *}" = 200 ] && [ "$t" -le 1500 ] && pass "$1: /health answered in $t ms" ||
		fail "$1: /health $h"
	if [ "$3" = 1 ]; then
		[ "$n" -ge 2 ] && pass "$1: the daemon dropped both ('phase body')" ||
			fail "$1: $n 'phase body' lines"
	else
		[ "$n" = 0 ] && pass "$1: no body reached a worker (the web server buffers it)" ||
			fail "$1: $n 'phase body' lines"
	fi
}
http_slow_pair "Apache" "$web" 1

# Through lighttpd (buffers the request body: a slow one never reaches a worker).
lweb=$(free_port)
write_lighttpd_conf "" "$lweb" "$(lighttpd_fcgi_lines "$sock")"
start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
wait_health_http "$lweb"
http_slow_pair "lighttpd" "$lweb" 0

hosting_finish deadline "$tmp/daemon.log" "$tmp/apache.error.log"
