#!/usr/bin/env node
// Reference runner for ort_equivalence.py: runs an ONNX model with ONNX Runtime
// over the samples of an .npz, batching exactly like `pq run`, and writes every
// output to OUT_DIR/<output name>.npy (npy v1.0).
//
// Usage: node ort_run.js MODEL INPUTS.npz OUT_DIR [--threads N] [--batch N]
//                        [--opt-level disabled|basic|extended|all]
//
// Samples (same rules as pq's Dataset): axis 0 of each array is the sample axis.
// An array with the rank of the model input gives each sample as one row along
// the input's first axis; an array with one more dim gives each sample as a
// whole feed. A run takes --batch samples (default 1) and concatenates them
// along axis 0. Outputs of successive runs are concatenated along axis 0
// (scalars are stacked along a new first axis). --opt-level is ORT's graph
// optimization level (default all, ORT's own default).
//
// As a module (ort_batch.js): runModel({model, data, outDir, threads, batch,
// optimization}) does the same and throws OrtRunError instead of exiting;
// optimization is ORT's graphOptimizationLevel ('all' when not given).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

// npy descr <-> ORT tensor type <-> typed array.
const kTypes = [
  { descr: '<f4', ort: 'float32', array: Float32Array },
  { descr: '<f8', ort: 'float64', array: Float64Array },
  { descr: '<i8', ort: 'int64', array: BigInt64Array },
  { descr: '<u8', ort: 'uint64', array: BigUint64Array },
  { descr: '<i4', ort: 'int32', array: Int32Array },
  { descr: '<u4', ort: 'uint32', array: Uint32Array },
  { descr: '<i2', ort: 'int16', array: Int16Array },
  { descr: '<u2', ort: 'uint16', array: Uint16Array },
  { descr: '<f2', ort: 'float16', array: Uint16Array },
  { descr: '|u1', ort: 'uint8', array: Uint8Array },
  { descr: '|i1', ort: 'int8', array: Int8Array },
  { descr: '|b1', ort: 'bool', array: Uint8Array },
];
const byDescr = (d) => kTypes.find((t) => t.descr === d.replace(/^=/, '<'));
const byOrt = (o) => kTypes.find((t) => t.ort === o);

class OrtRunError extends Error {}

function fail(message) {
  throw new OrtRunError(message);
}

// Returns {name: Buffer} for every member of a zip archive (stored or deflate,
// zip64 sizes and offsets included). Reads the central directory, not the
// local headers, so sizes are known even for streamed members.
function readZip(file) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); --i) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) fail(`${file}: not a zip archive (no end of central directory)`);
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && buf.readUInt32LE(locator) === 0x07064b50) {
    const eocd64 = Number(buf.readBigUInt64LE(locator + 8));
    count = Number(buf.readBigUInt64LE(eocd64 + 32));
    offset = Number(buf.readBigUInt64LE(eocd64 + 48));
  }
  const members = {};
  for (let k = 0; k < count; ++k) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) fail(`${file}: bad central directory entry ${k}`);
    const method = buf.readUInt16LE(offset + 10);
    let csize = buf.readUInt32LE(offset + 20);
    let usize = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    let local = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLen);
    // zip64 extra field (id 1): the 0xFFFFFFFF fields, in this order.
    for (let e = offset + 46 + nameLen; e < offset + 46 + nameLen + extraLen;) {
      const id = buf.readUInt16LE(e);
      const size = buf.readUInt16LE(e + 2);
      if (id === 1) {
        let p = e + 4;
        if (usize === 0xffffffff) { usize = Number(buf.readBigUInt64LE(p)); p += 8; }
        if (csize === 0xffffffff) { csize = Number(buf.readBigUInt64LE(p)); p += 8; }
        if (local === 0xffffffff) { local = Number(buf.readBigUInt64LE(p)); p += 8; }
      }
      e += 4 + size;
    }
    if (buf.readUInt32LE(local) !== 0x04034b50) fail(`${file}: bad local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    if (method === 0) members[name] = raw;
    else if (method === 8) members[name] = zlib.inflateRawSync(raw);
    else fail(`${file}: ${name} uses zip compression method ${method} (only stored and deflate)`);
    if (members[name].length !== usize) fail(`${file}: ${name} has ${members[name].length} bytes, expected ${usize}`);
    offset += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

// Parses one .npy buffer into {type, shape, data (typed array)}.
function parseNpy(buf, what) {
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${what}: not an .npy array`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataStart = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', dataStart - headerLen, dataStart);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeText) fail(`${what}: unreadable header ${header}`);
  if (fortran[1] === 'True') fail(`${what}: fortran_order arrays are not supported`);
  const type = byDescr(descr[1]);
  if (!type) fail(`${what}: dtype ${descr[1]} is not supported`);
  const shape = shapeText[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = Buffer.from(buf.subarray(dataStart, dataStart + n * type.array.BYTES_PER_ELEMENT));
  return { type, shape, data: new type.array(bytes.buffer, bytes.byteOffset, n) };
}

function writeNpy(file, type, shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${type.descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

// Concatenates {shape, data} parts along axis 0 (parts share trailing dims).
function concatRows(parts) {
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  const data = new parts[0].data.constructor(total);
  let at = 0;
  for (const p of parts) { data.set(p.data, at); at += p.data.length; }
  const rows = parts.reduce((n, p) => n + p.shape[0], 0);
  return { shape: [rows, ...parts[0].shape.slice(1)], data };
}

// Rows [first, first + count) of an array, as {shape, data}.
function rows(array, first, count) {
  const rowSize = array.shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    shape: [count, ...array.shape.slice(1)],
    data: array.data.slice(first * rowSize, (first + count) * rowSize),
  };
}

function parseArgs(argv) {
  const positional = [];
  const options = { threads: 1, batch: 1, optimization: 'all' };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--opt-level') {
      options.optimization = argv[++i];
      if (!['disabled', 'basic', 'extended', 'all'].includes(options.optimization)) {
        fail('--opt-level needs disabled, basic, extended or all');
      }
    } else if (argv[i] === '--threads' || argv[i] === '--batch') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < (argv[i - 1] === '--batch' ? 1 : 0)) {
        fail(`${argv[i - 1]} needs a non-negative integer (batch: positive)`);
      }
      options[argv[i - 1].slice(2)] = value;
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 3) {
    fail('usage: node ort_run.js MODEL INPUTS.npz OUT_DIR [--threads N] [--batch N]');
  }
  [options.model, options.data, options.outDir] = positional;
  return options;
}

