#!/usr/bin/python3
"""pq's executor must agree with ONNX Runtime, the reference, on every op family.

Usage: ort_equivalence.py PQ_BINARY MODELS_DIR WORK_DIR

Builds the op models of make_op_models.py, llm_op_models.py and
llama_block_model.py into WORK_DIR, adds the sample
models MODELS_DIR/fashion_cnn.onnx and fashion_vit.onnx (fed the first
kSampleImages images of MODELS_DIR/val_images.npy), runs each with
`pq run` and with `node ort_run.js` (onnxruntime-node, from this folder's
node_modules) at the same batch size, and compares every output:
relative L2 error ||pq - ort|| / max(||ort||, 1e-12) <= kFloatRelL2 for
float outputs (the model's own limit from llm_op_models.kRelL2ByModel where
one is set: a float16 model), exact equality for integer and bool
outputs, and the same shape and dtype always. Non-finite float values (NaN
from a softmax row that is entirely -inf, say) must be at the same places
with the same values; the relative L2 error covers the finite rest. A model
that pq refuses as unsupported fails.

Prints one line per model and output, then `N passed, M failed`; exits 1 if
anything failed or node_modules is missing.
"""
import os
import shutil
import subprocess
import sys

import numpy as np

import llama_block_model
import llm_op_models
import make_op_models

kHere = os.path.dirname(os.path.abspath(__file__))
kFloatRelL2 = 1e-4
kNormFloor = 1e-12
kSampleImages = 64
kSampleBatch = 8
kThreads = 1
kTimeoutSeconds = 600
kExitInvalidInput = 3  # pq's exit code for invalid (including unsupported) models


def relative_l2(actual, expected):
    diff = np.linalg.norm((actual.astype(np.float64) - expected.astype(np.float64)).ravel())
    return diff / max(np.linalg.norm(expected.astype(np.float64).ravel()), kNormFloor)


def compare(pq_value, ort_value, limit=kFloatRelL2):
    """Returns (ok, text) for one output."""
    if pq_value.dtype != ort_value.dtype:
        return False, f"dtype pq {pq_value.dtype} vs ort {ort_value.dtype}"
    if pq_value.shape != ort_value.shape:
        return False, f"shape pq {list(pq_value.shape)} vs ort {list(ort_value.shape)}"
    if np.issubdtype(ort_value.dtype, np.floating):
        finite = np.isfinite(ort_value)
        same = np.array_equal(pq_value[~finite], ort_value[~finite], equal_nan=True)
        if not same or not np.isfinite(pq_value[finite]).all():
            return False, (f"non-finite values differ: ort has {int((~finite).sum())}, "
                           f"pq {int((~np.isfinite(pq_value)).sum())}")
        err = relative_l2(pq_value[finite], ort_value[finite])
        note = f", {int((~finite).sum())} non-finite alike" if not finite.all() else ""
        return bool(err <= limit), f"rel L2 {err:.3e} (limit {limit:.0e}){note}"
    mismatch = int(np.count_nonzero(pq_value != ort_value))
    if mismatch == 0:
        return True, "exact"
    where = tuple(int(i) for i in np.argwhere(pq_value != ort_value)[0])
    return False, (f"{mismatch} of {ort_value.size} differ; first at {list(where)}: "
                   f"pq {pq_value[where]} vs ort {ort_value[where]}")


def tail(text, lines=6):
    return " | ".join(text.strip().splitlines()[-lines:])


def run_pq(pq, model, data, batch, out):
    cmd = [pq, "--quiet", "run", model, "--data", data, "--batch", str(batch),
           "--threads", str(kThreads), "-o", out, "--force"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=kTimeoutSeconds)
    if proc.returncode == 0:
        return None
    message = tail(proc.stderr + proc.stdout)
    if proc.returncode == kExitInvalidInput and "not supported" in message:
        return f"UNSUPPORTED by pq (exit 3): {message}"
    return f"pq run failed (exit {proc.returncode}): {message}"


def run_ort(model, data, batch, out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = ["node", os.path.join(kHere, "ort_run.js"), model, data, out_dir,
           "--batch", str(batch), "--threads", str(kThreads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=kTimeoutSeconds)
    if proc.returncode != 0:
        return f"ort_run.js failed (exit {proc.returncode}): {tail(proc.stderr + proc.stdout)}"
    return None


def sample_models(models_dir, work_dir):
    """The shipped sample models, fed the first kSampleImages validation images."""
    images = np.load(os.path.join(models_dir, "val_images.npy"))[:kSampleImages]
    data = os.path.join(work_dir, "fashion_images.npz")
    np.savez(data, input=images.astype(np.float32))
    return [(name, os.path.join(models_dir, f"{name}.onnx"), data, kSampleBatch)
            for name in ("fashion_cnn", "fashion_vit")]


def check_model(pq, name, model, data, batch, work_dir):
    """Returns [(ok, line)] for one model."""
    pq_out = os.path.join(work_dir, f"{name}.pq.npz")
    ort_dir = os.path.join(work_dir, f"{name}.ort")
    pq_error = run_pq(pq, model, data, batch, pq_out)
    ort_error = run_ort(model, data, batch, ort_dir)
    if ort_error:
        return [(False, f"{name}: {ort_error}")]
    if pq_error:
        return [(False, f"{name}: {pq_error}")]
    results = []
    with np.load(pq_out) as pq_arrays:
        pq_names = set(pq_arrays.files)
        ort_names = {f[:-4] for f in os.listdir(ort_dir) if f.endswith(".npy")}
        for output in sorted(ort_names | pq_names):
            if output not in pq_names or output not in ort_names:
                where = "pq" if output not in pq_names else "ort"
                results.append((False, f"{name}/{output}: missing from {where}'s outputs"))
                continue
            limit = llm_op_models.kRelL2ByModel.get(name, kFloatRelL2)
            ok, text = compare(pq_arrays[output], np.load(os.path.join(ort_dir, f"{output}.npy")),
                               limit)
            results.append((ok, f"{name}/{output}: {text}"))
    return results


def main(argv):
    if len(argv) != 4:
        sys.exit(f"usage: {argv[0]} PQ_BINARY MODELS_DIR WORK_DIR")
    pq, models_dir, work_dir = argv[1:]
    if not os.path.isdir(os.path.join(kHere, "node_modules", "onnxruntime-node")):
        print(f"node_modules is missing: run `npm ci --ignore-scripts` in {kHere}")
        print("0 passed, 1 failed")
        return 1
    os.makedirs(work_dir, exist_ok=True)
    families = make_op_models.kFamilies + llm_op_models.kFamilies + llama_block_model.kFamilies
    models = make_op_models.build_all(os.path.join(work_dir, "models"), families)
    models += sample_models(models_dir, work_dir)
    passed = failed = 0
    for name, model, data, batch in models:
        for ok, line in check_model(pq, name, model, data, batch, work_dir):
            print(f"{'PASS' if ok else 'FAIL'} {line}", flush=True)
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
