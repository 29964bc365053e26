#!/usr/bin/env bash
# bench/soak.sh: the soak of issue 15 (Measure): the whole service under a mix of
# valid and invalid requests for RB_SOAK_SECONDS (default 300) through lighttpd
# (the shipped snippet), with the daemon's defaults (3 workers, history P7D, log
# level info to a file) and the Druid emulator.
#
# Two wrk runs at the same time (1 thread each, bench/soak.lua cycling through
# a list of requests):
#   valid   (RB_SOAK_VALID_CONNS, default 2): inline data with the default detector
#           and with the traffic model, a Druid query with the default detector
#           and a week of history, a Druid query with the traffic model and no
#           history, GET /health; every one must answer 2xx;
#   invalid (RB_SOAK_INVALID_CONNS, default 2): no data, data that is not JSON,
#           a query that is not JSON, data that is not base64, an unknown
#           detector, JSON nested 100,000 deep, a NaN in the rows, a Druid query
#           of a type the emulator refuses, GET on the POST route.
# Every 15 s it samples each worker's RSS and private memory (VmRSS, and
# Private_Clean + Private_Dirty from /proc/PID/smaps_rollup). Prints a markdown
# table per run (requests, req/s, p50/p99, answers by status) and the memory
# table, then "valid non-2xx: N" and the workers' memory growth from the first
# sample after warm-up (30 s) to the last. Exit status 1 when a valid request got
# a non-2xx answer or a worker was replaced, else 0. Not a ctest (too long):
#   bash bench/soak.sh                    (after building into build/)
# Environment: RB_BUILD_DIR (default build), RB_SHARED_DIR (default ../shared),
# RB_SOAK_SECONDS, RB_SOAK_VALID_CONNS, RB_SOAK_INVALID_CONNS, RB_KEEP=1 keeps the
# temporary directory (logs, bodies, raw wrk output).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
build=$(realpath -m "${RB_BUILD_DIR:-build}")
shared=${RB_SHARED_DIR:-../shared}
secs=${RB_SOAK_SECONDS:-300}
vconns=${RB_SOAK_VALID_CONNS:-2}
iconns=${RB_SOAK_INVALID_CONNS:-2}
me=bench/soak.sh
RB_SOURCE_DIR=$PWD RB_BUILD_DIR=$build
. tests/hosting/lib.sh
die() { echo "$me: $*" >&2; exit 1; }
for tool in wrk lighttpd curl base64 python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
hosting_init bench-soak
for f in "$daemon" "$emulator"; do [ -x "$f" ] || die "$f not built"; done
[ -f "$shared/upstream/traffic.keras" ] || die "$shared/upstream/traffic.keras not found"

# ---- the stack -------------------------------------------------------------
start_emulator
mkdir "$tmp/models" "$tmp/www"
ln -s "$(realpath "$shared/upstream/traffic.keras")" "$tmp/models/traffic.keras"
ln -s "$(realpath "$shared/upstream/traffic.ini")" "$tmp/models/traffic.ini"
ln -s "$PWD/models/traffic.druid.json" "$tmp/models/traffic.druid.json"
write_daemon_conf "$tmp/rb.conf" "$tmp/svc.sock" "$druid" "listen_mode = 0600" \
	"models_dir = $tmp/models" "trained_models_dir =" "log_file = $tmp/daemon.log"
start_bg daemon.out "$daemon" -f -c "$tmp/rb.conf"
daemon_pid=$bg_pid
start_lighttpd "$tmp/svc.sock"
wait_health_http "$port" 300 ||
	die "the service did not come up: $(tail -3 "$tmp/daemon.out" "$tmp/daemon.log" 2>/dev/null)"

# ---- bodies ----------------------------------------------------------------
hour='2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00'
q=tests/data/druid/seed_readme_pt1m.query.json
qm=tests/data/druid/seed_readme_pt1m.expected.json
curl -sf -H 'Content-Type: application/json' --data-binary @"$q" "http://$druid/druid/v2/" \
	>"$tmp/rows-bytes.json" || die "the emulator refused $q"
curl -sf -H 'Content-Type: application/json' --data-binary @"$qm" "http://$druid/druid/v2/" \
	>"$tmp/rows-model.json" || die "the emulator refused $qm"
