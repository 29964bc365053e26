#!/usr/bin/env bash
# bench/model_sync.sh [MODELS] [PASSES]: what one model-sync pass costs (docs/OPERATIONS.md,
# "Model sync from S3"), against s3rver on loopback. MODELS models (default 50, each the
# shipped flows model's three files) are uploaded under one prefix; then, one pass per
# process (tests/s3/s3_probe ... sync, the same core/store code the daemon's helper runs):
#   first   the first pass of an empty models directory: lists, finds them all new (pending)
#   install the pass that downloads, validates (model_load, druid_template_load) and renames all
#   steady  a pass with nothing changed (what the helper does every models_sync_interval),
#           PASSES times (default 10)
# and prints wall time, CPU time (user+sys) and maximum RSS of each (steady: the mean).
# s3rver's own CPU is not counted. Needs a build (RB_BUILD_DIR, default build) with s3rver
# installed (bash tests/s3/install-s3rver.sh BUILD/s3rver). A bench: asserts nothing.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bld=${RB_BUILD_DIR:-$src/build}
models=${1:-50}
passes=${2:-10}
probe=$bld/tests/s3/s3_probe
s3rver=$bld/s3rver/node_modules/.bin/s3rver
[ -x "$probe" ] || { echo "no $probe: build first" >&2; exit 1; }
[ -x "$s3rver" ] || { echo "no s3rver: bash tests/s3/install-s3rver.sh $bld/s3rver" >&2; exit 1; }
tmp=$(mktemp -d /tmp/rb-bench-sync-XXXXXX)
s3pid=""
cleanup() {
	[ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null && wait "$s3pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/hosting/free-port.sh"
port=$(free_port)
mkdir -p "$tmp/s3data" "$tmp/dir"
"$s3rver" -d "$tmp/s3data" -a 127.0.0.1 -p "$port" --configure-bucket models \
	>"$tmp/s3rver.log" 2>&1 </dev/null &
s3pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
ep=http://127.0.0.1:$port
url=s3://models/bench
printf 'access_key_id = S3RVER\nsecret_access_key = S3RVER\n' >"$tmp/creds"
chmod 600 "$tmp/creds"
for i in $(seq "$models"); do
	for x in keras ini druid.json; do
		"$probe" "$ep" "$tmp/creds" "$url" put "m$i.$x" "$src/models/flows.$x" >/dev/null
	done
done

# one pass; prints "wall_ms cpu_ms maxrss_kib"
pass() {
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$probe" "$ep" "$tmp/creds" "$url" sync \
		"$tmp/dir" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; exit 1; }
	awk '{printf "%.1f %.1f %d\n", $1 * 1000, ($2 + $3) * 1000, $4}' "$tmp/time"
}
bytes=$(stat -c %s "$src/models/flows.keras" "$src/models/flows.ini" "$src/models/flows.druid.json" |
	awk '{s += $1} END {print s}')
printf 'model sync, %d models (%d objects, %d KB each model), s3rver on loopback\n' \
	"$models" $((models * 3)) $((bytes / 1024))
printf '%-8s %10s %10s %12s\n' pass wall_ms cpu_ms maxrss_KiB
read -r w c r < <(pass)
printf '%-8s %10s %10s %12s\n' first "$w" "$c" "$r"
read -r w c r < <(pass)
printf '%-8s %10s %10s %12s\n' install "$w" "$c" "$r"
n=$(ls "$tmp/dir"/*.keras | wc -l)
[ "$n" = "$models" ] || echo "warning: $n of $models models installed" >&2
# steady: PASSES passes in one timed loop (time(1) counts in 10 ms steps), per pass
/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" bash -c '
	for _ in $(seq "$1"); do "$2" "$3" "$4" "$5" sync "$6" >/dev/null || exit 1; done' \
	_ "$passes" "$probe" "$ep" "$tmp/creds" "$url" "$tmp/dir"
awk -v n="$passes" '{printf "%-8s %10.1f %10.1f %12d   (mean of %d passes)\n", "steady",
	$1 * 1000 / n, ($2 + $3) * 1000 / n, $4, n}' "$tmp/time"
