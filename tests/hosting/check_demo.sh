#!/usr/bin/env bash
# check_demo: etc/demo.sh brings the whole stack up and answers the two example
# requests (RB_DEMO_ONCE=1, on a free port so that a busy 39091 does not
# matter), exits 0, leaves no process or temporary directory behind; and with
# its port already taken it fails at once with a clear message instead of
# hanging. Needs RB_SOURCE_DIR and RB_BUILD_DIR (set by ctest); nothing of ../shared.
set -uo pipefail
src=${RB_SOURCE_DIR:?}
bld=${RB_BUILD_DIR:?}
# The demo needs nothing from ../shared: its model is the project's own, models/flows.*.
export RB_BUILD_DIR=$bld
tmp=$(mktemp -d /tmp/rb-check-demo-XXXXXX)
holder=
cleanup() {
	[ -n "$holder" ] && kill -TERM "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/hosting/free-port.sh"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# A port that something listens on (the emulator, port 0 = any free port).
"$bld/tests/emulator/rb-druid-emulator" --listen 127.0.0.1:0 >"$tmp/holder.log" 2>&1 &
holder=$!
busy=
for _ in $(seq 100); do
	busy=$(sed -n 's/^listening 127.0.0.1://p' "$tmp/holder.log")
	[ -n "$busy" ] && break
	sleep 0.1
done
[ -n "$busy" ] || { echo "FAIL: could not start a listener"; exit 1; }

# 1. Busy port: exit 1 within seconds, naming the port.
start=$SECONDS
RB_DEMO_ONCE=1 RB_DEMO_PORT=$busy timeout 60 bash "$src/etc/demo.sh" >"$tmp/busy.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q "port $busy .*already in use" "$tmp/busy.out" && [ $((SECONDS - start)) -lt 10 ]; then
	pass "busy port $busy: exit 1 with a clear message in $((SECONDS - start)) s"
else
	fail "busy port: rc $rc after $((SECONDS - start)) s:"; cat "$tmp/busy.out"
fi

# 2. The demo end to end on a free port.
port=$(free_port)
before=$(ls -d /tmp/rb-demo-* 2>/dev/null | sort)
RB_DEMO_ONCE=1 RB_DEMO_PORT=$port timeout 240 bash "$src/etc/demo.sh" >"$tmp/demo.out" 2>&1
rc=$?
after=$(ls -d /tmp/rb-demo-* 2>/dev/null | sort)
n_success=$(grep -c '"status": *"success"' "$tmp/demo.out")
n_200=$(grep -c '^HTTP 200$' "$tmp/demo.out")
if [ "$rc" = 0 ] && [ "$n_success" = 3 ] && [ "$n_200" = 3 ] &&
   grep -q '"model": *"default"' "$tmp/demo.out" && grep -q '"model": *"flows"' "$tmp/demo.out"; then
	pass "demo: exit 0, three 200 success answers (model default and flows, explain)"
else
	fail "demo: rc $rc, $n_200 x HTTP 200, $n_success x success; its output:"; cat "$tmp/demo.out"
fi
if grep -q '^== history: history_rows=10080 ' "$tmp/demo.out" &&
   grep -q '^== A1 (emulator burst 09:31-09:34): flagged rows 09:3[1-3]' "$tmp/demo.out"; then
	pass "demo: the default-detector request used a week of history and flagged the burst A1"
else
	fail "demo: no history_rows=10080 line, or A1 not flagged:"
	grep '^== \(history\|A1\)' "$tmp/demo.out"
fi
if grep -q '^== A1 explained: largest contribution from 10\.0\.1\.11$' "$tmp/demo.out" &&
   grep -q '^rb_aioutliers_requests_total{route="outliers",code="200"} 2$' "$tmp/demo.out"; then
	pass "demo: A1 explained by 10.0.1.11; /metrics counted the two detection requests"
else
	fail "demo: A1 not explained by 10.0.1.11, or /metrics did not count 2 outliers 200s:"
	grep '^== A1 explained\|^rb_aioutliers_requests_total' "$tmp/demo.out"
fi
# Only a directory that appeared counts: one that went away belongs to another run of the
# demo on this machine (a concurrent test run), not to this one.
left=$(comm -13 <(echo "$before") <(echo "$after"))
if [ -z "$left" ]; then pass "demo: its temporary directory is gone"
else fail "demo left a temporary directory: $left"; fi
sleep 0.5
if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then fail "demo: port $port still answers after exit"
else pass "demo: nothing listens on $port after exit"; fi
left=$(pgrep -f "rb-demo-" || true)
if [ -z "$left" ]; then pass "demo: no process of it left"
else fail "demo: processes left: $(ps -o pid,args -p "$(tr '\n' ',' <<<"$left" | sed 's/,$//')")"; fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all demo checks passed"