// Runs options.model over options.data and writes every output to options.outDir.
async function runModel(options) {
  const session = await ort.InferenceSession.create(options.model, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.optimization || 'all',
    // ORT rewrites DequantizeLinear(int8 weight) + MatMul into MatMulNBits
    // with int8 activations by default (accuracy_level 4); 0 keeps the math
    // exact in float so that the reference is the model's own arithmetic.
    extra: { session: { qdq_matmulnbits_accuracy_level: '0' } },
  });
  const members = readZip(options.data);
  const arrays = {};
  let samples = -1;
  for (const meta of session.inputMetadata) {
    const member = members[`${meta.name}.npy`];
    if (!member) fail(`${options.data} has no array '${meta.name}' for input '${meta.name}'`);
    const array = parseNpy(member, `${options.data}:${meta.name}`);
    const rank = meta.shape ? meta.shape.length : array.shape.length;
    if (array.shape.length !== rank && array.shape.length !== rank + 1) {
      fail(`array '${meta.name}' of shape [${array.shape}] does not fit input rank ${rank}`);
    }
    array.rowIsFeed = array.shape.length === rank + 1;
    if (samples >= 0 && array.shape[0] !== samples) fail('arrays have different sample counts');
    samples = array.shape[0];
    arrays[meta.name] = array;
  }
  const collected = Object.fromEntries(session.outputNames.map((n) => [n, []]));
  for (let first = 0; first < samples; first += options.batch) {
    const count = Math.min(options.batch, samples - first);
    const feeds = {};
    for (const [name, array] of Object.entries(arrays)) {
      const part = rows(array, first, count);
      let shape = part.shape;
      if (array.rowIsFeed) shape = count === 1 ? shape.slice(1) : [count * shape[1], ...shape.slice(2)];
      feeds[name] = new ort.Tensor(array.type.ort, part.data, shape);
    }
    const results = await session.run(feeds);
    for (const name of session.outputNames) {
      const t = results[name];
      collected[name].push({ type: byOrt(t.type), shape: [...t.dims], data: t.data });
    }
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  for (const [name, parts] of Object.entries(collected)) {
    if (!parts[0].type) fail(`output '${name}' has unsupported type`);
    const lifted = parts.every((p) => p.shape.length > 0)
      ? parts : parts.map((p) => ({ ...p, shape: [1, ...p.shape] }));
    const joined = concatRows(lifted);
    writeNpy(path.join(options.outDir, `${name}.npy`), parts[0].type, joined.shape, joined.data);
  }
}

module.exports = { runModel, OrtRunError };

if (require.main === module) {
  (async () => runModel(parseArgs(process.argv.slice(2))))().catch((e) => {
    const text = e instanceof OrtRunError ? e.message : (e && e.stack ? e.stack : String(e));
    process.stderr.write(`ort_run.js: ${text}\n`);
    process.exit(1);
  });
}
