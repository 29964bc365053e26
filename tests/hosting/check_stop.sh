#!/usr/bin/env bash
# hosting_stop: SIGTERM loses no request the daemon had accepted (fcgi/worker.c
# "Stop"). Through lighttpd and then Apache, with 2 workers: 8 detection
# requests (model traffic on 7 days of rows, ~0.5 s of one worker each) are
# sent at once, so 2 run and 6 wait in the socket's queue; SIGTERM goes to the
# master once the 6 are queued (ss; 0.3 s at least, 5 s at most). All 8 must answer 200; the master must exit and remove
# its socket. lighttpd runs with the default stop_accept_ms (1000: it reads
# each body before it connects, so some have not reached the socket at the
# stop); Apache with stop_accept_ms = 0 (it connects at once: the socket goes
# at the signal and the 6 queued connections must be served from the queue). GET /health is sent every 100 ms from the stop on, and what the
# web server answered is printed (the numbers in docs/HOSTING.md "Stop").
set -u
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init stop RB_KEEP_SVC
traffic_daemon_conf
write_week_form "$tmp/body.form"

# $1 = stop_accept_ms
start_daemon() {
	sed -i '/^stop_accept_ms/d' "$tmp/daemon.conf"
	echo "stop_accept_ms = $1" >>"$tmp/daemon.conf"
	start_bg daemon.log "$daemon" -f -c "$tmp/daemon.conf"
	master=$bg_pid
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
}
code_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# Waits until $1 connections wait in the daemon's accept queue (the socket's Recv-Q, ss), or
# 0.3 s at least and 5 s at most: on a loaded machine the web server may take longer than a
# fixed pause to connect, and a request not yet connected at the stop is not what this tests.
wait_queued() {
	sleep 0.3
	command -v ss >/dev/null || return 0
	local q
	for _ in $(seq 235); do
		q=$(ss -xlH src "$sock" 2>/dev/null | awk '{print $3; exit}')
		[ "${q:-0}" -ge "$1" ] && return 0
		sleep 0.02
	done
	echo "note: $(ss -xlH src "$sock" 2>/dev/null | awk '{print $3; exit}') connections queued at the stop, not $1"
}

# $1 = label, $2 = web port
stop_under_load() {
	local label=$1 port=$2
	for _ in $(seq 100); do [ "$(code_of "http://127.0.0.1:$port/health")" = 200 ] && break; sleep 0.1; done
	local w0 t0
	t0=$(date +%s%N)
	[ "$(code_of --data-binary "@$tmp/body.form" "http://127.0.0.1:$port/api/v1/outliers")" = 200 ] ||
		fail "$label: the warm-up request failed"
	w0=$(( ($(date +%s%N) - t0) / 1000000 ))
	rm -f "$tmp"/req.*
	local reqs=()
	for i in 1 2 3 4 5 6 7 8; do
		code_of -m 60 --data-binary "@$tmp/body.form" \
			"http://127.0.0.1:$port/api/v1/outliers" >"$tmp/req.$i" &
		reqs+=($!)
	done
	wait_queued 6
	t0=$(date +%s%N)
	kill -TERM "$master"
	( while kill -0 "$master" 2>/dev/null; do sleep 0.02; done; date +%s%N >"$tmp/gone" ) &
	local waiter=$!
	# what the web server answers from the stop on
	local probes=""
	for _ in $(seq 10); do
		local c
		c=$(code_of -m 5 "http://127.0.0.1:$port/health")
		probes+="$(( ($(date +%s%N) - t0) / 1000000 )):$c "
		sleep 0.1
	done
	wait "${reqs[@]}"
	local codes ok=0
	codes=$(cat "$tmp"/req.* | tr '\n' ' ')
	for i in 1 2 3 4 5 6 7 8; do [ "$(cat "$tmp/req.$i")" = 200 ] && ok=$((ok + 1)); done
	for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
	wait "$waiter"
	local gone=$(( ($(cat "$tmp/gone") - t0) / 1000000 ))
	local after
	after=$(sed -n '/signal 15: stopping/,$p' "$tmp/daemon.log" | grep -c "POST /api/v1/outliers 200")
	echo "$label: one request alone $w0 ms; the 8 sent before SIGTERM: $codes;" \
	     "$after of them served after SIGTERM; master gone $gone ms after SIGTERM"
	echo "$label: /health from the stop on (ms:status): $probes"
	[ "$ok" = 8 ] && pass "$label: 8 of 8 requests sent before SIGTERM answered 200" ||
		fail "$label: $ok of 8 answered 200 ($codes)"
	if ! kill -0 "$master" 2>/dev/null && [ ! -e "$sock" ]; then
		pass "$label: the master stopped (within $gone ms of SIGTERM) and removed its socket"
	else
		fail "$label: master still running or socket left after $gone ms"
	fi
}

lweb=$(free_port)
write_lighttpd_conf "" "$lweb" "server.max-request-size = 16384" "$(lighttpd_fcgi_lines "$sock")"
start_daemon 1000
start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
stop_under_load lighttpd "$lweb"

web=$(free_port)
snippet_for apache "$sock" >"$tmp/apache-rb.conf"
write_apache_conf "$tmp/apache-rb.conf" "$web"
start_daemon 0
start_bg apache.log /usr/sbin/apache2 -X -f "$tmp/apache.conf"
stop_under_load Apache "$web"

grep -v "GET /health" "$tmp/daemon.log" >"$tmp/daemon.log.requests"
hosting_finish stop "$tmp/daemon.log.requests"
