// ort_compare.js: times two models in ONNX Runtime (onnxruntime-node) in one process,
// alternating one run of each per iteration on the same input, so that both see the
// same machine state (a shared VM's speed drifts by 2x between runs of separate
// processes). Inputs as in ort_bench.js (ort_inputs.js), symbolic dims = BATCH.
// Usage: node ort_compare.js REFERENCE CANDIDATE THREADS ITERS WARMUP [BATCH]
// Prints one JSON line: the median and minimum ms per inference of each model and
// speedup = reference median / candidate median (> 1: the candidate is faster).
'use strict';
const {ort, makeFeeds} = require('./ort_inputs');

async function timedRun(session, feeds) {
  const start = process.hrtime.bigint();
  await session.run(feeds);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function stats(times) {
  times.sort((a, b) => a - b);
  return {ms_median: times[Math.floor(times.length / 2)], ms_min: times[0]};
}

async function main() {
  const [reference, candidate, threads = '1', iters = '1000', warmup = '100', batch = '1'] =
      process.argv.slice(2);
  const options = {intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all'};
  const sessions = [await ort.InferenceSession.create(reference, options),
                    await ort.InferenceSession.create(candidate, options)];
  const feeds = sessions.map((s) => makeFeeds(s, Number(batch)));
  const times = [[], []];
  for (let i = 0; i < Number(warmup) + Number(iters); i++) {
    // Alternate which model goes first so neither always runs on a warm cache.
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const ms = await timedRun(sessions[k], feeds[k]);
      if (i >= Number(warmup)) times[k].push(ms);
    }
  }
  const ref = stats(times[0]);
  const cand = stats(times[1]);
  console.log(JSON.stringify({reference, candidate, threads: Number(threads), iters: Number(iters),
                              batch: Number(batch), reference_ms: ref, candidate_ms: cand,
                              speedup: ref.ms_median / cand.ms_median}));
}

main().catch((e) => {
  console.error(`ort_compare: ${e.message}`);
  process.exit(3);
});
