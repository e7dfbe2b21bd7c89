// ort_bench.js: times ONNX Runtime (onnxruntime-node) on one model, with the
// same inputs policy as pq_bench_executor (uniform [-1, 1), symbolic dims = 1).
// Usage: node ort_bench.js MODEL THREADS ITERS WARMUP [BATCH]
// Symbolic dims take BATCH (default 1).
// Prints one JSON line like pq_bench_executor.
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules',
                              'onnxruntime-node'));

async function main() {
  const [model, threads = '1', iters = '20', warmup = '3', batch = '1'] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  // A small LCG keeps the inputs deterministic without extra packages.
  let state = 42;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  };
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === name) : null;
    const dims = (meta && meta.shape ? meta.shape : [1]).map((d) => (typeof d === 'number' && d > 0 ? d : Number(batch)));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = next();
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  const times = [];
  for (let i = 0; i < Number(warmup) + Number(iters); i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= Number(warmup)) times.push(ms);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({model, threads: Number(threads), iters: Number(iters), batch: Number(batch),
                              ms_median: times[Math.floor(times.length / 2)], ms_min: times[0]}));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(3);
});
