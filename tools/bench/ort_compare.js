// ort_compare.js: times two models in ONNX Runtime (onnxruntime-node) in one process,
// alternating one run of each per iteration on the same input, so that both see the
// same machine state (a shared VM's speed drifts by 2x between runs of separate
// processes). Inputs as in ort_bench.js: uniform [-1, 1), symbolic dims = BATCH.
// Usage: node ort_compare.js REFERENCE CANDIDATE THREADS ITERS WARMUP [BATCH]
// Prints one JSON line: the median and minimum ms per inference of each model and
// speedup = reference median / candidate median (> 1: the candidate is faster).
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules',
                              'onnxruntime-node'));

function makeFeeds(session, batch) {
  // A small LCG keeps the inputs deterministic without extra packages.
  let state = 42;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  };
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === name) : null;
    const dims = (meta && meta.shape ? meta.shape : [1]).map((d) => (typeof d === 'number' && d > 0 ? d : batch));
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = next();
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  return feeds;
}

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
