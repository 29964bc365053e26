#!/usr/bin/env bash
# packaging/test-deb.sh DEB: installs the package on this machine, runs the
# installed daemon as the packaged system user behind lighttpd (as www-data)
# with the packaged snippet on a loopback port, asks it the seed README's
# query through the Druid emulator, then purges the package and checks what
# is left. Changes the system: needs root, and refuses to run when
# rb-aioutliers is already installed. Without systemd as PID 1 (a container,
# CI) it does what the unit would: /run/rb-aioutliers for the socket, the
# daemon as User=/Group=rb-aioutliers with the unit's command line.
#   bash packaging/test-deb.sh build-deb/rb-aioutliers_0.1.0-1_amd64.deb
# Environment: RB_BUILD_DIR (a build of this tree holding the emulator,
# default build/; built if missing), RB_SHARED_DIR (default ../shared: the
# old service's traffic model, copied into /var/lib/rb-aioutliers/models).
set -uo pipefail
deb=$(realpath "${1:?usage: test-deb.sh DEB}")
src=$(cd "$(dirname "$0")/.." && pwd)
build=${RB_BUILD_DIR:-$src/build}
shared=$(realpath "${RB_SHARED_DIR:-$src/../shared}")
[ "$(id -u)" = 0 ] || { echo "test-deb.sh: needs root (it installs the package)" >&2; exit 2; }
status=$(dpkg-query -W -f='${db:Status-Status}' rb-aioutliers 2>/dev/null || true)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
	echo "test-deb.sh: rb-aioutliers is on this machine ($status); purge it first" >&2
	exit 2
fi
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
installed=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp" /run/rb-aioutliers
	# interrupted between install and purge: leave the machine as it was
	[ "$installed" = 1 ] && dpkg --purge rb-aioutliers >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM PIPE HUP
. "$src/tests/hosting/free-port.sh"

cmake --build "$build" --target rb-druid-emulator >/dev/null || exit 1

# ---- install ---------------------------------------------------------------
installed=1
if out=$(dpkg -i "$deb" 2>&1); then pass "dpkg -i $(basename "$deb")"
else echo "$out"; fail "dpkg -i failed"; exit 1; fi
uid=$(getent passwd rb-aioutliers | cut -d: -f3)
shell=$(getent passwd rb-aioutliers | cut -d: -f7)
if [ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$uid" != 0 ]; then
	pass "system user rb-aioutliers (uid $uid, shell $shell)"
else
	fail "no system user rb-aioutliers (uid '${uid}')"
fi
st=$(stat -c '%U:%G %a' /var/lib/rb-aioutliers/models 2>/dev/null)
[ "$st" = "rb-aioutliers:rb-aioutliers 750" ] && pass "/var/lib/rb-aioutliers/models is $st" ||
	fail "/var/lib/rb-aioutliers/models is '$st'"
id -nG www-data | tr ' ' '\n' | grep -qx rb-aioutliers &&
	pass "www-data is in group rb-aioutliers (may use the socket)" ||
	fail "www-data is not in group rb-aioutliers"
dpkg-query -W -f='${Conffiles}\n' rb-aioutliers | grep -q ' /etc/rb-aioutliers/rb-aioutliers.conf ' &&
	pass "/etc/rb-aioutliers/rb-aioutliers.conf is a conffile (kept on upgrade)" ||
	fail "/etc/rb-aioutliers/rb-aioutliers.conf is not a conffile"
# A model put into the writable models directory is served (the old service's files as they are).
for f in traffic.keras traffic.ini; do
	install -o rb-aioutliers -g rb-aioutliers -m 0640 "$shared/upstream/$f" /var/lib/rb-aioutliers/models/
done
install -o rb-aioutliers -g rb-aioutliers -m 0640 /usr/share/rb-aioutliers/models/traffic.druid.json \
	/var/lib/rb-aioutliers/models/
if /usr/sbin/rb-aioutliers -t >"$tmp/t.out" 2>&1 &&
   grep -q '^# model traffic from /var/lib/rb-aioutliers/models$' "$tmp/t.out"; then
	pass "rb-aioutliers -t accepts the installed configuration and finds the copied model"
else
	fail "rb-aioutliers -t:"; cat "$tmp/t.out"
fi

# ---- serve -----------------------------------------------------------------
"$build/tests/emulator/rb-druid-emulator" --listen 127.0.0.1:0 >"$tmp/emulator.log" 2>&1 </dev/null &
pids+=($!)
druid=
for _ in $(seq 100); do
	druid=$(sed -n 's/^listening //p' "$tmp/emulator.log")
	[ -n "$druid" ] && break
	sleep 0.1
done
[ -n "$druid" ] || { cat "$tmp/emulator.log"; fail "the emulator did not start"; exit 1; }
# The installed configuration, with the emulator as the broker (the one change).
install -d -o rb-aioutliers -g rb-aioutliers -m 0750 /run/rb-aioutliers
sed "s#^druid_url = .*#druid_url = http://$druid/druid/v2/#" /etc/rb-aioutliers/rb-aioutliers.conf \
	>"$tmp/rb-aioutliers.conf"
chmod 644 "$tmp/rb-aioutliers.conf"
# The unit's ExecStart, as the unit's user and group.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/rb-aioutliers.service)
read -r -a cmd <<<"${exec_start//\/etc\/rb-aioutliers\/rb-aioutliers.conf/$tmp/rb-aioutliers.conf}"
setpriv --reuid="$(id -u rb-aioutliers)" --regid="$(id -g rb-aioutliers)" --init-groups env OMP_NUM_THREADS=1 \
	"${cmd[@]}" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)
