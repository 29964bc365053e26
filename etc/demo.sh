#!/usr/bin/env bash
# The first thing to run after etc/setup.sh: the whole service on 127.0.0.1.
# Builds into build/ (configuring it if needed), then starts
#   - rb-druid-emulator (a stand-in for the Druid broker, test fixture) on
#     127.0.0.1:8082 (Druid's broker port) or, if busy, a free port;
#   - rb-aioutliers with a generated configuration (2 workers, Unix socket and
#     models directory in a temporary directory);
#   - lighttpd on 127.0.0.1:39091 (the old service's port), configured from
#     etc/lighttpd/rb-aioutliers.conf;
# posts the seed README's example query (rb_flow, FlowSensor, PT1M, 09:00-10:00Z
# on 2023-09-21, longSum bytes) once with the default detector (with the
# configured history, P7D: the service fetches the week before the hour in the
# same Druid call; it prints history_rows and what it flags of the emulator's
# injected burst A1, 09:31-09:34) and once with model=flows (the project's own
# model, models/flows.*, trained on the emulator's September: models/train-flows.sh),
# prints the answers and a curl line to query it by hand, and
# serves until Ctrl-C or SIGTERM; then stops what it started and removes its
# temporary files. Not a deployment: see docs/HOSTING.md for that.
#   bash etc/demo.sh
# Environment:
#   RB_DEMO_PORT=N   lighttpd's port (default 39091)
#   RB_DEMO_ONCE=1   exit after the example requests instead of serving
#   RB_BUILD_DIR     the build tree to use (default build/)
# Exit status: 0 when both example requests answered 200 "success" (and, when
# serving, on Ctrl-C); 1 otherwise, with the reason and the relevant log.
# The offline variant (no web server) is etc/demo-offline.sh.
set -euo pipefail
# lighttpd lives in /usr/sbin, which is not in a normal user's PATH on Debian.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
repo=$PWD
port=${RB_DEMO_PORT:-39091}
me=etc/demo.sh

