#!/usr/bin/env bash
# bench/idle_conns.sh: idle (half-open) client connections against lighttpd or
# Apache configured from a shipped snippet (default etc/lighttpd/rb-aioutliers.conf,
# or etc/apache/rb-aioutliers.conf), with a 3-worker daemon behind it:
# bench/idle_conns.py in mode idle (connect, send nothing) and partial (send a
# request line, then nothing), each against a fresh web server. Apache runs
# mpm_event with Debian's mpm_event.conf and reqtimeout.conf, then the snippet,
# as a Debian install would. Prints the tool's lines per mode. A measurement, not
# a test. Run as root (Apache switches to www-data).
#   bash bench/idle_conns.sh                       (after building into build/)
#   RB_IDLE_SERVER=apache bash bench/idle_conns.sh
#   git show REV:etc/lighttpd/rb-aioutliers.conf >/tmp/old.conf
#   RB_IDLE_SNIPPET=/tmp/old.conf bash bench/idle_conns.sh      (an older snippet)
# Environment: RB_BUILD_DIR (default build), RB_IDLE_SERVER (lighttpd or apache),
# RB_IDLE_SNIPPET, RB_IDLE_MAX (default 8000 connections), RB_IDLE_STEP (default
# 100), RB_IDLE_HOLD (default 90 s), RB_IDLE_MODES (default "idle partial").
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
build=$(realpath -m "${RB_BUILD_DIR:-build}")
server=${RB_IDLE_SERVER:-lighttpd}
case $server in
lighttpd) snippet=$(realpath "${RB_IDLE_SNIPPET:-etc/lighttpd/rb-aioutliers.conf}") ;;
apache) snippet=$(realpath "${RB_IDLE_SNIPPET:-etc/apache/rb-aioutliers.conf}") ;;
*) echo "bench/idle_conns.sh: RB_IDLE_SERVER is lighttpd or apache" >&2; exit 1 ;;
esac
me=bench/idle_conns.sh
die() { echo "$me: $*" >&2; exit 1; }
command -v lighttpd >/dev/null || die "lighttpd is not installed"
daemon=$build/fcgi/rb-aioutliers
[ -x "$daemon" ] || die "$daemon not built"
tmp=$(mktemp -d /tmp/rb-bench-idle-XXXXXX)
chmod 755 "$tmp"
lpid= dpid=
stop() { if [ -n "$1" ]; then kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; fi; }
cleanup() { stop "$lpid"; stop "$dpid"; rm -rf "$tmp"; }
trap cleanup EXIT
. tests/hosting/free-port.sh
mkdir "$tmp/models" "$tmp/www"
cat >"$tmp/rb.conf" <<EOC
listen = unix:$tmp/svc.sock
listen_mode = 0666
models_dir = $tmp/models
trained_models_dir =
log_level = warn
allow_root = yes
EOC
"$daemon" -f -c "$tmp/rb.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
dpid=$!
sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$tmp/svc.sock#" "$snippet" >"$tmp/snippet.conf"
echo "snippet: $snippet"
grep -E '^\s*(server\.(max-connections|max-fds|max-read-idle|max-write-idle|max-keep-alive-idle)|RequestReadTimeout|Timeout|MaxRequestWorkers)' \
	"$snippet" | sed 's/^ */  /' || echo "  (no connection limits: the web server's defaults)"
for mode in ${RB_IDLE_MODES:-idle partial}; do
	port=$(free_port)
	if [ "$server" = lighttpd ]; then
		cat >"$tmp/lighttpd.conf" <<EOC
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
include "$tmp/snippet.conf"
EOC
		lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
	else
		mods=/usr/lib/apache2/modules
		cat >"$tmp/apache.conf" <<EOC
ServerRoot "$tmp"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $tmp/apache.pid
DefaultRuntimeDir $tmp
Mutex file:$tmp default
ErrorLog $tmp/apache.error.log
LogLevel warn
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
LoadModule reqtimeout_module $mods/mod_reqtimeout.so
Include /etc/apache2/mods-available/mpm_event.conf
Include /etc/apache2/mods-available/reqtimeout.conf
Timeout 300
User www-data
Group www-data
DocumentRoot $tmp/www
Include $tmp/snippet.conf
EOC
		/usr/sbin/apache2 -D FOREGROUND -f "$tmp/apache.conf" >"$tmp/apache.log" 2>&1 </dev/null &
	fi
	lpid=$!
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && break
		sleep 0.1
	done
	python3 bench/idle_conns.py 127.0.0.1 "$port" --mode "$mode" --max "${RB_IDLE_MAX:-8000}" \
		--step "${RB_IDLE_STEP:-100}" --hold "${RB_IDLE_HOLD:-90}" | sed 's/^/  /'
	stop "$lpid"
	lpid=
done
