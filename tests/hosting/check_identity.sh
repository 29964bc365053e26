#!/usr/bin/env bash
# daemon_identity: who the daemon runs as and what it leaves on disk, started
# as root the way an init script or an operator would (no -f, a relative -c):
#   - as root with neither user nor allow_root: exit 1, a clear message;
#   - user = nobody, group = nogroup, listen_group = www-data: it detaches,
#     writes pid_file, logs to log_file (opened as root), serves as nobody
#     (master and workers; supplementary groups gone), its socket is
#     nobody:www-data 0660 and lighttpd running as www-data gets /health 200;
#     a second daemon on the same socket path is refused and the first keeps
#     serving; SIGHUP reloads (the relative config path still works after chdir /) and
#     reopens log_file; SIGTERM removes the pid file and the socket;
#   - started as nobody with user = www-data: exit 1, a clear message.
# Needs root (CI runs as root); as another user it fails, it never skips.
set -u
src=${RB_SOURCE_DIR:?run through ctest}
build=${RB_BUILD_DIR:?run through ctest}
daemon=$build/fcgi/rb-aioutliers
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
[ "$(id -u)" = 0 ] || { echo "FAIL: daemon_identity needs root (it switches users)"; exit 1; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$tmp/run/pid" ] && kill "$(cat "$tmp/run/pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/hosting/free-port.sh"
mkdir -m 755 "$tmp/models" "$tmp/log" "$tmp/run" "$tmp/sock"
cp "$src/models/flows.keras" "$src/models/flows.ini" "$tmp/models/"
chmod 644 "$tmp/models/"*
chown nobody "$tmp/run" # pid_file is removed by the daemon after it switched users
chown nobody "$tmp/log" # log_file is reopened on SIGHUP as the daemon's user
chown nobody "$tmp/sock"

# 1. root, no user, no allow_root
cat >"$tmp/root.conf" <<EOC
listen = unix:$tmp/sock/root.sock
models_dir = $tmp/models
trained_models_dir =
EOC
out=$(cd "$tmp" && timeout 10 "$daemon" -f -c root.conf 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "refusing to serve as root: set user" <<<"$out"; then
	pass "as root without user or allow_root: exit 1 ($(sed 's/.*error: //' <<<"$out"))"
else
	fail "as root without user: rc $rc: $out"
fi

# 2. user = nobody
cat >"$tmp/rb.conf" <<EOC
listen = unix:$tmp/sock/rb.sock
listen_mode = 0660
listen_group = www-data
user = nobody
group = nogroup
workers = 2
models_dir = models
trained_models_dir =
log_file = log/daemon.log
pid_file = run/pid
EOC
chmod 644 "$tmp/rb.conf"
(cd "$tmp" && "$daemon" -c rb.conf) >"$tmp/start.out" 2>&1 # detaches
rc=$?
for _ in $(seq 50); do [ -s "$tmp/run/pid" ] && break; sleep 0.1; done
master=$(cat "$tmp/run/pid" 2>/dev/null)
if [ "$rc" = 0 ] && [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
	pass "detached (start exit 0), pid_file names a running master ($master)"
else
	fail "no running master: rc $rc, pid '$master'; $(cat "$tmp/start.out" "$tmp/log/daemon.log" 2>/dev/null)"
	exit 1
fi
uid_of() { awk '/^Uid:/ {print $2 "/" $3}' "/proc/$1/status"; }
groups_of() { awk '/^Groups:/ {$1 = ""; print $0}' "/proc/$1/status" | tr -s ' ' | sed 's/^ //; s/ $//'; }
nobody=$(id -u nobody)
nogroup=$(getent group nogroup | cut -d: -f3)
for _ in $(seq 50); do [ "$(pgrep -P "$master" | wc -l)" -ge 2 ] && break; sleep 0.1; done
workers=$(pgrep -P "$master" | tr '\n' ' ')
ok=1
for p in $master $workers; do
	[ "$(uid_of "$p")" = "$nobody/$nobody" ] && [ "$(groups_of "$p")" = "$nogroup" ] || ok=0
done
if [ "$ok" = 1 ] && [ -n "$workers" ]; then
	pass "master and workers ($workers) run as nobody, groups: nogroup only"
else
	fail "identities: master $(uid_of "$master") [$(groups_of "$master")], workers $workers"
fi
st=$(stat -c '%U:%G %a' "$tmp/sock/rb.sock" 2>/dev/null)
[ "$st" = "nobody:www-data 660" ] && pass "socket is $st" || fail "socket is '$st'"
grep -q "running as uid $nobody gid $nogroup" "$tmp/log/daemon.log" &&
	grep -q "serving 1 models from $tmp/models" "$tmp/log/daemon.log" &&
	pass "log_file has the start-up lines" || fail "log_file: $(cat "$tmp/log/daemon.log")"
web=$(free_port)
mkdir -p "$tmp/www"
cat >"$tmp/lighttpd.conf" <<EOC
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $web
server.username = "www-data"
server.groupname = "www-data"
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "/health" => (( "socket" => "$tmp/sock/rb.sock", "check-local" => "disable" )) )
EOC
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 &
pids+=($!)
code=
for _ in $(seq 50); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$web/health")
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] && pass "lighttpd as www-data -> socket (group www-data): /health 200" ||
	fail "/health -> '$code'"
# a second daemon on the same socket path: refused, the first keeps serving
out=$(cd "$tmp" && timeout 10 "$daemon" -f -c rb.conf 2>&1)
rc=$?
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$web/health")
if [ "$rc" = 1 ] && grep -q "is in use: another process accepts connections" <<<"$out" &&
   [ -S "$tmp/sock/rb.sock" ] && [ "$code" = 200 ]; then
	pass "a second daemon on the same socket: exit 1, the first still answers /health"
else
	fail "second daemon: rc $rc, /health $code: $out"
fi
mv "$tmp/log/daemon.log" "$tmp/log/daemon.log.1" # as logrotate does
kill -HUP "$master"
for _ in $(seq 50); do grep -q "reloaded: generation" "$tmp/log/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q "reloaded: generation" "$tmp/log/daemon.log" 2>/dev/null &&
	pass "SIGHUP: reloaded (the relative -c works after chdir /), log_file reopened" ||
	fail "SIGHUP: $(tail -n 5 "$tmp/log/daemon.log.1" "$tmp/log/daemon.log" 2>&1 | tr "\n" "|")"
kill -TERM "$master"
for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$master" 2>/dev/null && [ ! -e "$tmp/run/pid" ] && [ ! -e "$tmp/sock/rb.sock" ]; then
	pass "SIGTERM: stopped, pid_file and socket removed"
else
	fail "after SIGTERM: $(ls "$tmp/run" "$tmp/sock")"
fi

# 3. started as nobody, user = www-data
sed 's/^user = nobody/user = www-data/; s/^group = nogroup/group =/' "$tmp/rb.conf" >"$tmp/other.conf"
chmod 644 "$tmp/other.conf"
out=$(cd "$tmp" && timeout 10 setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups \
	"$daemon" -f -c other.conf 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "user = www-data: started as uid $nobody" <<<"$out"; then
	pass "as nobody with user = www-data: exit 1 ($(sed 's/.*error: //' <<<"$out"))"
else
	fail "as nobody with user = www-data: rc $rc: $out"
fi

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all identity checks passed"