die() { echo "$me: $*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

[[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
	die "RB_DEMO_PORT must be a port number, not '$port'"
[ -f models/flows.keras ] && [ -f models/flows.ini ] && [ -f models/flows.druid.json ] ||
	die "models/flows.keras, flows.ini or flows.druid.json not found (bash models/train-flows.sh)"
for tool in cmake lighttpd curl base64; do
	command -v "$tool" >/dev/null || die "$tool is not installed (run: sudo bash etc/setup.sh)"
done
if port_busy "$port"; then
	die "port $port on 127.0.0.1 is already in use (another demo or the old service?);" \
	    "stop it or choose another port: RB_DEMO_PORT=39092 bash $me"
fi

build=$(realpath -m "${RB_BUILD_DIR:-build}")
echo "== building ($build)"
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target rb-aioutliers rb-druid-emulator >/dev/null
daemon=$build/fcgi/rb-aioutliers
emulator=$build/tests/emulator/rb-druid-emulator

tmp=$(mktemp -d /tmp/rb-demo-XXXXXX)
pids=()
stopping=0
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'stopping=1; echo; echo "== stopping"; exit 0' INT TERM

showlog() {
	local f
	for f in "$@"; do
		[ -s "$f" ] && { echo "--- ${f##*/}:" >&2; tail -n 20 "$f" >&2; }
	done
	return 0
}

# Emulator: Druid's port if free, else any free port (it prints "listening HOST:PORT").
druid_listen=127.0.0.1:8082
port_busy 8082 && druid_listen=127.0.0.1:0
"$emulator" --listen "$druid_listen" >"$tmp/emulator.log" 2>&1 </dev/null &
pids+=($!)
druid_addr=
for _ in $(seq 100); do
	druid_addr=$(sed -n 's/^listening //p' "$tmp/emulator.log")
	[ -n "$druid_addr" ] && break
	kill -0 "${pids[-1]}" 2>/dev/null || break
	sleep 0.1
done
[ -n "$druid_addr" ] || { showlog "$tmp/emulator.log"; die "rb-druid-emulator did not start"; }

mkdir "$tmp/models"
for f in flows.keras flows.ini flows.druid.json; do ln -s "$repo/models/$f" "$tmp/models/$f"; done
cat >"$tmp/rb-aioutliers.conf" <<EOF
# written by etc/demo.sh
listen = unix:$tmp/rb-aioutliers.sock
listen_mode = 0600
workers = 2
models_dir = $tmp/models
druid_url = http://$druid_addr/druid/v2/
$([ "$(id -u)" = 0 ] && printf '# started as root: a real install sets user instead\nallow_root = yes')
log_level = info
EOF
"$daemon" -f -c "$tmp/rb-aioutliers.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)

# lighttpd: the shipped snippet with the socket moved into $tmp.
sed "s#/run/rb-aioutliers/#$tmp/#g" etc/lighttpd/rb-aioutliers.conf >"$tmp/lighttpd-rb-aioutliers.conf"
mkdir "$tmp/www"
cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
include "$tmp/lighttpd-rb-aioutliers.conf"
EOF
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
pids+=($!)

# Ready when /health answers 200 through lighttpd (the workers warm up oneDNN first).
base=http://127.0.0.1:$port
ready=0
for _ in $(seq 300); do
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || {
			showlog "$tmp/daemon.log" "$tmp/lighttpd.log" "$tmp/lighttpd.error.log" "$tmp/emulator.log"
			die "a process exited during start-up (see above)"
		}
	done
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ]; then
		ready=1
		break
	fi
	sleep 0.1
done
[ "$ready" = 1 ] || {
	showlog "$tmp/daemon.log" "$tmp/lighttpd.error.log"
	die "the service did not answer $base/health within 30 s"
}
echo "== up: lighttpd $base -> rb-aioutliers (2 workers, $tmp/rb-aioutliers.sock)" \
     "-> Druid emulator http://$druid_addr/druid/v2/"

# Prints a JSON answer indented, with the predicted list shortened (python3,
# else jq, else as is).
show_json() {
	if command -v python3 >/dev/null; then
		python3 -c '
import json, sys
a = json.load(sys.stdin)
p = a.get("predicted")
if isinstance(p, list) and len(p) > 3:
    a["predicted"] = p[:3] + ["... %d more rows" % (len(p) - 3)]
print(json.dumps(a, indent=2))' <"$1" && return 0
		cat "$1"
	elif command -v jq >/dev/null; then
		jq '.predicted |= (if type == "array" and length > 3 then .[:3] + ["... \(length - 3) more rows"] else . end)' "$1" ||
			cat "$1"
	else
		cat "$1"
	fi
	echo
}

query_b64=$(base64 -w0 tests/data/druid/seed_readme_pt1m.query.json)
model_b64=$(printf flows | base64 -w0)
failed=0
# $1 = title, then extra curl arguments.
ask() {
	local title=$1 code
	shift
	echo
	echo "== POST $base/api/v1/outliers: $title"
	code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' \
	       --data-urlencode "query=$query_b64" "$@" "$base/api/v1/outliers") || code=000
	echo "HTTP $code"
	show_json "$tmp/answer.json"
	if [ "$code" != 200 ] || ! grep -q '"status": *"success"' "$tmp/answer.json"; then
		failed=1
	fi
}
echo
echo "The example query of the old service's README (tests/data/druid/seed_readme_pt1m.query.json):"
echo "rb_flow, sensor FlowSensor, 1-minute buckets, 2023-09-21 09:00-10:00 UTC, longSum bytes."
ask "default detector (no model field), with the configured history (P7D)"
# What the history gave: how many rows, and which rows of the burst A1 were flagged.
hist_rows=$(grep -o '"history_rows": *[0-9]*' "$tmp/answer.json" | grep -o '[0-9]*$' || true)
a1=$(grep -o '"anomalies": *\[[^]]*\]' "$tmp/answer.json" |
	grep -o '2023-09-21T09:3[1-3]:00.000Z' | sed 's/.*T\(..:..\).*/\1/' | tr '\n' ' ' || true)
echo "== history: history_rows=${hist_rows:-absent} (rows of the week before the hour that the" \
     "detector saw; the answer lists the hour's own rows only)"
echo "== A1 (emulator burst 09:31-09:34): flagged rows ${a1:-none}"
ask "model=flows (the query is rewritten for the model's 11 metrics: models/flows.druid.json)" \
	--data-urlencode "model=$model_b64"
a1=$(grep -o '"anomalies": *\[[^]]*\]' "$tmp/answer.json" |
	grep -o '2023-09-21T09:3[1-3]:00.000Z' | sed 's/.*T\(..:..\).*/\1/' | tr '\n' ' ' || true)
echo "== A1 with model=flows: flagged rows ${a1:-none}"

echo
echo "== POST $base/api/v1/explain: who caused A1 (09:32), by client ip (README, \"Who caused it\")"
code=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --data-urlencode "query=$query_b64" \
       --data-urlencode "timestamp=$(printf 2023-09-21T09:32:00Z | base64 -w0)" \
       --data-urlencode "dimension=$(printf ip | base64 -w0)" "$base/api/v1/explain") || code=000
echo "HTTP $code"
show_json "$tmp/answer.json"
top=$(grep -o '"value": *"[^"]*"' "$tmp/answer.json" | head -1 | sed 's/.*"\([^"]*\)"$/\1/' || true)
echo "== A1 explained: largest contribution from ${top:-nothing}"
[ "$code" = 200 ] || failed=1

echo
echo "== GET $base/metrics (Prometheus; the pool's requests so far):"
curl -s "$base/metrics" | grep '^rb_aioutliers_requests_total' || failed=1

if [ "$failed" != 0 ]; then
	showlog "$tmp/daemon.log" "$tmp/lighttpd.error.log"
	die "an example request failed (see above)"
fi

cat <<EOF

== By hand, while this runs (from the top of the repository):
curl -s $base/health
curl -s $base/metrics
curl -s --data-urlencode "query=\$(base64 -w0 tests/data/druid/seed_readme_pt1m.query.json)" \\
     --data-urlencode "model=\$(printf flows | base64 -w0)" $base/api/v1/outliers
EOF

if [ -n "${RB_DEMO_ONCE:-}" ]; then
	echo
	echo "== RB_DEMO_ONCE set: stopping"
	exit 0
fi
echo
echo "== serving on $base until Ctrl-C (logs in $tmp)"
# Wakes up on Ctrl-C/SIGTERM (the trap) or when one of the processes dies.
while [ "$stopping" = 0 ]; do
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || {
			showlog "$tmp/daemon.log" "$tmp/lighttpd.error.log" "$tmp/emulator.log"
			die "a process of the demo exited unexpectedly (see above)"
		}
	done
	sleep 1 &
	wait $! || true
done