web=$(free_port)
mkdir -p "$tmp/www"
cat >"$tmp/lighttpd.conf" <<EOC
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $web
server.username = "www-data"
server.groupname = "www-data"
server.errorlog = "$tmp/lighttpd.error.log"
include "/usr/share/rb-aioutliers/lighttpd/rb-aioutliers.conf"
EOC
touch "$tmp/lighttpd.error.log"
chown www-data "$tmp/lighttpd.error.log"
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 &
pids+=($!)
code=
for _ in $(seq 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$web/health")
	[ "$code" = 200 ] && break
	sleep 0.1
done
if [ "$code" = 200 ]; then
	pass "lighttpd (www-data) -> /run/rb-aioutliers socket -> daemon (rb-aioutliers): /health 200"
else
	fail "/health -> '$code'"
	tail -n 20 "$tmp/daemon.log" "$tmp/lighttpd.error.log"
fi
owner=$(ps -o user= -p "$(pgrep -f -n "^/usr/sbin/rb-aioutliers -f")" 2>/dev/null | tr -d ' ')
[ "$owner" = rb-aioutliers ] && pass "the daemon runs as $owner" || fail "the daemon runs as '$owner'"
q=$(base64 -w0 "$src/tests/data/druid/seed_readme_pt1m.query.json")
code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --data-urlencode "query=$q" \
	"http://127.0.0.1:$web/api/v1/outliers")
if [ "$code" = 200 ] && grep -q '"status": *"success"' "$tmp/answer.json" &&
   grep -q '"history_rows": *10080' "$tmp/answer.json"; then
	pass "the seed README's query: 200 success, 60 rows with a week of history"
else
	fail "the seed README's query -> $code: $(head -c 300 "$tmp/answer.json")"
fi
code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --data-urlencode "query=$q" \
	--data-urlencode "model=$(printf traffic | base64)" "http://127.0.0.1:$web/api/v1/outliers")
if [ "$code" = 200 ] && grep -q '"model": *"traffic"' "$tmp/answer.json"; then
	pass "the same query with model=traffic (from /var/lib/rb-aioutliers/models): 200"
else
	fail "model=traffic -> $code: $(head -c 300 "$tmp/answer.json")"
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
pids=()

# ---- purge -----------------------------------------------------------------
installed=0
if out=$(dpkg --purge rb-aioutliers 2>&1); then pass "dpkg --purge rb-aioutliers"
else echo "$out"; fail "dpkg --purge failed"; fi
left=$(for p in /usr/sbin/rb-aioutliers /usr/bin/rb-aioutliers-detect /etc/rb-aioutliers \
	/usr/share/rb-aioutliers /var/lib/rb-aioutliers /usr/share/doc/rb-aioutliers \
	/lib/systemd/system/rb-aioutliers.service /usr/lib/sysusers.d/rb-aioutliers.conf \
	/usr/lib/tmpfiles.d/rb-aioutliers.conf /usr/share/man/man8/rb-aioutliers.8.gz; do
	[ -e "$p" ] && echo "$p"; done)
[ -z "$left" ] && pass "purge left no file or directory of the package" || fail "left after purge: $left"
getent passwd rb-aioutliers >/dev/null &&
	echo "note: the system user rb-aioutliers stays after purge (as Debian does for system users)"

if [ "$failures" -gt 0 ]; then
	echo "test-deb.sh: $failures check(s) failed"
	exit 1
fi
echo "test-deb.sh: all checks passed"
