#!/usr/bin/env bash
# hosting_stop: SIGTERM loses no request the daemon had accepted (fcgi/worker.c
# "Stop"). Through lighttpd and then Apache, with 2 workers: 8 detection
# requests (model traffic on 7 days of rows, ~0.5 s of one worker each) are
# sent at once, so 2 run and 6 wait in the socket's queue; SIGTERM goes to the
# master 0.3 s later. All 8 must answer 200; the master must exit and remove
# its socket. lighttpd runs with the default stop_accept_ms (1000: it reads
# each body before it connects, so some have not reached the socket at the
# stop); Apache with stop_accept_ms = 0 (it connects at once: the socket goes
# at the signal and the 6 queued connections must be served from the queue). GET /health is sent every 100 ms from the stop on, and what the
# web server answered is printed (the numbers in docs/HOSTING.md "Stop").
set -u
export PATH="$PATH:/usr/sbin:/sbin"
src=${RB_SOURCE_DIR:?run through ctest}
bld=${RB_BUILD_DIR:?run through ctest}
. "$src/tests/hosting/need-shared.sh"
need_shared upstream/traffic.keras upstream/traffic.ini
shared=$RB_SHARED_DIR
daemon="$bld/fcgi/rb-aioutliers"
tmp=$(mktemp -d /tmp/rb-stop-XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/run" "$tmp/www" "$tmp/models"
chmod 755 "$tmp/run"
pids=()
failures=0
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${RB_KEEP_SVC:-}" ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
. "$src/tests/hosting/free-port.sh"
ln -s "$shared/upstream/traffic.keras" "$tmp/models/traffic.keras"
ln -s "$shared/upstream/traffic.ini" "$tmp/models/traffic.ini"
sock=$tmp/run/rb-aioutliers.sock
cat >"$tmp/daemon.conf" <<EOC
listen = unix:$sock
listen_mode = 0666
workers = 2
models_dir = $tmp/models
trained_models_dir =
druid_url = http://127.0.0.1:9/druid/v2/
allow_root = yes
EOC
# 3 days of one-minute rows: the sample's 90 rows repeated with new timestamps.
python3 - "$src/etc/samples/traffic-sample.json" "$tmp/body.form" <<'EOP'
import base64, copy, datetime, json, sys, urllib.parse
rows = json.load(open(sys.argv[1]))
t0 = datetime.datetime(2024, 3, 1)
out = []
for i in range(7 * 1440):
    r = copy.deepcopy(rows[i % len(rows)])
    r["timestamp"] = (t0 + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:00.000Z")
    out.append(r)
data = base64.b64encode(json.dumps(out).encode()).decode()
model = base64.b64encode(b"traffic").decode()
open(sys.argv[2], "w").write(urllib.parse.urlencode({"data": data, "model": model}))
EOP

# $1 = stop_accept_ms
start_daemon() {
	sed -i '/^stop_accept_ms/d' "$tmp/daemon.conf"
	echo "stop_accept_ms = $1" >>"$tmp/daemon.conf"
	"$daemon" -f -c "$tmp/daemon.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
	master=$!
	pids+=($master)
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
}
code_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

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
	sleep 0.3
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
cat >"$tmp/lighttpd.conf" <<EOC
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $lweb
server.errorlog = "$tmp/lighttpd.error.log"
server.max-request-size = 16384
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "/" => (( "socket" => "$sock", "check-local" => "disable" )) )
EOC
start_daemon 1000
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
pids+=($!)
stop_under_load lighttpd "$lweb"

web=$(free_port)
mods=/usr/lib/apache2/modules
sed -e "s#/run/rb-aioutliers/#$tmp/run/#g" "$src/etc/apache/rb-aioutliers.conf" >"$tmp/apache-rb.conf"
cat >"$tmp/apache.conf" <<EOC
ServerRoot "$tmp"
ServerName 127.0.0.1
Listen 127.0.0.1:$web
PidFile $tmp/apache.pid
DefaultRuntimeDir $tmp
Mutex file:$tmp default
ErrorLog $tmp/apache.error.log
LogLevel warn
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
User www-data
Group www-data
DocumentRoot $tmp/www
Include $tmp/apache-rb.conf
EOC
start_daemon 0
/usr/sbin/apache2 -X -f "$tmp/apache.conf" >"$tmp/apache.log" 2>&1 </dev/null &
pids+=($!)
stop_under_load Apache "$web"

if [ "$failures" != 0 ]; then
	echo "--- daemon log"; grep -v "GET /health" "$tmp/daemon.log" | tail -n 30
	echo "$failures check(s) failed"
	exit 1
fi
echo "all stop checks passed"
