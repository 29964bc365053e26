#!/usr/bin/env bash
# bench/service_ab.sh: two builds of the service through bench/service.sh, run
# alternately (A, B, A, B, ...), so that the load other work puts on the machine
# falls on both alike; on a shared host a single run of each is not a comparison.
# Per run and case it prints one line: the worker CPU per request (the steadiest
# figure), req/s and the ratio to the trivial responder of the same run, and the
# machine's busy CPU per request of the service and of the trivial responder (the
# ratio follows their quotient; other work's ticks inflate both); then the median
# of each figure per build and case.
#   bash bench/service_ab.sh BUILD_A BUILD_B [rounds (default 3)]
# BUILD_A, BUILD_B: build directories as RB_BUILD_DIR takes them (each with
# fcgi/rb-aioutliers, tests/emulator/rb-druid-emulator, bench/bench_fcgi_trivial;
# a directory of symbolic links to another build's programs will do). The
# environment goes through to service.sh (RB_BENCH_CASES, default "deep-1h
# default-1h"; RB_BENCH_SECONDS, default 8; RB_BENCH_CONNS). A measurement, not
# a test.
set -euo pipefail
cd "$(dirname "$0")/.."
me=bench/service_ab.sh
[ $# -ge 2 ] || { echo "usage: $me BUILD_A BUILD_B [rounds]" >&2; exit 2; }
a=$1 b=$2 rounds=${3:-3}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "$me: rounds must be a positive number" >&2; exit 2; }
export RB_BENCH_CASES=${RB_BENCH_CASES:-deep-1h default-1h}
export RB_BENCH_SECONDS=${RB_BENCH_SECONDS:-8}
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
echo "| run | build | case | worker CPU/req µs | req/s | trivial req/s | ratio | machine µs/req | trivial machine µs/req |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
	for side in A B; do
		dir=$a
		[ "$side" = A ] || dir=$b
		out=$(RB_BUILD_DIR=$dir bash bench/service.sh 2>/dev/null) ||
			{ echo "$me: bench/service.sh failed for $dir" >&2; exit 1; }
		# the CPU table's rows: case, workers, lighttpd, machine, trivial workers, ...
		# and the main table's req/s, trivial req/s and ratio, matched by order
		echo "$out" | awk -v r="$r" -v s="$side" -F'|' '
			/^\| [a-z0-9-]+ \| [0-9]+ \|/ { gsub(/ /, ""); c[++nc] = $2; w[nc] = $3; m[nc] = $5; tm[nc] = $8 }
			/^\| .* \| [0-9.]+[KMG]?B \|/ { gsub(/ /, ""); rps[++nr] = $4; trps[nr] = $11; ratio[nr] = $13 }
			END { for (i = 1; i <= nc; i++)
				printf "%s %s %s %s %s %s %s %s %s\n", r, s, c[i], w[i], rps[i], trps[i], ratio[i], m[i], tm[i] }' |
			tee -a "$lines" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
	done
done
echo
echo "Medians over $rounds runs (A = $a, B = $b):"
echo
echo "| build | case | worker CPU/req µs | req/s | ratio | machine µs/req | trivial machine µs/req |"
echo "|---|---|---|---|---|---|---|"
for side in A B; do
	for c in $RB_BENCH_CASES; do
		med() { awk -v s="$side" -v c="$c" -v k="$1" '$2 == s && $3 == c { v = $k; sub(/%$/, "", v); print v }' "$lines" |
			sort -g | awk '{ x[NR] = $1 } END { if (NR) print x[int((NR + 1) / 2)] }'; }
		echo "| $side | $c | $(med 4) | $(med 5) | $(med 7)% | $(med 8) | $(med 9) |"
	done
done
