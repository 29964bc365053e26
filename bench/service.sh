#!/usr/bin/env bash
# bench/service.sh: throughput and latency of the whole service under load,
# against the ceiling of the same hosting with a trivial FastCGI responder.
#
# Starts on loopback: rb-druid-emulator; rb-aioutliers (2 workers, Unix socket,
# OMP_NUM_THREADS=1, otherwise default settings incl. log_level info); a
# trivial responder (bench_fcgi_trivial, 2 workers, under spawn-fcgi -n); one
# lighttpd for each, both configured from etc/lighttpd/rb-aioutliers.conf.
# Then, per case, wrk (1 thread, RB_BENCH_CONNS connections, RB_BENCH_SECONDS
# seconds, --latency, POST body via bench/service.lua) against the service and,
# right after, against the trivial responder with the same body. Cases:
#   default 1h / 1w   data = 60 / 10,080 one-minute rows of bytes (the seed
#                     README's query answered by the emulator, 1 hour / 1 week)
#   deep 1h / 1w      data = the same rows with the traffic model's 11 metrics
#                     (the rewritten query, tests/data/druid/...expected.json,
#                     answered by the emulator), model=traffic
#   query deep 1h     query = the seed README's query, model=traffic, history=PT0S:
#                     the daemon asks the emulator (rewritten) on every request
#   query default 1h  query = the seed README's query, default detector, history=PT0S
#   history 1h        the same with the configured history (P7D): the daemon asks
#                     the emulator for 10,080 + 60 one-minute rows on every request
#                     and answers the 60 requested ones (docs/DRUID.md, History)
#   history deep 1h   the same with model=traffic (rewritten query, 10,140 rows × 11
#                     metrics through the model)
#   history novelty 1h   history 1h with detector=novelty
#   edge 1h           the deep 1h body POSTed to /health, which reads it to its end and
#                     answers 405 (no detection): the FastCGI edge of a worker alone
#                     (accept, params, body, answer, log line, close), against the
#                     trivial responder doing the same with the same body (its
#                     non-2xx column counts the 405s; no worker p50: the line has no model)
# plus, for reference, the emulator alone answering the rewritten 1-hour query
# (what the query case waits for on every request; a test fixture, not Druid).
# Every body is first sent once and must answer 200 "success" with the expected
# model, else the script stops. Prints one markdown table (worker p50: the median
# time the daemon's workers logged for the case's requests; CPU/req: user+system
# CPU time of all the workers of the daemon or of the trivial responder during
# the case, from /proc/PID/stat, divided by the requests wrk completed; the same
# for the workers' minor page faults), then the private
# memory (Private_Dirty + Private_Clean) of each daemon worker after the load.
# A measurement, not a test: no pass/fail on timings.
#   bash bench/service.sh            (after building into build/)
# Environment: RB_BUILD_DIR (default build), RB_SHARED_DIR (default ../shared),
# RB_BENCH_SECONDS (default 6), RB_BENCH_CONNS (default 4), RB_BENCH_CASES
# (a space-separated subset of the case names below; default all; every body is
# still checked once), RB_KEEP=1 keeps the temporary directory (logs, bodies,
# raw wrk output), RB_BENCH_STAGES=1 runs the daemon at log_level debug and adds
# a table of the median time of each stage of a request per case (the workers'
# stage timer lines, rb/base/stage_timer.h: wall ms / worker CPU ms / minor page
# faults; debug logging costs a little CPU of its own).
# Profile mode: RB_BENCH_PROFILE=CASE (one of the case names below, e.g.
# deep-1h) runs the daemon with 1 worker, records it with perf (cpu-clock,
# DWARF call graphs) under wrk -c1 for RB_BENCH_SECONDS, and prints the
# inclusive share of each stage of a request instead of the table.
set -euo pipefail
# lighttpd lives in /usr/sbin, which is not in a normal user's PATH on Debian.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
repo=$PWD
build=$(realpath -m "${RB_BUILD_DIR:-build}")
shared=${RB_SHARED_DIR:-../shared}
secs=${RB_BENCH_SECONDS:-6}
conns=${RB_BENCH_CONNS:-4}
me=bench/service.sh
die() { echo "$me: $*" >&2; exit 1; }

for tool in wrk lighttpd spawn-fcgi curl base64; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
daemon=$build/fcgi/rb-aioutliers
emulator=$build/tests/emulator/rb-druid-emulator
trivial=$build/bench/bench_fcgi_trivial
for f in "$daemon" "$emulator" "$trivial"; do
	[ -x "$f" ] || die "$f not built (cmake --build $build)"
