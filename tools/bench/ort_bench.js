// ort_bench.js: times ONNX Runtime (onnxruntime-node) on one model, with the
// same inputs policy as pq_bench_executor (see ort_inputs.js).
// Usage: node ort_bench.js MODEL THREADS ITERS WARMUP [BATCH]
// Symbolic dims take BATCH (default 1).
// Prints one JSON line like pq_bench_executor.
'use strict';
const {ort, makeFeeds} = require('./ort_inputs');

async function main() {
  const [model, threads = '1', iters = '20', warmup = '3', batch = '1'] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = makeFeeds(session, Number(batch));
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