text() { printf '%s' "$2" >"$tmp/text"; field "$1" "$tmp/text"; }
field data "$tmp/rows-bytes.json" >"$tmp/v-data"
{ field data "$tmp/rows-model.json"; printf '&'; text model traffic; } >"$tmp/v-data-model"
field query "$q" >"$tmp/v-query-history"
{ field query "$q"; printf '&'; text model traffic; printf '&'; text history PT0S; } \
	>"$tmp/v-query-model"
printf 'foo=bar' >"$tmp/i-nodata"
text data "this is not JSON" >"$tmp/i-data-notjson"
text query '{"queryType":' >"$tmp/i-query-notjson"
printf 'data=%%%%%%not-base64%%%%' >"$tmp/i-data-notbase64"
{ field data "$tmp/rows-bytes.json"; printf '&'; text detector bogus; } >"$tmp/i-detector"
python3 -c 'print("[" * 100000 + "]" * 100000)' >"$tmp/deep.json"
field data "$tmp/deep.json" >"$tmp/i-data-deep"
sed 's/"bytes":[0-9.]*/"bytes":NaN/' "$tmp/rows-bytes.json" >"$tmp/nan.json"
field data "$tmp/nan.json" >"$tmp/i-data-nan"
text query '{"queryType":"segmentMetadata","dataSource":"rb_flow","intervals":["2023-09-21T09:00Z/2023-09-21T10:00Z"]}' \
	>"$tmp/i-query-refused"
printf '%s\t%s\t%s\n' \
	POST /api/v1/outliers "$tmp/v-data" \
	POST /api/v1/outliers "$tmp/v-data-model" \
	POST /api/v1/outliers "$tmp/v-query-history" \
	POST /api/v1/outliers "$tmp/v-query-model" \
	GET /health - >"$tmp/valid.list"
printf '%s\t%s\t%s\n' \
	POST /api/v1/outliers "$tmp/i-nodata" \
	POST /api/v1/outliers "$tmp/i-data-notjson" \
	POST /api/v1/outliers "$tmp/i-query-notjson" \
	POST /api/v1/outliers "$tmp/i-data-notbase64" \
	POST /api/v1/outliers "$tmp/i-detector" \
	POST /api/v1/outliers "$tmp/i-data-deep" \
	POST /api/v1/outliers "$tmp/i-data-nan" \
	POST /api/v1/outliers "$tmp/i-query-refused" \
	GET /api/v1/outliers - >"$tmp/invalid.list"
# Every valid request answers 2xx once before the soak, every invalid one 4xx/5xx.
while IFS=$'\t' read -r m p f; do
	args=(-s -o "$tmp/check.json" -w '%{http_code}' -X "$m")
	[ "$f" = - ] || args+=(--data-binary @"$f")
	c=$(curl "${args[@]}" "$url$p")
	[[ "$c" == 2* ]] || die "valid request $m $p $f: HTTP $c $(head -c 200 "$tmp/check.json")"
done <"$tmp/valid.list"
while IFS=$'\t' read -r m p f; do
	args=(-s -o "$tmp/check.json" -w '%{http_code}' -X "$m")
	[ "$f" = - ] || args+=(--data-binary @"$f")
	c=$(curl "${args[@]}" "$url$p")
	[[ "$c" != 2* ]] || die "invalid request $m $p $f: HTTP $c"
	echo "$(basename "$f"): $c $(head -c 120 "$tmp/check.json")" >>"$tmp/invalid.first"
done <"$tmp/invalid.list"

# ---- memory sampling -------------------------------------------------------
workers() { pgrep -P "$daemon_pid" | sort -n | tr '\n' ' '; }
sample() { # $1 = seconds since start: one line "t pid:rss:private ..."
	local line="$1" w rss priv
	for w in $(workers); do
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$w/status" 2>/dev/null || echo 0)
		priv=$(awk '/^Private_(Clean|Dirty):/ { kb += $2 } END { print kb + 0 }' \
			"/proc/$w/smaps_rollup" 2>/dev/null || echo 0)
		line+=" $w:$rss:$priv"
	done
	echo "$line"
}
first_workers=$(workers)

# ---- load ------------------------------------------------------------------
RB_SOAK_LIST=$tmp/valid.list wrk -t1 -c"$vconns" -d"${secs}s" --timeout 30s --latency \
	-s bench/soak.lua "$url/" >"$tmp/wrk-valid.out" 2>&1 &
