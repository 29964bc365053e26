# tests/hosting/lib.sh: the set-up the hosting test scripts (tests/hosting/check_*.sh,
# tests/s3/check_s3_sync.sh) and bench/soak.sh share, sourced after the script's own `set`.
# It defines functions and, in hosting_init, the globals they use; it asserts nothing itself
# and starts nothing unless asked. Globals after hosting_init: src, bld, daemon, emulator,
# peer, tmp, pids, failures; after start_emulator: emu_pid, druid (host:port), druid_port.
# Also brings free_port (free-port.sh) and need_shared (need-shared.sh).

# hosting_init NAME [KEEPVAR]: PATH gets /usr/sbin and /sbin; src and bld from RB_SOURCE_DIR
# and RB_BUILD_DIR (the script ends when either is unset); tmp is a new /tmp/rb-NAME-XXXXXX;
# an EXIT trap runs hosting_cleanup. KEEPVAR (default RB_KEEP) names the variable that, when
# non-empty at exit, keeps tmp (its value is read at exit: a script may set it on failure).
hosting_init() {
	export PATH="$PATH:/usr/sbin:/sbin"
	src=${RB_SOURCE_DIR:?run through ctest}
	bld=${RB_BUILD_DIR:?run through ctest}
	daemon=$bld/fcgi/rb-aioutliers
	emulator=$bld/tests/emulator/rb-druid-emulator
	peer=$src/tests/hosting/fcgi_peer.py
	hosting_keep=${2:-RB_KEEP}
	tmp=$(mktemp -d "/tmp/rb-$1-XXXXXX")
	pids=()
	emu_pid=
	failures=0
	trap hosting_cleanup EXIT
	. "$src/tests/hosting/free-port.sh"
	. "$src/tests/hosting/need-shared.sh"
}

# hosting_cleanup: (the EXIT trap) SIGTERM to every pid in pids and emu_pid, up to 10 s for
# each to go, then SIGKILL and reap; removes tmp unless the keep variable is set.
hosting_cleanup() {
	local p
	set +e
	for p in "${pids[@]}" $emu_pid; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}" $emu_pid; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${!hosting_keep:-}" ]; then echo "logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
	return 0
}

# fail MSG / pass MSG: one "FAIL: MSG" (counted in failures) or "ok: MSG" line.
# die MSG: "FAIL: MSG" and exit 1 at once.
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
die() { echo "FAIL: $*"; exit 1; }

# hosting_finish WHAT [LOG...]: the end of a script. With failures: the last 30 lines of each
# LOG that exists, "N check(s) failed", exit 1; else "all WHAT checks passed", exit 0.
hosting_finish() {
	local what=$1 f
	shift
	if [ "$failures" != 0 ]; then
		for f in "$@"; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "all $what checks passed"
	exit 0
}

# start_bg [-a] LOG CMD...: runs CMD in the background, stdin /dev/null, stdout and stderr
# to $tmp/LOG (appended with -a, else truncated); its pid goes to pids and to bg_pid. An
# environment for CMD goes through env: start_bg x.log env OMP_NUM_THREADS=1 "$daemon" ...
start_bg() {
	local append=
	[ "$1" = -a ] && { append=1; shift; }
	local log=$tmp/$1
	shift
	if [ -n "$append" ]; then "$@" >>"$log" 2>&1 </dev/null & else "$@" >"$log" 2>&1 </dev/null & fi
	bg_pid=$!
	pids+=("$bg_pid")
}

