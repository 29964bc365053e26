#!/usr/bin/env bash
# check_hosting_files: the shipped hosting files (etc/lighttpd, etc/apache,
# etc/systemd) are valid and work. Their paths (/run/..., /usr/local/sbin/...,
# /etc/rb-aioutliers/...) are substituted to a temporary directory and the
# build tree, then:
#   - lighttpd -tt and apache2 -t accept a server config including each snippet;
#   - systemd-analyze verify accepts the units (not counted when absent);
#   - the daemon started by the ExecStart line of each unit (own socket, and
#     spawn-fcgi) answers GET /health and a detection POST through lighttpd
#     and (own socket) Apache; Apache's TCP variant (port substituted) too;
#     the lighttpd bin-path variant spawns the daemon
#     itself and answers too; a body over the web server's limit gets 413.
# Needs RB_SOURCE_DIR, RB_BUILD_DIR, RB_SHARED_DIR (set by ctest). Exit 0 = all
# checks passed; any failure exits 1 with the reason and the relevant logs.
set -uo pipefail
. "${RB_SOURCE_DIR:?}/tests/hosting/lib.sh"
hosting_init hosting RB_KEEP_SVC
mkdir -p "$tmp/run" "$tmp/www"
chmod 755 "$tmp" "$tmp/run"

showlog() { for f in "$@"; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done; }

# The shipped file with its absolute paths moved into $tmp and the build tree.
subst() {
	sed -e "s#/run/rb-aioutliers/#$tmp/run/#g" \
	    -e "s#/run/lighttpd/#$tmp/run/#g" \
	    -e "s#/usr/sbin/rb-aioutliers#$daemon#g" \
	    -e "s#/etc/rb-aioutliers/rb-aioutliers.conf#$tmp/daemon.conf#g" "$1"
}

mkdir "$tmp/models"
# The project's own model (models/flows.*): nothing of ../shared is needed.
for f in flows.keras flows.ini flows.druid.json; do ln -s "$src/models/$f" "$tmp/models/$f"; done

# $1 = listen value, $2 = listen_mode
files_daemon_conf() {
	cat >"$tmp/daemon.conf" <<EOF
listen = $1
listen_mode = $2
workers = 2
models_dir = $tmp/models
trained_models_dir =
druid_url = http://127.0.0.1:9/druid/v2/
allow_root = yes
log_level = info
EOF
}

# lighttpd.conf on port $2 including snippet $1 (already substituted), with a pid file.
lighttpd_conf() { write_lighttpd_conf "$1" "$2" "server.pid-file = \"$tmp/lighttpd.pid\""; }

# GET /metrics through the web server on port $1 answers 200 with the build info ($2 names it).
check_metrics() {
	local body
	body=$(curl -s -m 10 "http://127.0.0.1:$1/metrics")
	if grep -q '^rb_aioutliers_build_info{version=' <<<"$body"; then
		pass "$2: GET /metrics -> the daemon's metrics"
	else
		fail "$2: GET /metrics did not answer the daemon's metrics: $(head -c 200 <<<"$body")"
	fi
}

