// ort_bench.js: times ONNX Runtime (onnxruntime-node) on one model, with the
// same inputs policy as pq_bench_executor (see ort_inputs.js).
// Usage: node ort_bench.js MODEL THREADS ITERS WARMUP [BATCH]
// Symbolic dims take BATCH (default 1).
// Prints one JSON line like pq_bench_executor.
'use strict';
const {ort, makeFeeds, timeRuns} = require('./ort_inputs');

async function main() {
  const [model, threads = '1', iters = '20', warmup = '3', batch = '1'] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = makeFeeds(session, Number(batch));
  const timing = await timeRuns(session, feeds, Number(iters), Number(warmup));
  console.log(JSON.stringify({model, threads: Number(threads), iters: Number(iters), batch: Number(batch),
                              ...timing}));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(3);
});
