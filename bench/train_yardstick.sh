#!/bin/bash
# train_yardstick: seconds per training epoch of rb-aioutliers-train's loop (bench_train, both
# paths: the plain-C reference and oneDNN) against the same architecture and recipe in PyTorch
# (bench/train_torch.py), in one run, interleaved round by round, every program pinned to one
# core (taskset) with OMP_NUM_THREADS=1 (and PyTorch's torch.set_num_threads(1)). The issue's
# yardstick: 4 weeks of one-minute rows of 11 metrics, 2,267 training + 251 validation windows
# of 32 rows, batch 32, 3 epochs per program and round; an epoch = the training steps plus the
# validation pass. Prints one row per program and round, then a table of medians, min-max and
# the ratios PyTorch s/epoch / this (> 1: this is faster than PyTorch), of CPU time (which a
# busy machine inflates less) in the table and of wall clock below it.
#
# Needs a build (cmake --build build) and PyTorch: on Debian 12 `apt-get install python3-torch`
# (torch 1.13; optionally libopenblas0-pthread, below). Not a test and not in CI. Usage:
#   bash bench/train_yardstick.sh [ROUNDS]   (default 3; env RB_BUILD_DIR, RB_CPU=core, RB_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
build=${RB_BUILD_DIR:-build}
cpu=${RB_CPU:-1}
epochs=3
bench="$build/bench/bench_train"
[ -x "$bench" ] || { echo "train_yardstick: no $bench (cmake --build $build)" >&2; exit 1; }
# The first of $RB_PYTHON, python3, /usr/bin/python3 that imports torch (Debian's package is
# for the system's python3, which a pyenv or venv python3 on PATH does not see).
py=
for c in ${RB_PYTHON:-} python3 /usr/bin/python3; do
	if "$c" -c 'import torch' 2>/dev/null; then py=$c; break; fi
done
[ -n "$py" ] ||
	{ echo "train_yardstick: no PyTorch (Debian: apt-get install python3-torch)" >&2; exit 1; }
export OMP_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "train_yardstick: $rounds rounds, $epochs epochs each, core $cpu, $(nproc --all) cores," \
	"$("$py" -c "import torch; print('torch', torch.__version__)"),"\
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
# PyTorch's matrix products go through the system's libblas.so.3 (Debian's torch is built with
# BLAS_INFO=generic): the reference (netlib) BLAS unless another provider is chosen. When
# OpenBLAS is installed (apt-get install libopenblas0-pthread) PyTorch is also run with it
# (LD_LIBRARY_PATH, one thread), the stricter yardstick; the system's choice is not changed.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
progs="ref dnnl torch"
[ -e "$openblas/libblas.so.3" ] && progs="$progs torch-openblas"
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
echo "train_yardstick: system libblas.so.3 = $blas"
for r in $(seq 1 "$rounds"); do
	for p in $progs; do
		case $p in
		torch*)
			if [ "$p" = torch-openblas ]; then
				LD_LIBRARY_PATH=$openblas OPENBLAS_NUM_THREADS=1 taskset -c "$cpu" "$py" \
					bench/train_torch.py --epochs "$epochs" --threads 1 >"$out/$p.$r" 2>&1
			else
				taskset -c "$cpu" "$py" bench/train_torch.py --epochs "$epochs" --threads 1 \
					>"$out/$p.$r" 2>&1
			fi
			wall=$(awk '/^torch_seconds_per_epoch/ {print $2}' "$out/$p.$r")
			cpus=$(awk '/^torch_cpu_seconds_per_epoch/ {print $2}' "$out/$p.$r")
			;;
		*)
			taskset -c "$cpu" "$bench" --path "$p" "$epochs" 32 >"$out/$p.$r" 2>&1
			wall=$(awk -F'|' '/^\| epoch \(train/ {gsub(/ /, "", $5); print $5}' "$out/$p.$r")
			cpus=$(awk -F'|' '/^\| epoch, CPU seconds/ {gsub(/ /, "", $5); print $5}' "$out/$p.$r")
			;;
		esac
		[ -n "$wall" ] && [ -n "$cpus" ] ||
			{ echo "train_yardstick: $p failed:" >&2; cat "$out/$p.$r" >&2; exit 1; }
		echo "round $r  $p  wall $wall s/epoch  cpu $cpus s/epoch  (load $(cut -d' ' -f1 /proc/loadavg))"
		echo "$p $r $wall $cpus" >>"$out/all"
	done
done
echo
# Medians and ranges over the rounds; the ratios are PyTorch's median over the program's median
# (> 1: the program is faster than PyTorch), per round in brackets (the same round's runs).
awk -v progs="$progs" '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function stats(p, col,   i, a, lo, hi, m) {
	lo = 1e9; hi = 0
	for (i = 1; i <= n[p]; i++) { a[i] = v[p, i, col]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
	m = median(a, n[p]); med[p, col] = m
	return sprintf("%.3f (%.3f-%.3f)", m, lo, hi)
}
function ratios(t, p, col,   i, s) {
	s = sprintf("%.2f (", med[t, col] / med[p, col])
	for (i = 1; i <= n[p]; i++) s = s sprintf("%s%.2f", i > 1 ? ", " : "", v[t, i, col] / v[p, i, col])
	return s ")"
}
{ n[$1]++; v[$1, $2, 1] = $3; v[$1, $2, 2] = $4 }
END {
	np = split(progs, ps, " ")
	for (k = 1; k <= np; k++) { sw[ps[k]] = stats(ps[k], 1); sc[ps[k]] = stats(ps[k], 2) }
	ob = ("torch-openblas" in n)
	printf "| program | wall s/epoch, median (min-max) | CPU s/epoch, median (min-max) | PyTorch / this, CPU |%s\n", ob ? " PyTorch+OpenBLAS / this, CPU |" : ""
	printf "|---|---|---|---|%s\n", ob ? "---|" : ""
	for (k = 1; k <= np; k++) {
		p = ps[k]
		printf "| %s | %s | %s | %s |%s\n", p, sw[p], sc[p], ratios("torch", p, 2), ob ? " " ratios("torch-openblas", p, 2) " |" : ""
	}
	printf "\nwall-clock ratios: PyTorch / dnnl %s%s\n", ratios("torch", "dnnl", 1), ob ? ", PyTorch+OpenBLAS / dnnl " ratios("torch-openblas", "dnnl", 1) : ""
}' "$out/all"
