// infer_peers.js: the ONNX Runtime side of bench/infer_peers.sh (not a test, not in CI).
//   node infer_peers.js DIR B[,B...] [REPS_WINDOWS]
// Runs DIR/traffic.onnx (written by infer_peers.py export) with onnxruntime-node (found through
// NODE_PATH), one intra-op and one inter-op thread, and prints one line per batch
// "onnxruntime B CPU_US_PER_WINDOW WALL_US_PER_WINDOW": best of 3 timed runs of about
// REPS_WINDOWS windows each (default 640), after 2 warm-up runs. Inputs uniform in [0, 1).
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [dir, list, win] = process.argv.slice(2);
  if (!dir || !list) {
    console.error('usage: node infer_peers.js DIR B[,B...] [REPS_WINDOWS]');
    process.exit(2);
  }
  const windows = win ? parseInt(win, 10) : 640;
  const session = await ort.InferenceSession.create(dir + '/traffic.onnx', {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  let s = 20261205;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s >>> 8) / 16777216; };
  for (const b of list.split(',').map(Number)) {
    const x = new Float32Array(b * 32 * 20).map(rnd);
    const feeds = { x: new ort.Tensor('float32', x, [b, 32, 20]) };
    const reps = Math.max(1, Math.floor(windows / b));
    for (let i = 0; i < 2; i++) await session.run(feeds);
    let best = null;
    for (let r = 0; r < 3; r++) {
      const c0 = process.cpuUsage(), w0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) await session.run(feeds);
      const c1 = process.cpuUsage(c0), w = Number(process.hrtime.bigint() - w0) / 1e3;
      const c = c1.user + c1.system;
      if (best === null || c < best[0]) best = [c, w];
    }
    const n = reps * b;
    console.log(`onnxruntime ${b} ${(best[0] / n).toFixed(2)} ${(best[1] / n).toFixed(2)}`);
  }
}
main().catch((e) => { console.error('infer_peers.js: ' + e.message); process.exit(1); });
