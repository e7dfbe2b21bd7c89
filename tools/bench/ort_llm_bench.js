// ort_llm_bench.js MODEL TOKENS.npy THREADS ITERS WARMUP
// Times one prefill of a decoder LLM in ONNX Runtime: row 0 of TOKENS.npy
// (int64 [N, T]) as input_ids, with the inputs pq builds for token data (a
// mask of ones, positions 0..T-1, an empty past). Prints one JSON line:
// {"model", "threads", "tokens", "ms_median", "ms_min"}.
'use strict';
const fs = require('fs');
const {ort, timeRuns} = require('./ort_inputs');

function readInt64Npy(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  if (!header.includes("'<i8'")) throw new Error(`${file}: expected int64 token ids`);
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const start = 10 + headerLength;
  const values = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset + start,
                                                      bytes.byteOffset + bytes.length));
  return {shape, values};
}

async function main() {
  const [model, tokensFile, threads, iters, warmup] = process.argv.slice(2);
  const tokens = readInt64Npy(tokensFile);
  const length = tokens.shape[tokens.shape.length - 1];
  const row = tokens.values.slice(0, length);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const name = meta.name;
    const int64 = (data) => new ort.Tensor('int64', data, [1, length]);
    if (name === 'input_ids') feeds[name] = int64(row);
    else if (name === 'attention_mask') feeds[name] = int64(new BigInt64Array(length).fill(1n));
    else if (name === 'position_ids') feeds[name] = int64(BigInt64Array.from({length}, (_, i) => BigInt(i)));
    else if (name.startsWith('past')) {
      const dims = [1, meta.shape[1], 0, meta.shape[3]];
      feeds[name] = meta.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims)
                                            : new ort.Tensor('float32', new Float32Array(0), dims);
    } else throw new Error(`${model}: input ${name} cannot be built from token ids`);
  }
  const timing = await timeRuns(session, feeds, Number(iters), Number(warmup));
  console.log(JSON.stringify({model, threads: Number(threads), tokens: length, ...timing}));
}

main().catch((e) => { console.error(String(e)); process.exit(3); });
