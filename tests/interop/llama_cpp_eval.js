#!/usr/bin/env node
// llama.cpp's next-token distributions for token rows, through node-llama-cpp
// (the prebuilt CPU library of tests/interop/node_modules). Used by
// gguf_llama_cpp.py to compare a GGUF file pq wrote with pq's executor.
//
// Usage:
//   node llama_cpp_eval.js MODEL.gguf TOKENS.npy OUT.npy [--threads N]
//   node llama_cpp_eval.js MODEL.gguf --tokenize TEXT_FILE OUT.json
//
// First form: TOKENS.npy is int64 (or int32) [rows, len]. Each row is evaluated
// as a fresh prefill at positions 0..len-1 of one context sequence (cleared
// between rows; no BOS is added: the row carries its own). OUT.npy is float32
// [rows, len, vocab]: at [r, t] the probability of every vocabulary token being
// token t + 1, i.e. softmax of llama.cpp's logits after token t. The sampler is
// left at node-llama-cpp's greedy default (temperature 0, no repeat/DRY penalty,
// no token bias), whose chain leaves the logits as they are; every returned
// distribution must cover the whole vocabulary, or the run fails. The KV cache
// is float32 and flash attention off, so an f32 GGUF is computed in float32
// throughout.
//
// Second form: the text of TEXT_FILE (UTF-8, a trailing newline dropped)
// tokenized by the model's own tokenizer without special tokens (no BOS),
// written as {"tokens": [...]} to OUT.json.
//
// Exit codes: 0 done, 1 the model did not load or evaluation failed, 2 usage.
'use strict';

const fs = require('fs');

function fail(message, code = 1) {
  process.stderr.write(`llama_cpp_eval.js: ${message}\n`);
  process.exit(code);
}

// Reads a C-order int64/int32 .npy of rank 2; returns {rows, len, data: number[]}.
function readTokenNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`${file}: unreadable .npy header ${header.trim()}`);
  if (fortran[1] === 'True') fail(`${file}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (dims.length !== 2) fail(`${file}: expected token ids [rows, len], got shape (${dims.join(', ')})`);
  const count = dims[0] * dims[1];
  const body = buf.subarray(start);
  let data;
  if (descr[1] === '<i8') {
    data = Array.from(new BigInt64Array(body.buffer.slice(body.byteOffset, body.byteOffset + count * 8)), Number);
  } else if (descr[1] === '<i4') {
    data = Array.from(new Int32Array(body.buffer.slice(body.byteOffset, body.byteOffset + count * 4)));
  } else {
    fail(`${file}: token ids must be int64 or int32, got ${descr[1]}`);
  }
  return { rows: dims[0], len: dims[1], data };
}

// Writes a float32 C-order .npy (v1.0) of `shape` from the Float32Array chunks.
function writeFloat32Npy(file, shape, chunks) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, prefix);
    fs.writeSync(fd, Buffer.from(header, 'latin1'));
    for (const chunk of chunks) fs.writeSync(fd, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  } finally {
    fs.closeSync(fd);
  }
}

function parseArgs(argv) {
  const args = { threads: 2 };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') args.threads = Number(argv[++i]);
    else if (argv[i] === '--tokenize') args.tokenize = argv[++i];
    else if (argv[i].startsWith('--')) fail(`unknown flag ${argv[i]}`, 2);
    else positional.push(argv[i]);
  }
  const wanted = args.tokenize ? 2 : 3;
  if (positional.length !== wanted || !(args.threads >= 1)) {
    fail('usage: llama_cpp_eval.js MODEL.gguf TOKENS.npy OUT.npy [--threads N]\n' +
         '       llama_cpp_eval.js MODEL.gguf --tokenize TEXT_FILE OUT.json', 2);
  }
  [args.model, args.tokens, args.out] = args.tokenize ? [positional[0], null, positional[1]] : positional;
  return args;
}

async function loadModel(llama, modelPath) {
  try {
    return await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: false });
  } catch (e) {
    fail(`node-llama-cpp could not load ${modelPath}: ${e.message}`);
  }
  return null;
}

async function tokenize(model, args) {
  const text = fs.readFileSync(args.tokenize, 'utf8').replace(/\n$/, '');
  const tokens = model.tokenize(text, false);
  fs.writeFileSync(args.out, JSON.stringify({ tokens: Array.from(tokens) }) + '\n');
}

async function evaluateRows(model, args) {
  const rows = readTokenNpy(args.tokens);
  const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
  if (!(nVocab > 0)) fail(`${args.model}: no tokenizer.ggml.tokens array, so no vocabulary size`);
  const context = await model.createContext({
    contextSize: rows.len + 1,  // a full sequence would be shifted before its last token
    batchSize: rows.len,
    sequences: 1,
    threads: args.threads,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  const sequence = context.getSequence();
  const chunks = [];
  for (let r = 0; r < rows.rows; r++) {
    await sequence.clearHistory();
    const row = rows.data.slice(r * rows.len, (r + 1) * rows.len);
    for (const id of row) {
      if (!(id >= 0 && id < nVocab)) fail(`${args.tokens}: row ${r} has token id ${id} outside [0, ${nVocab})`);
    }
    const input = row.map((token) => [token, { generateNext: { probabilities: true } }]);
    const output = await sequence.controlledEvaluate(input);
    if (sequence.nextTokenIndex !== rows.len) {
      fail(`row ${r}: the sequence holds ${sequence.nextTokenIndex} tokens after evaluation, expected ${rows.len}`);
    }
    const probs = new Float32Array(rows.len * nVocab);
    for (let t = 0; t < rows.len; t++) {
      const map = output[t]?.next?.probabilities;
      if (!map) fail(`row ${r}, position ${t}: node-llama-cpp returned no probabilities`);
      if (map.size !== nVocab) {
        fail(`row ${r}, position ${t}: ${map.size} probabilities, expected the whole vocabulary (${nVocab})`);
      }
      for (const [token, p] of map) probs[t * nVocab + token] = p;
    }
    chunks.push(probs);
  }
  await context.dispose();
  writeFloat32Npy(args.out, [rows.rows, rows.len, nVocab], chunks);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) fail(`${args.model}: no such file`);
  let llamaCpp;
  try {
    llamaCpp = await import('node-llama-cpp');
  } catch (e) {
    fail(`cannot import node-llama-cpp (tests/interop/node_modules): ${e.message}`);
  }
  const llama = await llamaCpp.getLlama({
    gpu: false,
    build: 'never',
    logLevel: llamaCpp.LlamaLogLevel.error,
  });
  const model = await loadModel(llama, args.model);
  if (args.tokenize) await tokenize(model, args);
  else await evaluateRows(model, args);
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => fail(e.stack || String(e)));