# wait_health_fcgi SOCK [TRIES]: polls GET /health over raw FastCGI on unix socket SOCK
# (fcgi_peer.py) every 0.1 s, TRIES times at most (default 100); 0 once it answers 200.
wait_health_fcgi() {
	for _ in $(seq "${2:-100}"); do
		[ "$(python3 "$peer" get "$1" /health 2>/dev/null | cut -d' ' -f1)" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_health_http PORT [TRIES]: polls http://127.0.0.1:PORT/health with curl every 0.1 s,
# TRIES times at most (default 100); 0 once it answers 200.
wait_health_http() {
	for _ in $(seq "${2:-100}"); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health")" = 200 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# write_daemon_conf FILE SOCK DRUID [LINE...]: a daemon config listening on unix socket SOCK,
# druid_url http://DRUID/druid/v2/ (DRUID host:port), allow_root = yes when run as root,
# then each LINE as given ("key = value", none of those keys: the daemon refuses a key twice).
write_daemon_conf() {
	local file=$1 sock=$2 druid_at=$3 line
	shift 3
	{
		echo "listen = unix:$sock"
		echo "druid_url = http://$druid_at/druid/v2/"
		[ "$(id -u)" = 0 ] && echo "allow_root = yes"
		for line in "$@"; do echo "$line"; done
	} >"$file"
}

# start_emulator [OPTION...]: starts the Druid emulator (rb-druid-emulator) with OPTIONs on
# 127.0.0.1, port druid_port when set (so a restart keeps the port), else one of the
# kernel's; log $tmp/emulator.log. Sets emu_pid, druid (host:port) and druid_port; dies
# when it does not say where it listens within 10 s. stop_emulator: SIGTERM and reap.
start_emulator() {
	: >"$tmp/emulator.log"
	"$emulator" --listen "127.0.0.1:${druid_port:-0}" "$@" >"$tmp/emulator.log" 2>&1 </dev/null &
	emu_pid=$!
	druid=
	for _ in $(seq 100); do
		druid=$(sed -n 's/^listening //p' "$tmp/emulator.log")
		[ -n "$druid" ] && break
		sleep 0.1
	done
	[ -n "$druid" ] || die "the emulator did not start: $(cat "$tmp/emulator.log")"
	druid_port=${druid##*:}
}
stop_emulator() {
	kill -TERM "$emu_pid" 2>/dev/null
	wait "$emu_pid" 2>/dev/null
	emu_pid=
}

# snippet_for apache|lighttpd SOCK: prints the shipped snippet (etc/NAME/rb-aioutliers.conf)
# with its socket path /run/rb-aioutliers/rb-aioutliers.sock replaced by SOCK.
snippet_for() {
	sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$2#g" "$src/etc/$1/rb-aioutliers.conf"
}

# write_apache_conf SNIPPET PORT [MODULE...]: $tmp/apache.conf, a minimal Apache (event MPM,
# authz_core, proxy, proxy_fcgi and each MODULE, e.g. alias for mod_alias) listening on
# 127.0.0.1:PORT, run as www-data, ServerRoot, pid, mutex and error log (apache.error.log)
# in tmp, document root $tmp/www, including the file SNIPPET. Makes tmp world-readable
# (www-data reaches sockets below it).
write_apache_conf() {
	local snippet=$1 port=$2 mods=/usr/lib/apache2/modules m
	shift 2
	chmod 755 "$tmp"
	{
		cat <<EOF
ServerRoot "$tmp"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $tmp/apache.pid
DefaultRuntimeDir $tmp
Mutex file:$tmp default
ErrorLog $tmp/apache.error.log
LogLevel warn
EOF
		for m in mpm_event authz_core proxy proxy_fcgi "$@"; do
			echo "LoadModule ${m}_module $mods/mod_$m.so"
		done
		cat <<EOF
User www-data
Group www-data
DocumentRoot $tmp/www
Include $snippet
EOF
	} >"$tmp/apache.conf"
}

# write_lighttpd_conf SNIPPET PORT [LINE...]: $tmp/lighttpd.conf, a minimal lighttpd on
# 127.0.0.1:PORT, document root $tmp/www, error log $tmp/lighttpd.error.log, then each LINE
# as given, then an include of the file SNIPPET (none when SNIPPET is "").
write_lighttpd_conf() {
	local snippet=$1 port=$2 line
	shift 2
	{
		cat <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
EOF
		for line in "$@"; do echo "$line"; done
		[ -z "$snippet" ] || echo "include \"$snippet\""
	} >"$tmp/lighttpd.conf"
}

# lighttpd_fcgi_lines SOCK: prints the two lighttpd config lines that send every path to the
# daemon's socket SOCK without the shipped snippet (for write_lighttpd_conf's LINEs).
lighttpd_fcgi_lines() {
	echo 'server.modules += ( "mod_fastcgi" )'
	echo "fastcgi.server = ( \"/\" => (( \"socket\" => \"$1\", \"check-local\" => \"disable\" )) )"
}

# start_lighttpd SOCK: lighttpd on a free port of 127.0.0.1 in front of the daemon's socket
# SOCK through the shipped snippet ($tmp/lighttpd-rb.conf; config $tmp/lighttpd.conf, output
# $tmp/lighttpd.log); sets port and url (http://127.0.0.1:PORT). Does not wait for it: the
# caller runs wait_health_http "$port" and says what a failure means.
start_lighttpd() {
	snippet_for lighttpd "$1" >"$tmp/lighttpd-rb.conf"
	port=$(free_port)
	write_lighttpd_conf "$tmp/lighttpd-rb.conf" "$port"
	start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
	url=http://127.0.0.1:$port
}

# traffic_daemon_conf [LINE...]: the set-up of the raw-FastCGI scripts (bodies, deadlines,
# stop): needs the upstream traffic model (need_shared) and links it into $tmp/models;
# $tmp/www; $tmp/run for the socket, sock=$tmp/run/rb-aioutliers.sock, tmp and run
# world-reachable (Apache's www-data); $tmp/daemon.conf: mode 0666, 2 workers, models_dir
# $tmp/models, no trained models, no Druid (127.0.0.1:9), then each LINE.
traffic_daemon_conf() {
	need_shared upstream/traffic.keras upstream/traffic.ini
	mkdir -p "$tmp/run" "$tmp/www" "$tmp/models"
	chmod 755 "$tmp" "$tmp/run"
	ln -s "$RB_SHARED_DIR/upstream/traffic.keras" "$tmp/models/traffic.keras"
	ln -s "$RB_SHARED_DIR/upstream/traffic.ini" "$tmp/models/traffic.ini"
	sock=$tmp/run/rb-aioutliers.sock
	write_daemon_conf "$tmp/daemon.conf" "$sock" 127.0.0.1:9 "listen_mode = 0666" \
		"workers = 2" "models_dir = $tmp/models" "trained_models_dir =" "$@"
}

# write_week_form FILE: a detection request body (form-encoded: data, model traffic, both
# base64) of 7 days of one-minute rows, etc/samples/traffic-sample.json's rows repeated with
# new timestamps from 2024-03-01 (about 0.5 s of one worker; a ~0.75 MB answer).
write_week_form() {
	python3 - "$src/etc/samples/traffic-sample.json" "$1" <<'EOP'
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
}

# field NAME FILE: prints the form field NAME=<FILE's bytes in base64, percent-encoded>.
field() { printf '%s=' "$1"; base64 -w0 "$2" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g'; }

# write_hour_rows FILE: 60 one-minute rows of inline data (2023-09-21 09:00-09:59, bytes
# 1000..1028), a JSON array for the data field.
write_hour_rows() {
	python3 - >"$1" <<'EOP'
import json
rows = [{"timestamp": "2023-09-21T09:%02d:00.000Z" % m, "result": {"bytes": 1000 + 7 * (m % 5)}}
        for m in range(60)]
print(json.dumps(rows))
EOP
}
