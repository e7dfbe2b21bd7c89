#!/usr/bin/python3
"""Every model of the export corpus (models/export_corpus, made by
tools/make_export_corpus.py: torch exports of five architectures at opsets 9-17,
float32 and float16) runs in pq as in ONNX Runtime, and every ONNX scheme
quantizes it into a model ONNX Runtime runs.

Usage: export_corpus.py PQ_BINARY CORPUS_DIR WORK_DIR

For every model in CORPUS_DIR/manifest.json, on its own .npz:
- `pq run --batch 2` and ONNX Runtime (ort_batch.js, onnxruntime-node, same
  batching) agree within kMaxRelL2 relative L2 on every output. float16 models
  are held to kMaxRelL2Float16 instead: pq computes float16 models in float32
  while ORT computes in float16 (README, Known gaps); the measured value is
  printed;
- for every scheme `pq schemes --json` lists with format "onnx" (and, for the
  schemes that take --nf4-format / --int4-format, also their `onnx` form),
  `pq quantize` (with `--calib` on the model's .npz when the scheme calibrates
  activations) either exits 0, and then onnx.checker accepts the output
  (full_check; only the structural check for models with com.microsoft nodes,
  whose schemas Debian's python3-onnx 1.12 lacks; none above opset 17, which it
  does not know: opset-21 blocked DequantizeLinear and the opset-19
  DequantizeLinear/QuantizeLinear with float16 scales of float16 models; the
  skips are counted and printed), ONNX Runtime loads and runs it with finite outputs,
  and `pq run` on it agrees with ORT within kMaxRelL2Quantized; or it fails
  exactly as an entry of kExpectedRefusals says (exit code and message).
  Anything else fails the test: a crash, exit 1, an unexpected refusal, an
  expected refusal that now succeeds or fails differently (then update
  kExpectedRefusals), ORT refusing pq's output. float16 models (issue 15
  item 3: quantized like float32 ones, the dequantized side in float16) also
  run kHalfCases: the forms `pq schemes` does not list as a column
  (--weights-only, --weight-algo gptq/awq, --embeddings, --lm-head).
- `pq compare MODEL CANDIDATE --data` exits 0 (task auto), the candidate being
  the first quantized model written (the model itself when none is).
Prints a table (model x scheme: ok / refused as expected / FAIL) with the
failures below it, then `N passed, M failed`. The table's figure after `ok` is
the quantized model's relative L2 against the float model, both in ORT, for
information (random weights: no accuracy is asserted).
"""
import concurrent.futures
import json
import os
import re
import sys
import time

import numpy as np
import onnx

from interop_util import Checks, has_onnxruntime, run

kHere = os.path.dirname(os.path.abspath(__file__))
kMaxRelL2 = 1e-4
# pq runs float16 models in float32 (README, Known gaps); ORT rounds every
# float16 op's result. ort_equivalence.py uses the same bound for ORT's float16.
kMaxRelL2Float16 = 2e-3
# pq runs a quantized model's QDQ graph in float, ORT fuses integer kernels
# (requantizing in between): they differ by rounding (quantized_models.py).
kMaxRelL2Quantized = 2e-2
kBatch = 2
kWorkers = 2
kTimeoutSeconds = 120
# The checker of Debian's python3-onnx 1.12 knows default-domain opsets up to:
kCheckerMaxOpset = 17
# Scheme flags that choose the written form; each gets a column with this value.
kFormatFlags = {"--nf4-format": "onnx", "--int4-format": "onnx"}

# (model regex, case regex, exit code, stderr regex, reason): combinations pq
# refuses cleanly today. An entry that no longer matches what pq does fails.
kExpectedRefusals = []

# (case name, pq quantize flags, calibrates): what float16 models run besides
# the columns of `pq schemes`, so that every scheme form quantizes float16.
kHalfCases = [
    ("int8-sym/weights-only", ["--scheme", "int8-sym", "--weights-only"], False),
    ("int8-asym/weights-only", ["--scheme", "int8-asym", "--weights-only"], False),
    ("int4-sym/gptq", ["--scheme", "int4-sym", "--weight-algo", "gptq"], True),
    ("int4-asym/awq", ["--scheme", "int4-asym", "--weight-algo", "awq"], True),
    ("nf4/embeddings-4bit", ["--scheme", "nf4", "--embeddings", "4bit", "--lm-head", "int8"], False),
    ("int4-sym/embeddings-int8", ["--scheme", "int4-sym", "--int4-format", "onnx", "--embeddings", "int8"],
     False),
]
# Outputs that onnx.checker could not check (opset above kCheckerMaxOpset).
checker_skipped = []

