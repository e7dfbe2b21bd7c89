// ort_inputs.js: what the ONNX Runtime benchmarks share: the onnxruntime-node
// module installed for the interop tests, and deterministic inputs for a
// session (uniform [-1, 1) from a fixed-seed LCG, symbolic dims = batch), the
// same policy as pq_bench_executor.
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules',
                              'onnxruntime-node'));

function makeFeeds(session, batch) {
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

// Runs `session` on `feeds` warmup + iters times; returns the median and
// minimum milliseconds of the timed runs.
async function timeRuns(session, feeds, iters, warmup) {
  const times = [];
  for (let i = 0; i < warmup + iters; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= warmup) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return {ms_median: times[Math.floor(times.length / 2)], ms_min: times[0]};
}

module.exports = {ort, makeFeeds, timeRuns};