done
[ -f "$shared/upstream/traffic.keras" ] || die "$shared/upstream/traffic.keras not found"

tmp=$(mktemp -d /tmp/rb-bench-service-XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "${RB_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

. tests/hosting/free-port.sh

# ---- the stack -------------------------------------------------------------
"$emulator" --listen 127.0.0.1:0 >"$tmp/emulator.log" 2>&1 </dev/null &
pids+=($!)
druid=
for _ in $(seq 100); do
	druid=$(sed -n 's/^listening //p' "$tmp/emulator.log")
	[ -n "$druid" ] && break
	sleep 0.1
done
[ -n "$druid" ] || die "the emulator did not start"

mkdir "$tmp/models" "$tmp/www"
ln -s "$(realpath "$shared/upstream/traffic.keras")" "$tmp/models/traffic.keras"
ln -s "$(realpath "$shared/upstream/traffic.ini")" "$tmp/models/traffic.ini"
ln -s "$repo/models/traffic.druid.json" "$tmp/models/traffic.druid.json"
cat >"$tmp/rb-aioutliers.conf" <<EOF
listen = unix:$tmp/svc.sock
listen_mode = 0600
workers = $([ -n "${RB_BENCH_PROFILE:-}" ] && echo 1 || echo 2)
models_dir = $tmp/models
druid_url = http://$druid/druid/v2/
allow_root = yes
$([ -n "${RB_BENCH_STAGES:-}" ] && echo "log_level = debug")
EOF
OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb-aioutliers.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)
daemon_pid=${pids[-1]}
spawn-fcgi -n -s "$tmp/trivial.sock" -M 0600 -- "$trivial" 2 >"$tmp/trivial.log" 2>&1 </dev/null &
pids+=($!)

# $1 = name, $2 = socket, $3 = port: a lighttpd from the shipped snippet
# (called directly, not in $(...), so that its pid reaches the cleanup).
start_lighttpd() {
	sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$2#" etc/lighttpd/rb-aioutliers.conf >"$tmp/$1.snippet"
	cat >"$tmp/$1.conf" <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $3
server.errorlog = "$tmp/$1.error.log"
include "$tmp/$1.snippet"
EOF
	lighttpd -D -f "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 </dev/null &
	pids+=($!)
}
svc_port=$(free_port)
start_lighttpd lighttpd-svc "$tmp/svc.sock" "$svc_port"
svc_lighttpd_pid=${pids[-1]}
triv_port=$(free_port)
start_lighttpd lighttpd-trivial "$tmp/trivial.sock" "$triv_port"
triv_lighttpd_pid=${pids[-1]}
for _ in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$svc_port/health")" = 200 ] && break
	sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$svc_port/health")" = 200 ] ||
	die "the service did not come up; $(tail -5 "$tmp/daemon.log")"