# (model regex, ORT graphOptimizationLevel, reason): models whose ORT
# reference runs at a lower level than 'all' ('all' adds layout
# transformations to 'extended'; neither changes what the model computes).
kOrtOptimization = [
    (r"^rnn_.*_float16$", "extended",
     "ONNX Runtime 1.30 (onnxruntime-node) crashes with SIGSEGV at level 'all' on a float16 "
     "LSTM or GRU followed by a MatMul (torch's Linear), converted by make_fp16_model.py"),
]


def rel_l2(ref, got):
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64)
    if ref.shape != got.shape:
        return float("inf")
    denom = np.linalg.norm(ref)
    return float(np.linalg.norm(got - ref) / (denom if denom > 0 else 1.0))


def worst_rel_l2(reference, got):
    """Largest rel. L2 over the outputs of `reference` ({name: array}); inf when `got`
    lacks one."""
    return max(rel_l2(v, got[n]) if n in got else float("inf") for n, v in reference.items())


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def first_match(table, stem, *more):
    for entry in table:
        if re.search(entry[0], stem) and all(re.search(p, s) for p, s in zip(entry[1:], more)):
            return entry
    return None


def quantize_cases(pq):
    """[(case name, pq quantize flags, calibrates)]: each ONNX scheme `pq schemes --json`
    lists, and its kFormatFlags forms."""
    proc = run([pq, "schemes", "--json"], kTimeoutSeconds)
    if proc.returncode != 0:
        raise RuntimeError("pq schemes --json: " + proc.stderr.strip())
    cases = []
    for s in json.loads(proc.stdout):
        if s["format"] != "onnx":
            continue
        flags = ["--scheme", s["name"]]
        cases.append((s["name"], flags, s["calibrates_activations"]))
        for flag, value in kFormatFlags.items():
            if flag in s["options"]:
                cases.append(("%s/%s" % (s["name"], value), flags + [flag, value],
                              s["calibrates_activations"]))
    return cases


class Paths:
    """Where each file of a model and case lives."""

    def __init__(self, corpus, work, m):
        self.stem = m["file"][:-len(".onnx")]
        self.model = os.path.join(corpus, m["file"])
        self.data = os.path.join(corpus, m["data"])
        self.work = work

    def base(self, case=None):
        name = self.stem if case is None else "%s.%s" % (self.stem, case.replace("/", "-"))
        return os.path.join(self.work, name)


def pq_run_argv(pq, model, data, out):
    return [pq, "--quiet", "run", model, "--data", data, "--batch", str(kBatch), "-o", out,
            "--force"]


def run_pq_jobs(jobs):
    """Runs [(key, argv)] kWorkers at a time; returns {key: (exit code or None, stderr)}."""
    def one(job):
        key, argv = job
        try:
            proc = run(argv, kTimeoutSeconds)
            return key, proc.returncode, proc.stderr
        except Exception as e:  # noqa: BLE001 - a timeout is a failure like any other
            return key, None, str(e)

    with concurrent.futures.ThreadPoolExecutor(kWorkers) as pool:
        return {key: (code, err) for key, code, err in pool.map(one, jobs)}


def run_ort(jobs, work):
    """ort_batch.js over [(key, model, data, out_dir)], key = (stem, what); returns
    {key: error or None}. When ORT crashes the process, the job it was running gets
    the crash as its error and the batch goes on from the next job."""
    jobs_file = os.path.join(work, "ort_jobs.json")
    results_file = os.path.join(work, "ort_results.jsonl")
    errors = {}
    while len(errors) < len(jobs):
        pending = jobs[len(errors):]
        with open(jobs_file, "w") as f:
            json.dump([{"model": m, "data": d, "outDir": o, "batch": kBatch,
                        "optimization": (first_match(kOrtOptimization, key[0]) or
                                         (None, "all"))[1]}
                       for key, m, d, o in pending], f)
        proc = run(["node", os.path.join(kHere, "ort_batch.js"), jobs_file, results_file],
                   kTimeoutSeconds * 4)
        with open(results_file) as f:
            results = [json.loads(line) for line in f if line.strip()]
        for job, r in zip(pending, results):
            errors[job[0]] = None if r["ok"] else r["error"]
        if len(results) < len(pending):
            if proc.returncode == 0:
                raise RuntimeError("ort_batch.js ended early: " + proc.stderr.strip())
            how = ("signal %d" % -proc.returncode if proc.returncode < 0
                   else "exit %d" % proc.returncode)
            errors[pending[len(results)][0]] = "crashed (%s) %s" % (how, last_line(proc.stderr))
    return errors