wv=$!
RB_SOAK_LIST=$tmp/invalid.list wrk -t1 -c"$iconns" -d"${secs}s" --timeout 30s --latency \
	-s bench/soak.lua "$url/" >"$tmp/wrk-invalid.out" 2>&1 &
wi=$!
t0=$SECONDS
: >"$tmp/mem"
while kill -0 "$wv" 2>/dev/null || kill -0 "$wi" 2>/dev/null; do
	sample $((SECONDS - t0)) >>"$tmp/mem"
	for _ in $(seq 15); do
		kill -0 "$wv" 2>/dev/null || kill -0 "$wi" 2>/dev/null || break
		sleep 1
	done
done
sample $((SECONDS - t0)) >>"$tmp/mem"
wait "$wv" || die "wrk (valid) failed: $(tail -3 "$tmp/wrk-valid.out")"
wait "$wi" || die "wrk (invalid) failed: $(tail -3 "$tmp/wrk-invalid.out")"

# ---- report ----------------------------------------------------------------
# $1 = wrk output: "requests req/s p50ms p99ms non2xx sockerr codes"
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return (v + 0) / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return (v + 0) * 1000
		return v + 0
	}
	/requests in/ { n = $1 }
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/Non-2xx/ { bad = $NF }
	/Socket errors/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
	/^codes/ { sub(/^codes /, ""); codes = $0 }
	END { printf "%d %.1f %.1f %.1f %d %d %s\n", n, rps, p50, p99, bad, se, codes }' "$1"
}
read -r vn vrps vp50 vp99 vbad vse vcodes <<<"$(parse_wrk "$tmp/wrk-valid.out")"
read -r in irps ip50 ip99 ibad ise icodes <<<"$(parse_wrk "$tmp/wrk-invalid.out")"
echo "soak: $secs s through lighttpd, $(wc -l <"$tmp/valid.list") valid and $(wc -l <"$tmp/invalid.list") invalid requests in turn"
echo
echo "| run | conns | requests | req/s | p50 ms | p99 ms | non-2xx | socket errors | answers by status |"
echo "|---|---|---|---|---|---|---|---|---|"
echo "| valid | $vconns | $vn | $vrps | $vp50 | $vp99 | $vbad | $vse | $vcodes |"
echo "| invalid | $iconns | $in | $irps | $ip50 | $ip99 | $ibad | $ise | $icodes |"
echo
echo "invalid requests, first answers:"
sed 's/^/  /' "$tmp/invalid.first"
echo
echo "worker memory (KiB; RSS / private) every 15 s:"
echo
python3 - "$tmp/mem" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
pids = []
for r in rows:
    for c in r[1:]:
        p = c.split(":")[0]
        if p not in pids:
            pids.append(p)
print("| t s | " + " | ".join("worker %s" % p for p in pids) + " |")
print("|---|" + "---|" * len(pids))
for r in rows:
    cells = {c.split(":")[0]: c.split(":") for c in r[1:]}
    print("| %s | " % r[0] + " | ".join(
        "%s / %s" % (cells[p][1], cells[p][2]) if p in cells else "–" for p in pids) + " |")
warm = [r for r in rows if int(r[0]) >= 30] or rows
a, b = warm[0], rows[-1]
ca = {c.split(":")[0]: c.split(":") for c in a[1:]}
cb = {c.split(":")[0]: c.split(":") for c in b[1:]}
print()
for p in pids:
    if p in ca and p in cb:
        print("worker %s: RSS %+d KiB, private %+d KiB from t=%s s to t=%s s"
              % (p, int(cb[p][1]) - int(ca[p][1]), int(cb[p][2]) - int(ca[p][2]), a[0], b[0]))
EOF
echo
echo "valid non-2xx: $vbad (socket errors $vse)"
status=0
[ "$vbad" = 0 ] && [ "$vse" = 0 ] || status=1
if [ "$(workers)" != "$first_workers" ]; then
	echo "workers replaced during the soak: before $first_workers, after $(workers)"
	status=1
else
	echo "workers: the same $(echo $first_workers | wc -w) processes from start to end"
fi
echo "daemon log: $(grep -c ' error' "$tmp/daemon.log" || true) error lines"
exit $status