# ---- request bodies --------------------------------------------------------
week='2023-09-18T00:00:00+00:00/2023-09-25T00:00:00+00:00'
hour='2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00'
# $1 = query file, $2 = interval, $3 = output: the emulator's answer.
ask_druid() {
	sed "s#$hour#$2#" "$1" | curl -sf -H 'Content-Type: application/json' --data-binary @- \
		"http://$druid/druid/v2/" >"$3" || die "the emulator refused $1"
}
# form field: name=urlencoded base64 of file $2
field() { printf '%s=' "$1"; base64 -w0 "$2" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g'; }
q=tests/data/druid/seed_readme_pt1m.query.json
qm=tests/data/druid/seed_readme_pt1m.expected.json
ask_druid "$q" "$hour" "$tmp/rows-bytes-1h.json"
ask_druid "$q" "$week" "$tmp/rows-bytes-1w.json"
ask_druid "$qm" "$hour" "$tmp/rows-model-1h.json"
ask_druid "$qm" "$week" "$tmp/rows-model-1w.json"
printf traffic >"$tmp/model-name"
model_field=$(field model "$tmp/model-name")
field data "$tmp/rows-bytes-1h.json" >"$tmp/body-default-1h"
field data "$tmp/rows-bytes-1w.json" >"$tmp/body-default-1w"
{ field data "$tmp/rows-model-1h.json"; printf '&%s' "$model_field"; } >"$tmp/body-deep-1h"
{ field data "$tmp/rows-model-1w.json"; printf '&%s' "$model_field"; } >"$tmp/body-deep-1w"
printf PT0S >"$tmp/history-off"
off_field=$(field history "$tmp/history-off")
{ field query "$q"; printf '&%s&%s' "$model_field" "$off_field"; } >"$tmp/body-query-1h"
{ field query "$q"; printf '&%s' "$off_field"; } >"$tmp/body-qdefault-1h"
field query "$q" >"$tmp/body-history-1h"
{ field query "$q"; printf '&%s' "$model_field"; } >"$tmp/body-history-deep-1h"
printf novelty >"$tmp/detector-novelty"
{ field query "$q"; printf '&%s' "$(field detector "$tmp/detector-novelty")"; } \
	>"$tmp/body-history-novelty-1h"

cases="default-1h default-1w deep-1h deep-1w query-1h qdefault-1h history-1h history-deep-1h"
cases+=" history-novelty-1h edge-1h"
declare -A label=(
	[default-1h]="default detector, 1 h inline (60 rows)"
	[default-1w]="default detector, 1 week inline (10,080 rows)"
	[deep-1h]="traffic model, 1 h inline (60 rows × 11 metrics)"
	[deep-1w]="traffic model, 1 week inline (10,080 rows × 11 metrics)"
	[query-1h]="traffic model, 1 h via Druid emulator (query)"
	[qdefault-1h]="default detector, 1 h via Druid emulator (query, no history)"
	[history-1h]="default detector, 1 h via Druid emulator with P7D history (10,140 rows)"
	[history-deep-1h]="traffic model, 1 h via Druid emulator with P7D history (10,140 rows)"
	[history-novelty-1h]="novelty detector, 1 h via Druid emulator with P7D history (10,140 rows)"
	[edge-1h]="FastCGI edge alone: the deep 1 h body to /health (read, answered 405)"
)
# the path each case posts to (default /api/v1/outliers)
declare -A path=([edge-1h]=/health)
run_cases=${RB_BENCH_CASES:-$cases}
for c in $run_cases; do
	[[ " $cases " == *" $c "* ]] || die "RB_BENCH_CASES: no case '$c' (one of: $cases)"
done
declare -A want_model=([default-1h]=default [default-1w]=default [deep-1h]=traffic
	[deep-1w]=traffic [query-1h]=traffic [qdefault-1h]=default [history-1h]=default
	[history-deep-1h]=traffic [history-novelty-1h]=novelty)
cp "$tmp/body-deep-1h" "$tmp/body-edge-1h"
for c in $cases; do
	if [ "$c" = edge-1h ]; then
		code=$(curl -s -o "$tmp/check-$c.json" -w '%{http_code}' -H 'Expect:' \
		       --data-binary @"$tmp/body-$c" "http://127.0.0.1:$svc_port${path[$c]}")
		[ "$code" = 405 ] || die "case $c: HTTP $code (want 405) $(head -c 300 "$tmp/check-$c.json")"
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' \
		       --data-binary @"$tmp/body-$c" "http://127.0.0.1:$triv_port${path[$c]}")
		[ "$code" = 200 ] || die "trivial responder, case $c: HTTP $code"
		continue
	fi
	code=$(curl -s -o "$tmp/check-$c.json" -w '%{http_code}' -H 'Expect:' \
	       --data-binary @"$tmp/body-$c" "http://127.0.0.1:$svc_port/api/v1/outliers")
	[ "$code" = 200 ] && grep -q '"status":"success"' "$tmp/check-$c.json" &&
		grep -q "\"model\":\"${want_model[$c]}\"" "$tmp/check-$c.json" ||
		die "case $c: HTTP $code $(head -c 300 "$tmp/check-$c.json")"
	[[ "$c" != history-* ]] || grep -q '"history_rows":10080' "$tmp/check-$c.json" ||
		die "case $c: no history_rows 10080 in $(tail -c 200 "$tmp/check-$c.json")"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' \
	       --data-binary @"$tmp/body-$c" "http://127.0.0.1:$triv_port/api/v1/outliers")
	[ "$code" = 200 ] || die "trivial responder, case $c: HTTP $code"
done

# ---- load ------------------------------------------------------------------
# $1 = port, $2 = body file, $3 = output: wrk's report; $4 = path (default /api/v1/outliers).
run_wrk() {
	RB_BENCH_BODY=$2 wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s --latency \
		-s bench/service.lua "http://127.0.0.1:$1${4:-/api/v1/outliers}" >"$3" 2>&1 ||
		die "wrk failed: $(tail -3 "$3")"
}
# $1 = URL, $2 = body file, $3 = output: wrk with a JSON body (the emulator).
run_wrk_json() {
	RB_BENCH_CTYPE=application/json RB_BENCH_BODY=$2 wrk -t1 -c"$conns" -d"${secs}s" \
		--timeout 10s --latency -s bench/service.lua "$1" >"$3" 2>&1 ||
		die "wrk failed: $(tail -3 "$3")"
}
# $1 = wrk report: "req/s p50 p99 non2xx sockerr"
parse_wrk() {
	awk '
	function us(v) {
		if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000;
		if (v ~ /m$/) return v * 60e6; if (v ~ /s$/) return v * 1e6; return v
	}
	/Requests\/sec:/ { rps = $2 }
	/^ +50%/ { p50 = us($2) }
	/^ +99%/ { p99 = us($2) }
	/Non-2xx or 3xx responses:/ { bad = $5 }
	/Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
	END { printf "%s %d %d %d %d\n", rps, p50, p99, bad + 0, err + 0 }' "$1"
}
fmt_rps() { awk -v r="$1" 'BEGIN { printf (r < 100 ? "%.1f" : "%.0f"), r }'; }
fmt_us() { awk -v u="$1" 'BEGIN { if (u >= 10000) printf "%.0f ms", u / 1000;
	else if (u >= 1000) printf "%.1f ms", u / 1000; else printf "%d µs", u }'; }

# ---- profile mode ----------------------------------------------------------
# Inclusive shares of the request stages in the one worker's on-CPU samples.
# oneDNN's JIT kernels cannot be unwound: they show as the [JIT] dso, outside
# the call tree; count them as inference.
if [ -n "${RB_BENCH_PROFILE:-}" ]; then
	c=$RB_BENCH_PROFILE
	[ -f "$tmp/body-$c" ] || die "RB_BENCH_PROFILE: no case '$c' (one of: $cases)"
	command -v perf >/dev/null || die "perf is not installed"
	worker=$(pgrep -P "$daemon_pid")
	perf record -q -F 499 -e cpu-clock --call-graph dwarf,16384 -o "$tmp/perf.data" \
		-p "$worker" >"$tmp/perf.log" 2>&1 &
	perf_pid=$!
	sleep 0.5
	conns=1
	run_wrk "$svc_port" "$tmp/body-$c" "$tmp/wrk-profile.txt" "${path[$c]:-}"
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	echo "${label[$c]}: $(grep Requests/sec "$tmp/wrk-profile.txt"), 1 worker, wrk -c1"
	echo "share of the worker's samples (inclusive), by stage:"
	perf report -i "$tmp/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
		awk '$1 ~ /%$/ { print $1, $4 }' | awk '
		BEGIN { n = split("worker_serve FCGX_Accept_r read_body form_parse " \
			"request_fields_parse request_fields_decode druid_query_prepare_history " \
			"druid_query series_parse series_parse_with " \
			"engine_run_model " \
			"features_build " \
			"engine_reconstruct model_vec_run_windows model_vec_run model_dnnl_run score_rows detector_run " \
			"druid_history_rows_before series_drop_head detection_drop_head response_success " \
			"json_delete log_msg log_msg_pid FCGX_Finish_r", order, " ")
			for (i = 1; i <= n; i++) want[order[i]] = 1 }
		($2 in want) && !($2 in got) { got[$2] = $1 }
		END { for (i = 1; i <= n; i++) if (order[i] in got) printf "  %-28s %s\n", order[i], got[order[i]] }'
	perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
		awk '/\[JIT\]/ { printf "  %-28s %s (oneDNN JIT kernels: inference)\n", "[JIT]", $1 }'
	echo "the 12 functions with the most samples of their own (self):"
	perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
		awk '$1 ~ /%$/ && n < 12 { printf "  %-28s %s\n", $3, $1; n++ }'
	exit 0
fi

# $1 = first line of daemon.log to read: median of the POST times the workers
# logged ("... N bytes T ms model=..."), i.e. from the request's start to the
# answer handed to libfcgi, without accept and the final flush.
worker_p50() {
	tail -n +"$1" "$tmp/daemon.log" | awk '/ POST .* ms model=/ { for (i = 1; i < NF; i++)
		if ($(i + 1) == "ms") print $i * 1000 }' | sort -n |
		awk '{ t[NR] = $1 } END { print NR ? t[int((NR + 1) / 2)] : 0 }'
}