def load_outputs(out_dir, names):
    return {n: np.load(os.path.join(out_dir, n + ".npy")) for n in names}


def check_with_onnx(path):
    """onnx.checker: full for standard-op models, structural for com.microsoft ones, none
    above kCheckerMaxOpset. Returns None or the checker's message."""
    model = onnx.load(path)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=0)
    if opset > kCheckerMaxOpset:
        checker_skipped.append((os.path.basename(path), opset))
        return None
    custom = any(n.domain not in ("", "ai.onnx") for n in model.graph.node)
    try:
        onnx.checker.check_model(model, full_check=not custom)
        return None
    except Exception as e:  # noqa: BLE001 - any checker failure is reported
        return last_line(str(e))


def check_run(checks, m, p, pq_results, ort_results):
    """pq run against ORT on the exported model. Returns (table cell, ORT's outputs or
    None)."""
    outputs = [o["name"] for o in m["outputs"]]
    code, err = pq_results[(p.stem, "run")]
    ort_error = ort_results[(p.stem, "float")]
    if ort_error is not None:
        checks.check(False, "%s: ONNX Runtime runs the exported model: %s" % (p.stem, ort_error))
        return "ORT FAIL", None
    reference = load_outputs(p.base() + ".ort", outputs)
    if code != 0:
        checks.check(False, "%s: pq run exit %s: %s" % (p.stem, code, last_line(err)))
        return "exit %s" % code, reference
    worst = worst_rel_l2(reference, np.load(p.base() + ".pq.npz"))
    bound = kMaxRelL2Float16 if m["dtype"] == "float16" else kMaxRelL2
    checks.check(worst <= bound, "%s: pq run vs ONNX Runtime, worst output rel. L2 %.2e "
                 "(bound %.0e)" % (p.stem, worst, bound))
    return "%.1e" % worst, reference


def check_quantized(checks, m, p, case, reference, pq_results, ort_results):
    """One `pq quantize` case. Returns (table cell, notes)."""
    code, err = pq_results[(p.stem, case)]
    expected = first_match(kExpectedRefusals, p.stem, case)
    tag = "%s %s" % (p.stem, case)
    if code != 0:
        message = last_line(err)
        if expected and code == expected[2] and re.search(expected[3], message):
            checks.check(True, "%s: refused as expected (exit %s, %s): %s"
                         % (tag, code, expected[4], message))
            return "refused %s" % code, []
        why = ("listed as exit %s /%s/ (%s)" % expected[2:5]) if expected else "unexpected"
        checks.check(False, "%s: exit %s (%s): %s" % (tag, code, why, message))
        return "FAIL %s" % code, ["%s: exit %s (%s): %s" % (tag, code, why, message)]
    problems = []
    if expected:
        problems.append("exits 0 but is listed as refused (%s)" % expected[4])
    checker = check_with_onnx(p.base(case) + ".onnx")
    if checker:
        problems.append("onnx.checker: " + checker)
    error, vs_float, agreement = ort_results[(p.stem, case)], None, None
    if error:
        problems.append("ONNX Runtime: " + error)
    else:
        q = load_outputs(p.base(case) + ".ort", [o["name"] for o in m["outputs"]])
        if not all(np.all(np.isfinite(v.astype(np.float64))) for v in q.values()):
            problems.append("ONNX Runtime's output is not finite")
        if reference is not None:
            vs_float = worst_rel_l2(reference, q)
        run_code, run_err = pq_results[(p.stem, case + " run")]
        if run_code != 0:
            problems.append("pq run on it: exit %s: %s" % (run_code, last_line(run_err)))
        else:
            agreement = worst_rel_l2(q, np.load(p.base(case) + ".pq.npz"))
            if agreement > kMaxRelL2Quantized:
                problems.append("pq run on it differs from ONNX Runtime: rel. L2 %.2e > %.0e"
                                % (agreement, kMaxRelL2Quantized))
    checks.check(not problems, "%s: exit 0, onnx.checker, ONNX Runtime runs it, pq run on it "
                 "vs ORT rel. L2 %s%s" % (tag, "-" if agreement is None else "%.1e" % agreement,
                                          "" if not problems else ": " + "; ".join(problems)))
    if problems:
        return "FAIL", ["%s: %s" % (tag, problem) for problem in problems]
    return ("ok %.0e" % vs_float) if vs_float is not None else "ok", []


