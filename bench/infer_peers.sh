#!/usr/bin/env bash
# infer_peers: our inference paths against the peers on the same model, in one run:
# bench_infer (vector, dnnl, and vector:series: the windows as the service runs them, views of
# one series at the engine's stride, the row-wise layers once per row), TorchScript (Debian
# python3-torch) and ONNX Runtime (npm onnxruntime-node), all pinned to one CPU with one
# thread, ROUNDS interleaved rounds (each round runs every program once, in turn), medians of
# the rounds, ratios against our vector path and against vector:series.
#   bash bench/infer_peers.sh [--rounds 7] [--batch 1,2,3,64,630] [--cpu 1] [--build build]
# Needs a built tree (bench/bench_infer). A peer that cannot be installed or run is reported as
# such and the others still run: python3-torch and python3-h5py via apt-get (for TorchScript and
# for exporting the ONNX file), onnxruntime-node via npm into $RB_PEERS_DIR (default
# /tmp/rb-peers; ONNXRUNTIME_NODE_INSTALL=skip: its postinstall would fetch CUDA files).
# The model: $RB_SHARED_DIR/upstream/traffic.keras (default ../shared). A bench, not a test.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=7 batches=1,2,3,64,630 cpu=1 build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --batch) batches=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: bash bench/infer_peers.sh [--rounds N] [--batch B,...] [--cpu N] [--build DIR]" >&2
       exit 2 ;;
  esac
done
shared=${RB_SHARED_DIR:-../shared}
keras=$shared/upstream/traffic.keras
peers=${RB_PEERS_DIR:-/tmp/rb-peers}
py=/usr/bin/python3
mkdir -p "$peers"
out=$(mktemp -d /tmp/rb-infer-peers-XXXXXX)
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
pin=(taskset -c "$cpu")

[ -x "$build/bench/bench_infer" ] || { echo "infer_peers: no $build/bench/bench_infer (build first)" >&2; exit 1; }

have_torch=0 have_ort=0
if ! $py -c 'import torch, h5py' 2>/dev/null; then
  echo "infer_peers: installing python3-torch python3-h5py (apt-get)"
  apt-get install -y -q python3-torch python3-h5py >/dev/null 2>&1 ||
    echo "infer_peers: TorchScript: python3-torch/python3-h5py cannot be installed here: skipped"
fi
if $py -c 'import torch, h5py' 2>/dev/null &&
   $py bench/infer_peers.py export "$keras" "$peers" >"$out/export.log" 2>&1; then
  have_torch=1
else
  echo "infer_peers: TorchScript: export failed or torch missing: skipped (see $peers)"
  tail -n 3 "$out/export.log" 2>/dev/null
fi
if [ "$have_torch" = 1 ] && command -v node >/dev/null; then
  if [ ! -d "$peers/node_modules/onnxruntime-node" ]; then
    echo "infer_peers: installing onnxruntime-node (npm) into $peers"
    (cd "$peers" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node \
      >/dev/null 2>&1) || echo "infer_peers: ONNX Runtime: npm install failed"
  fi
  if NODE_PATH="$peers/node_modules" node bench/infer_peers.js "$peers" 1 16 >/dev/null 2>&1; then
    have_ort=1
  else
    echo "infer_peers: ONNX Runtime: onnxruntime-node cannot run here: skipped"
  fi
elif [ "$have_torch" = 0 ]; then
  echo "infer_peers: ONNX Runtime: skipped (its model file is exported by PyTorch)"
else
  echo "infer_peers: ONNX Runtime: node not found: skipped"
fi

# Rounds: every program once per round, in turn; each prints "path batch cpu_us wall_us" lines.
for r in $(seq 1 "$rounds"); do
  "${pin[@]}" "$build/bench/bench_infer" --path vector,vector:series,dnnl --batch "$batches" --rounds 3 |
    awk -F'|' '/^\| (vector|vector:series|dnnl) /{gsub(/ /,""); print $2, $3, $4, $5}' >>"$out/times"
  [ "$have_torch" = 1 ] && "${pin[@]}" $py bench/infer_peers.py time "$peers" "$batches" >>"$out/times"
  [ "$have_ort" = 1 ] && NODE_PATH="$peers/node_modules" "${pin[@]}" node bench/infer_peers.js \
    "$peers" "$batches" >>"$out/times"
  echo "infer_peers: round $r/$rounds done" >&2
done

echo "traffic.keras, one thread pinned to CPU $cpu, $rounds interleaved rounds, medians; µs per window"
echo "(CPU time; wall in brackets); ratio = peer / our path (higher: we are faster)"
$py - "$out/times" "$batches" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
paths = ["vector", "vector:series", "dnnl", "torchscript", "onnxruntime"]
ratios = [("dnnl", "vector"), ("torchscript", "vector"), ("onnxruntime", "vector"),
          ("torchscript", "vector:series"), ("onnxruntime", "vector:series")]
med = {}
for p, b, c, w in rows:
    med.setdefault((p, int(b)), []).append((float(c), float(w)))
print("| batch | " + " | ".join(paths) + " | " + " | ".join("%s/%s" % r for r in ratios) + " |")
print("|---" * (len(paths) + len(ratios) + 1) + "|")
for b in [int(x) for x in sys.argv[2].split(",")]:
    cells, cpu = [], {}
    for p in paths:
        v = med.get((p, b))
        if not v:
            cells.append("-")
            continue
        cpu[p] = statistics.median(x[0] for x in v)
        cells.append("%.1f (%.1f)" % (cpu[p], statistics.median(x[1] for x in v)))
    cells += ["%.2f×" % (cpu[p] / cpu[q]) if p in cpu and q in cpu else "-" for p, q in ratios]
    print("| %d | %s |" % (b, " | ".join(cells)))
PY