# $1 = first line of daemon.log to read: the median of each stage over the case's
# stage timer lines ("stages wall/cpu ms/faults: body W/C/F ... total W/C/F"), as
# "| stage W/C/F | ..." cells in stage order.
stage_medians() {
	local st
	tail -n +"$1" "$tmp/daemon.log" | awk '/stages wall\/cpu ms\/faults:/ {
		for (i = 1; i < NF; i++) if ($i ~ /^(body|form|b64|fetch|parse|detect|render|write|total)$/)
			print $i, $(i + 1) }' >"$tmp/stages.txt"
	for st in body form b64 fetch parse detect render write total; do
		awk -v s="$st" '$1 == s { split($2, v, "/"); print v[1], v[2], v[3] }' "$tmp/stages.txt" >"$tmp/stage.txt"
		if [ -s "$tmp/stage.txt" ]; then
			printf ' %s / %s / %s |' "$(cut -d' ' -f1 "$tmp/stage.txt" | sort -g | awk '{ x[NR] = $1 } END { print x[int((NR + 1) / 2)] }')" \
				"$(cut -d' ' -f2 "$tmp/stage.txt" | sort -g | awk '{ x[NR] = $1 } END { print x[int((NR + 1) / 2)] }')" \
				"$(cut -d' ' -f3 "$tmp/stage.txt" | sort -g | awk '{ x[NR] = $1 } END { print x[int((NR + 1) / 2)] }')"
		else
			printf ' |'
		fi
	done
	printf '\n'
}

