#!/usr/bin/env node
// Runs many models in ONNX Runtime in one process (ort_run.js's runModel for
// each job), so a test with hundreds of models pays node's and ORT's start-up
// once. A job that fails does not stop the others.
//
// Usage: node ort_batch.js JOBS.json RESULTS.jsonl
//
// JOBS.json: [{"model": M, "data": D.npz, "outDir": DIR, "batch": N}, ...]
// RESULTS.jsonl: one line per job, same order, written as each job ends (so
// that when ORT crashes the process, the lines written tell which job did):
// {"ok": true} or {"ok": false, "error": "<first line of the message>"}.
'use strict';

const fs = require('fs');
const { runModel } = require('./ort_run.js');

async function main() {
  if (process.argv.length !== 4) {
    process.stderr.write('usage: node ort_batch.js JOBS.json RESULTS.jsonl\n');
    process.exit(2);
  }
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  fs.writeFileSync(process.argv[3], '');
  for (const job of jobs) {
    try {
      await runModel({ threads: 1, batch: 1, ...job });
      fs.appendFileSync(process.argv[3], '{"ok": true}\n');
    } catch (e) {
      const message = String(e && e.message ? e.message : e).split('\n')[0];
      fs.appendFileSync(process.argv[3], JSON.stringify({ ok: false, error: message }) + '\n');
    }
  }
}

main().catch((e) => {
  process.stderr.write(`ort_batch.js: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