# Waits until GET http://127.0.0.1:$1/health answers 200 (20 s at most; gives up
# at once when the last process started, the web server, has exited).
wait_health() {
	for _ in $(seq 200); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health")" = 200 ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_last() {
	local p=${pids[-1]}
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset 'pids[-1]'
}

sample_b64=$(base64 -w0 "$src/etc/samples/traffic-sample.json")
model_b64=$(printf flows | base64 -w0)
# Detection through the web server on port $1 with model flows on the sample.
check_detect() {
	local out code
	out=$(curl -s -w '\n%{http_code}' --data-urlencode "data=$sample_b64" \
	      --data-urlencode "model=$model_b64" "http://127.0.0.1:$1/api/v1/outliers")
	code=${out##*$'\n'}
	if [ "$code" = 200 ] && grep -q '"status": *"success"' <<<"$out" \
	   && grep -q '"model": *"flows"' <<<"$out"; then
		pass "$2: POST /api/v1/outliers model=flows -> 200 success"
	else
		fail "$2: POST /api/v1/outliers -> $code: ${out:0:300}"
	fi
}

# ---- static checks ------------------------------------------------------
for f in rb-aioutliers.conf rb-aioutliers-spawn.conf; do
	subst "$src/etc/lighttpd/$f" >"$tmp/lighttpd-$f"
	lighttpd_conf "$tmp/lighttpd-$f" 8080
	if out=$(lighttpd -tt -f "$tmp/lighttpd.conf" 2>&1); then
		pass "lighttpd -tt accepts etc/lighttpd/$f"
	else
		fail "lighttpd -tt rejects etc/lighttpd/$f: $out"
	fi
done
for f in rb-aioutliers.conf rb-aioutliers-tcp.conf; do
	subst "$src/etc/apache/$f" >"$tmp/apache-$f"
	write_apache_conf "$tmp/apache-$f" 8080 authz_host
	if out=$(/usr/sbin/apache2 -t -f "$tmp/apache.conf" 2>&1); then
		pass "apache2 -t accepts etc/apache/$f"
	else
		fail "apache2 -t rejects etc/apache/$f: $out"
	fi
done
if command -v systemd-analyze >/dev/null; then
	for f in rb-aioutliers.service rb-aioutliers-spawn-fcgi.service rb-aioutliers-train.service \
	         rb-aioutliers-train.timer; do
		mkdir -p "$tmp/units"
		subst "$src/etc/systemd/$f" >"$tmp/units/$f"
		# verify checks syntax, directives and that ExecStart programs exist; an
		# unknown key only prints a warning naming the file: that fails too.
		out=$(systemd-analyze verify --man=no "$tmp/units/$f" 2>&1)
		rc=$?
		bad=$(grep -F "$f" <<<"$out" || true)
		if [ "$rc" = 0 ] && [ -z "$bad" ]; then
			pass "systemd-analyze verify accepts etc/systemd/$f"
		else
			fail "systemd-analyze verify on etc/systemd/$f (rc $rc): $out"
		fi
		# The sandbox: exposure at most 3.0 (of 10; --threshold is in tenths).
		[ "${f%.timer}" = "$f" ] || continue
		level=$(systemd-analyze security --offline=yes "$tmp/units/$f" 2>&1 |
		        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if systemd-analyze security --offline=yes --threshold=30 "$tmp/units/$f" >/dev/null 2>&1
		then
			pass "systemd-analyze security: etc/systemd/$f exposure $level (<= 3.0)"
		else
			fail "systemd-analyze security: etc/systemd/$f exposure '$level', wanted <= 3.0"
		fi
	done
else
	echo "NOT CHECKED: systemd-analyze is not installed; the units were not verified"
fi

# ExecStart= of a unit, paths substituted, as words.
exec_start() { subst "$src/etc/systemd/$1" | sed -n 's/^ExecStart=//p'; }

# ---- own pool: rb-aioutliers.service's ExecStart, lighttpd and Apache ------
web=$(free_port)
# 0666 here only: Apache's children run as www-data and this temp socket is root's.
files_daemon_conf "unix:$tmp/run/rb-aioutliers.sock" 0666
read -r -a cmd <<<"$(exec_start rb-aioutliers.service)"
start_bg daemon.log "${cmd[@]}"
daemon_pid=${pids[-1]}
lighttpd_conf "$tmp/lighttpd-rb-aioutliers.conf" "$web"
start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
if wait_health "$web"; then
	pass "rb-aioutliers.service ExecStart + etc/lighttpd/rb-aioutliers.conf: GET /health -> 200"
	check_detect "$web" "lighttpd -> own socket"
	# One byte over server.max-request-size: lighttpd's own 413.
	head -c $((16384 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$tmp/big"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$tmp/big" \
	       "http://127.0.0.1:$web/api/v1/outliers")
	if [ "$code" = 413 ]; then pass "lighttpd: body over 16 MiB -> 413"
	else fail "lighttpd: body over 16 MiB -> $code, wanted 413"; fi
	rm -f "$tmp/big"
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$web/other")
	if [ "$code" = 404 ]; then pass "lighttpd: /other is not passed on (404)"
	else fail "lighttpd: /other -> $code, wanted 404"; fi
	check_metrics "$web" "lighttpd"
	# The snippet lets only this host scrape: a client from 127.0.0.2 gets lighttpd's 403.
	code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "http://127.0.0.1:$web/metrics")
	if [ "$code" = 403 ]; then pass "lighttpd: /metrics from 127.0.0.2 -> 403"
	else fail "lighttpd: /metrics from 127.0.0.2 -> $code, wanted 403"; fi
else
	fail "own socket via lighttpd: /health never answered 200"
	showlog "$tmp/daemon.log" "$tmp/lighttpd.log" "$tmp/lighttpd.error.log"
fi
stop_last # lighttpd

web=$(free_port)
write_apache_conf "$tmp/apache-rb-aioutliers.conf" "$web" authz_host
start_bg apache.log /usr/sbin/apache2 -f "$tmp/apache.conf" -DFOREGROUND
if wait_health "$web"; then
	pass "etc/apache/rb-aioutliers.conf (unix socket): GET /health -> 200"
	check_detect "$web" "apache -> own socket"
	check_metrics "$web" "apache"
else
	fail "own socket via Apache: /health never answered 200"
	showlog "$tmp/daemon.log" "$tmp/apache.log" "$tmp/apache.error.log"
fi
stop_last # apache
stop_last # daemon
if kill -0 "$daemon_pid" 2>/dev/null; then fail "daemon still running after SIGTERM"; fi

# ---- Apache over TCP: etc/apache/rb-aioutliers-tcp.conf --------------------
web=$(free_port)
fport=$(free_port)
files_daemon_conf "127.0.0.1:$fport" 0660
start_bg daemon-tcp.log "$daemon" -f -c "$tmp/daemon.conf"
sed "s#127.0.0.1:9091#127.0.0.1:$fport#g" "$tmp/apache-rb-aioutliers-tcp.conf" >"$tmp/apache-tcp-port.conf"
write_apache_conf "$tmp/apache-tcp-port.conf" "$web" authz_host
start_bg apache-tcp.log /usr/sbin/apache2 -f "$tmp/apache.conf" -DFOREGROUND
if wait_health "$web"; then
	pass "etc/apache/rb-aioutliers-tcp.conf: GET /health -> 200"
	check_detect "$web" "apache -> TCP"
	check_metrics "$web" "apache -> TCP"
else
	fail "TCP via Apache: /health never answered 200"
	showlog "$tmp/daemon-tcp.log" "$tmp/apache-tcp.log" "$tmp/apache.error.log"
fi
stop_last # apache
stop_last # daemon

# ---- spawn-fcgi: rb-aioutliers-spawn-fcgi.service's ExecStart --------------
web=$(free_port)
rm -f "$tmp/run/rb-aioutliers.sock"
files_daemon_conf "" 0660
read -r -a cmd <<<"$(exec_start rb-aioutliers-spawn-fcgi.service)"
start_bg spawn-fcgi.log "${cmd[@]}"
lighttpd_conf "$tmp/lighttpd-rb-aioutliers.conf" "$web"
start_bg lighttpd.log lighttpd -D -f "$tmp/lighttpd.conf"
if wait_health "$web"; then
	pass "rb-aioutliers-spawn-fcgi.service ExecStart + lighttpd: GET /health -> 200"
	check_detect "$web" "lighttpd -> spawn-fcgi socket"
	workers=$(pgrep -c -P "${pids[-2]}")
	if [ "$workers" = 2 ]; then pass "spawn-fcgi -n: the daemon's master owns 2 workers"
	else fail "spawn-fcgi -n: master has $workers children, wanted 2"; fi
else
	fail "spawn-fcgi socket via lighttpd: /health never answered 200"
	showlog "$tmp/spawn-fcgi.log" "$tmp/lighttpd.log" "$tmp/lighttpd.error.log"
fi
stop_last # lighttpd
stop_last # spawn-fcgi'd daemon

# ---- lighttpd bin-path: lighttpd spawns the daemon -------------------------
web=$(free_port)
files_daemon_conf "" 0660
lighttpd_conf "$tmp/lighttpd-rb-aioutliers-spawn.conf" "$web"
start_bg lighttpd-spawn.log lighttpd -D -f "$tmp/lighttpd.conf"
if wait_health "$web"; then
	pass "etc/lighttpd/rb-aioutliers-spawn.conf (bin-path): GET /health -> 200"
	check_detect "$web" "lighttpd bin-path"
	# max-procs 1: one master (lighttpd's child) with the 2 workers of the config.
	masters=$(pgrep -P "${pids[-1]}" -f "$daemon")
	n_masters=$(wc -w <<<"$masters")
	n_workers=0
	[ "$n_masters" = 1 ] && n_workers=$(pgrep -c -P "$masters")
	if [ "$n_masters" = 1 ] && [ "$n_workers" = 2 ]; then
		pass "bin-path: lighttpd started 1 master, which owns 2 workers"
	else
		fail "bin-path: $n_masters masters, $n_workers workers (wanted 1 and 2)"
	fi
else
	fail "lighttpd bin-path: /health never answered 200"
	showlog "$tmp/lighttpd-spawn.log" "$tmp/lighttpd.error.log"
fi
stop_last

hosting_finish hosting