# $1 = a master's pid: CPU ticks (user + system) used so far by its children.
worker_ticks() {
	local p t=0
	for p in $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
# $1 = a master's pid: minor page faults so far of its children.
worker_faults() {
	local p t=0
	for p in $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $10 }' "/proc/$p/stat")))
	done
	echo "$t"
}
# $1 $2 = faults before and after, $3 = wrk report: minor faults per request.
faults_per_request() {
	awk -v a="$1" -v b="$2" '/ requests in / { n = $1 } END { printf "%d\n", (n > 0 ? (b - a) / n : 0) }' "$3"
}
# $1 = a pid: its CPU ticks (user + system) so far.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The machine's busy CPU ticks so far (all CPUs, everything but idle and iowait).
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# $1 $2 = ticks before and after, $3 = wrk report: CPU µs per request.
cpu_per_request() {
	awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" '/ requests in / { n = $1 }
		END { printf "%d\n", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }' "$3"
}
trivial_pid=$(pgrep -f "bench_fcgi_trivial" | head -1)

declare -A res wp50 wcpu tcpu lcpu tlcpu mcpu tmcpu stages wflt
for c in $run_cases; do
	echo "running $c ..." >&2
	first=$(($(wc -l <"$tmp/daemon.log") + 1))
	t0=$(worker_ticks "$daemon_pid") l0=$(proc_ticks "$svc_lighttpd_pid") m0=$(busy_ticks)
	f0=$(worker_faults "$daemon_pid")
	run_wrk "$svc_port" "$tmp/body-$c" "$tmp/wrk-svc-$c.txt" "${path[$c]:-}"
	wflt[$c]=$(faults_per_request "$f0" "$(worker_faults "$daemon_pid")" "$tmp/wrk-svc-$c.txt")
	wcpu[$c]=$(cpu_per_request "$t0" "$(worker_ticks "$daemon_pid")" "$tmp/wrk-svc-$c.txt")
	lcpu[$c]=$(cpu_per_request "$l0" "$(proc_ticks "$svc_lighttpd_pid")" "$tmp/wrk-svc-$c.txt")
	mcpu[$c]=$(cpu_per_request "$m0" "$(busy_ticks)" "$tmp/wrk-svc-$c.txt")
	wp50[$c]=$(worker_p50 "$first")
	[ -z "${RB_BENCH_STAGES:-}" ] || stages[$c]=$(stage_medians "$first")
	t0=$(worker_ticks "$trivial_pid") l0=$(proc_ticks "$triv_lighttpd_pid") m0=$(busy_ticks)
	run_wrk "$triv_port" "$tmp/body-$c" "$tmp/wrk-trivial-$c.txt" "${path[$c]:-}"
	tcpu[$c]=$(cpu_per_request "$t0" "$(worker_ticks "$trivial_pid")" "$tmp/wrk-trivial-$c.txt")
	tlcpu[$c]=$(cpu_per_request "$l0" "$(proc_ticks "$triv_lighttpd_pid")" "$tmp/wrk-trivial-$c.txt")
	tmcpu[$c]=$(cpu_per_request "$m0" "$(busy_ticks)" "$tmp/wrk-trivial-$c.txt")
	res[svc-$c]=$(parse_wrk "$tmp/wrk-svc-$c.txt")
	res[triv-$c]=$(parse_wrk "$tmp/wrk-trivial-$c.txt")