def compare_candidate(p, written):
    for q, case in written:
        if q is p:
            return p.base(case) + ".onnx"
    return p.model


def check_compare(checks, p, pq_results):
    code, err = pq_results[(p.stem, "compare")]
    checks.check(code == 0, "%s: pq compare exit %s%s"
                 % (p.stem, code, "" if code == 0 else ": " + last_line(err)))
    return ("ok", []) if code == 0 else ("FAIL %s" % code, ["%s compare: exit %s: %s" % (
        p.stem, code, last_line(err))])


def print_table(header, table, notes):
    widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
    print()
    for r in [header] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print("(run vs ORT: pq run against ORT, worst rel. L2; ok E: the quantized model against "
          "the float one, both in ORT, rel. L2, information only)")
    for note in notes:
        print("  " + note)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    pq, corpus, work = sys.argv[1:4]
    if not has_onnxruntime():
        print("FAIL onnxruntime-node is not installed in tests/interop/node_modules")
        return 1
    start = time.time()
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(corpus, "manifest.json")) as f:
        models = json.load(f)["models"]
    paths = [Paths(corpus, work, m) for m in models]
    cases = quantize_cases(pq)
    all_cases = cases + kHalfCases

    def cases_of(m):
        return all_cases if m["dtype"] == "float16" else cases

    jobs = []
    for m, p in zip(models, paths):
        jobs.append(((p.stem, "run"), pq_run_argv(pq, p.model, p.data, p.base() + ".pq.npz")))
        for case, flags, calibrates in cases_of(m):
            jobs.append(((p.stem, case), [pq, "--quiet", "quantize", p.model, "-o",
                                          p.base(case) + ".onnx", "--force"] + flags +
                         (["--calib", p.data] if calibrates else [])))
    pq_results = run_pq_jobs(jobs)
    written = [(p, case) for m, p in zip(models, paths) for case, _, _ in cases_of(m)
               if pq_results[(p.stem, case)][0] == 0]
    pq_results.update(run_pq_jobs([
        ((p.stem, case + " run"),
         pq_run_argv(pq, p.base(case) + ".onnx", p.data, p.base(case) + ".pq.npz"))
        for p, case in written]))
    pq_results.update(run_pq_jobs([
        ((p.stem, "compare"), [pq, "--quiet", "compare", p.model, compare_candidate(p, written),
                               "--data", p.data]) for p in paths]))
    ort_jobs = [((p.stem, "float"), p.model, p.data, p.base() + ".ort") for p in paths]
    ort_jobs += [((p.stem, case), p.base(case) + ".onnx", p.data, p.base(case) + ".ort")
                 for p, case in written]
    ort_results = run_ort(ort_jobs, work)

    checks, table, notes = Checks(), [], []
    for m, p in zip(models, paths):
        cell, reference = check_run(checks, m, p, pq_results, ort_results)
        row = [p.stem, cell]
        for case, _, _ in all_cases:
            if case not in [c[0] for c in cases_of(m)]:
                row.append("-")
                continue
            cell, found = check_quantized(checks, m, p, case, reference, pq_results,
                                          ort_results)
            row.append(cell)
            notes += found
        cell, found = check_compare(checks, p, pq_results)
        table.append(row + [cell])
        notes += found
    print_table(["model", "run vs ORT"] + [c[0] for c in all_cases] + ["compare"], table, notes)
    print("onnx.checker skipped on %d quantized models above opset %d, which python3-onnx %s "
          "does not know (opsets: %s)" % (len(checker_skipped), kCheckerMaxOpset, onnx.__version__,
                                          sorted(set(o for _, o in checker_skipped))))
    for pattern, level, reason in kOrtOptimization:
        print("ORT reference at level '%s' for /%s/: %s" % (level, pattern, reason))
    print("%.1f s" % (time.time() - start))
    return checks.close()


if __name__ == "__main__":
    sys.exit(main())
