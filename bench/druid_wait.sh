#!/usr/bin/env bash
# bench/druid_wait.sh: what the Druid-wait limit (druid_wait_max, druid_queue_ms;
# docs/HOSTING.md, "Slow Druid") costs when Druid is healthy. A 2-worker daemon
# behind lighttpd (the shipped snippet) asks the Druid emulator on every request
# (the seed README's query, history off); wrk (1 thread, C connections, S
# seconds) per row. Settings (workers, druid_wait_max, druid_queue_ms): 2
# workers with the limit off (druid_wait_max = workers), 2 workers with the
# automatic limit of 1 and druid_queue_ms 0 and 500, 3 and 4 workers with the
# automatic limit (workers - 1) and druid_queue_ms 500; each with the emulator
# answering at once and with a --fault-delay-ms of D ms (a slow but working
# broker). Prints one markdown table: req/s, p50, p99, and non-2xx answers (the
# 503s). A measurement, not a test.
#   bash bench/druid_wait.sh          (after building into build/)
# Environment: RB_BUILD_DIR (default build), RB_BENCH_SECONDS (default 8),
# RB_BENCH_CONNS (default "2 4 8"), RB_BENCH_DELAY_MS (default 200), RB_BENCH_DELAYS
# (the emulator delays of the rows, default "0 D").
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
repo=$PWD
build=$(realpath -m "${RB_BUILD_DIR:-build}")
secs=${RB_BENCH_SECONDS:-8}
conns_list=${RB_BENCH_CONNS:-2 4 8}
delay=${RB_BENCH_DELAY_MS:-200}
me=bench/druid_wait.sh
die() { echo "$me: $*" >&2; exit 1; }
for tool in wrk lighttpd curl base64; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
daemon=$build/fcgi/rb-aioutliers
emulator=$build/tests/emulator/rb-druid-emulator
tmp=$(mktemp -d /tmp/rb-bench-druid-wait-XXXXXX)
lpid= dpid= epid=
stop() { if [ -n "$1" ]; then kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; fi; }
cleanup() { stop "$lpid"; stop "$dpid"; stop "$epid"; rm -rf "$tmp"; }
trap cleanup EXIT
. tests/hosting/free-port.sh

# $1 = emulator options; $2 = druid_wait_max; $3 = druid_queue_ms; $4 = workers
start_stack() {
	"$emulator" --listen 127.0.0.1:0 $1 >"$tmp/emu.log" 2>&1 </dev/null &
	epid=$!
	druid=
	for _ in $(seq 100); do
		druid=$(sed -n 's/^listening //p' "$tmp/emu.log")
		[ -n "$druid" ] && break
		sleep 0.1
	done
	[ -n "$druid" ] || die "the emulator did not start"
	mkdir -p "$tmp/models" "$tmp/www"
	cat >"$tmp/rb.conf" <<EOF
listen = unix:$tmp/svc.sock
listen_mode = 0600
workers = $4
models_dir = $tmp/models
trained_models_dir =
druid_url = http://$druid/druid/v2/
history = PT0S
druid_wait_max = $2
druid_queue_ms = $3
log_level = warn
allow_root = yes
EOF
	OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
	dpid=$!
	sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$tmp/svc.sock#" etc/lighttpd/rb-aioutliers.conf \
		>"$tmp/snippet.conf"
	port=$(free_port)
	cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
include "$tmp/snippet.conf"
EOF
	lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
	lpid=$!
	for _ in $(seq 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] &&
			return 0
		sleep 0.1
	done
	die "the service did not come up: $(tail -3 "$tmp/daemon.log")"
}
stop_stack() { stop "$lpid"; stop "$dpid"; stop "$epid"; lpid= dpid= epid=; }

field() { printf '%s=' "$1"; base64 -w0 "$2" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g'; }
field query tests/data/druid/seed_readme_pt1m.query.json >"$tmp/body"

# wrk report -> "req/s p50 p99 non2xx"
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return (v + 0) / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return (v + 0) * 1000
		return v + 0
	}
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/Non-2xx/ { bad = $NF }
	END { printf "%.0f %.1f %.1f %d\n", rps, p50, p99, bad }' "$1"
}

echo "| Druid | workers | druid_wait_max | druid_queue_ms | conns | req/s | p50 ms | p99 ms | non-2xx (503) |"
echo "|---|---|---|---|---|---|---|---|---|"
for d in ${RB_BENCH_DELAYS:-0 $delay}; do
	opt=
	[ "$d" = 0 ] || opt="--fault-delay-ms $d"
	for setting in "2 2 0" "2 0 0" "2 0 500" "3 0 500" "4 0 500"; do
		read -r workers max queue <<<"$setting"
		start_stack "$opt" "$max" "$queue" "$workers"
		for c in $conns_list; do
			RB_BENCH_BODY=$tmp/body wrk -t1 -c"$c" -d"${secs}s" --timeout 10s --latency \
				-s bench/service.lua "http://127.0.0.1:$port/api/v1/outliers" >"$tmp/wrk.out" 2>&1 ||
				die "wrk failed: $(tail -3 "$tmp/wrk.out")"
			read -r rps p50 p99 bad <<<"$(parse_wrk "$tmp/wrk.out")"
			label=$([ "$d" = 0 ] && echo "fast" || echo "+$d ms")
			lim=$([ "$max" = 0 ] && echo "auto $((workers - 1))" || echo "$max (off)")
			echo "| $label | $workers | $lim | $queue | $c | $rps | $p50 | $p99 | $bad |"
		done
		stop_stack
	done
done