done
echo "running emulator alone ..." >&2
run_wrk_json "http://$druid/druid/v2/" "$qm" "$tmp/wrk-emulator.txt"
res[emulator]=$(parse_wrk "$tmp/wrk-emulator.txt")

echo
echo "wrk -t1 -c$conns -d${secs}s --latency, loopback, lighttpd 1.4 -> Unix socket -> 2 workers;" \
     "$(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| case | body | req/s | p50 | p99 | non-2xx | socket errors | worker p50 | worker CPU/req | trivial req/s | trivial CPU/req | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in $run_cases; do
	read -r rps p50 p99 bad err <<<"${res[svc-$c]}"
	read -r trps _ _ tbad terr <<<"${res[triv-$c]}"
	size=$(stat -c %s "$tmp/body-$c")
	ratio=$(awk -v a="$rps" -v b="$trps" 'BEGIN { printf "%.1f%%", (b > 0 ? 100 * a / b : 0) }')
	[ "$tbad" = 0 ] && [ "$terr" = 0 ] || trps="$trps (non-2xx $tbad, errors $terr)"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${label[$c]}" \
		"$(numfmt --to=iec --suffix=B "$size")" "$(fmt_rps "$rps")" "$(fmt_us "$p50")" "$(fmt_us "$p99")" \
		"$bad" "$err" "$(fmt_us "${wp50[$c]}")" "$(fmt_us "${wcpu[$c]}")" "$(fmt_rps "${trps%% *}")" \
		"$(fmt_us "${tcpu[$c]}")" "$ratio"
done
read -r rps p50 p99 bad err <<<"${res[emulator]}"
printf '| %s | %s | %s | %s | %s | %s | %s | | | | | |\n' \
	"(reference) the emulator alone, rewritten 1 h query, direct" \
	"$(numfmt --to=iec --suffix=B "$(stat -c %s "$qm")")" "$(fmt_rps "$rps")" "$(fmt_us "$p50")" \
	"$(fmt_us "$p99")" "$bad" "$err"
echo
echo "CPU time per request by process (user + system, µs), service / trivial responder;"
echo "machine = every busy CPU tick of the machine during the case, idle excluded;"
echo "worker faults = minor page faults of the daemon's workers per request:"
echo
echo "| case | workers | lighttpd | machine | trivial workers | trivial lighttpd | trivial machine | worker faults |"
echo "|---|---|---|---|---|---|---|---|"
for c in $run_cases; do
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "${wcpu[$c]}" "${lcpu[$c]}" "${mcpu[$c]}" \
		"${tcpu[$c]}" "${tlcpu[$c]}" "${tmcpu[$c]}" "${wflt[$c]}"
done
if [ -n "${RB_BENCH_STAGES:-}" ]; then
	echo
	echo "Median per request of each stage (stage timer, log_level debug): wall ms / worker CPU ms / minor faults:"
	echo
	echo "| case | body | form | b64 | fetch | parse | detect | render | write | total |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for c in $run_cases; do
		printf '| %s |%s\n' "$c" "${stages[$c]}"
	done
fi
echo
echo "Worker private memory after the load (Private_Dirty + Private_Clean, smaps_rollup):"
for w in $(pgrep -P "$daemon_pid"); do
	awk -v pid="$w" '/^Private_(Dirty|Clean):/ { kb += $2 } /^Rss:/ { rss = $2 }
		END { printf "  worker %s: %.1f MiB private (RSS %.1f MiB)\n", pid, kb / 1024, rss / 1024 }' \
		"/proc/$w/smaps_rollup"
done
awk '/^Private_(Dirty|Clean):/ { kb += $2 } END { printf "  master: %.1f MiB private\n", kb / 1024 }' \
	"/proc/$daemon_pid/smaps_rollup"
