#!/usr/bin/python3
"""Every model `pq quantize` writes must pass onnx.checker, run in ONNX Runtime,
agree with pq's own executor, keep its accuracy, and shrink.

Usage: quantized_models.py PQ_BINARY MODELS_DIR WORK_DIR

For both sample models, each INT8 scheme, static (minmax and entropy
calibration on MODELS_DIR/calib_images.npy) and weights-only, and
int8-dynamic (activations quantized at run time):
- `pq quantize` exits 0 and writes the model and its report;
- onnx.checker.check_model(full_check=True) passes;
- ONNX Runtime (onnxruntime-node) runs it on the 1000 validation images, and
  its logits agree with `pq run` on the same quantized model: top-1 agreement
  >= kMinTop1Agreement and relative L2 <= kMaxRelL2 (ORT computes fused
  integer kernels, pq simulates the QDQ graph in float, so they differ by
  requantization rounding only);
- top-1 accuracy (ORT) drops by <= kMaxAccuracyDropPoints against the FP32
  model for static minmax and entropy;
- the quantized file is <= kMaxSizeRatio of the FP32 file, for both models.
  For the ViT (406.5 K parameters) the graph, its names, LayerNorm parameters,
  the position embedding and the added QDQ nodes are fixed costs that no 8-bit
  code removes (~50 KB of its ~460 KB INT8 file), so it is also checked that
  the quantized weights themselves (int8 values + scales + zero points, as the
  model stores them) take <= kMaxSizeRatio of their FP32 bytes;
- in ORT's optimized graph, the quantized Conv/Gemm nodes of the CNN are fused
  into integer kernels (QLinearConv, QGemm), every MatMul/Gemm int8-dynamic
  takes becomes DynamicQuantizeMatMul (both models), and the count of fused
  nodes is printed for every static model.
Prints one line per check and closes with `N passed, M failed`.
"""
import collections
import json
import os
import sys

import numpy as np
import onnx

from interop_util import Checks, has_onnxruntime, ort_logits, pq_logits, run

kHere = os.path.dirname(os.path.abspath(__file__))
kMinTop1Agreement = 0.99
kMaxRelL2 = 2e-2
kMaxAccuracyDropPoints = 1.0
kMaxSizeRatio = 0.30
kBatch = 100
kTimeoutSeconds = 900
kFusedOps = {"QLinearConv", "QGemm", "QLinearMatMul", "MatMulIntegerToFloat", "ConvInteger",
             "MatMulInteger", "DynamicQuantizeMatMul"}

OPTIMIZE_JS = r"""
const path = require('path');
const ort = require(path.join(process.argv[2], 'node_modules', 'onnxruntime-node'));
ort.InferenceSession.create(process.argv[3], {graphOptimizationLevel: 'all',
    optimizedModelFilePath: process.argv[4], intraOpNumThreads: 1})
  .catch((e) => { console.error(e.message); process.exit(1); });
"""


def fused_ops(model, work_dir):
    script = os.path.join(work_dir, "optimize.js")
    with open(script, "w") as f:
        f.write(OPTIMIZE_JS)
    optimized = model + ".ort_optimized.onnx"
    proc = run(["node", script, kHere, model, optimized], kTimeoutSeconds)
    if proc.returncode != 0:
        raise RuntimeError(f"ORT optimization of {model}: {proc.stderr.strip()}")
    counts = collections.Counter(n.op_type for n in onnx.load(optimized).graph.node)
    return {op: c for op, c in counts.items() if op in kFusedOps}


def weight_bytes(model_path, report_path):
    """Bytes the quantized weights take in the model (values, scales, zero
    points) and the FP32 bytes they replaced, from the report's records."""
    with open(report_path) as f:
        report = json.load(f)
    sizes = {i.name: len(i.raw_data) for i in onnx.load(model_path).graph.initializer}
    stored = original = 0
    for t in report["tensors"]:
        if t["role"] != "weight":
            continue
        written = t["written_as"]
        stored += sizes[written["quantized"]] + sizes[written["scale"]] + sizes[written["zero_point"]]
        original += 4 * int(np.prod(t["shape"]))
    return stored, original


def main(argv):
    pq, models_dir, work_dir = argv[1], argv[2], argv[3]
    if not has_onnxruntime():
        print("onnxruntime-node is missing: run `npm ci --ignore-scripts` in tests/interop")
        print("0 passed, 1 failed")
        return 1
    os.makedirs(work_dir, exist_ok=True)
    images = np.load(os.path.join(models_dir, "val_images.npy")).astype(np.float32)
    labels = np.load(os.path.join(models_dir, "val_labels.npy"))
    data = os.path.join(work_dir, "val.npz")
    np.savez(data, input=images)
    calib = os.path.join(models_dir, "calib_images.npy")
    checks = Checks()
    for name in ("fashion_cnn", "fashion_vit"):
        fp32 = os.path.join(models_dir, f"{name}.onnx")
        fp32_acc = float((pq_logits(pq, fp32, data, os.path.join(work_dir, f"{name}_fp32.npz"),
                                    kBatch, kTimeoutSeconds)
                          .argmax(1) == labels).mean())
        print(f"{name}: FP32 top-1 {100 * fp32_acc:.1f}%")
        runs = [(s, m) for s in ("int8-sym", "int8-asym") for m in ("minmax", "entropy", "weights-only")]
        runs.append(("int8-dynamic", "dynamic"))
        # --equalize and --bias-correction rewrite FP32 weights and biases
        # before QDQ: ORT must run the result and fuse it as without them.
        runs.append(("int8-asym", "equalize-bias-correction"))
        for scheme, mode in runs:
            tag = f"{name} {scheme} {mode}"
            out = os.path.join(work_dir, f"{name}_{scheme}_{mode}.onnx")
            cmd = [pq, "--quiet", "quantize", fp32, "-o", out, "--scheme", scheme, "--force"]
            if mode == "weights-only":
                cmd += ["--weights-only"]
            elif mode == "equalize-bias-correction":
                cmd += ["--calib", calib, "--equalize", "--bias-correction"]
            elif mode != "dynamic":
                cmd += ["--calib", calib, "--calib-method", mode]
            proc = run(cmd, kTimeoutSeconds)
            checks.check(proc.returncode == 0, f"{tag}: pq quantize exit {proc.returncode} "
                         f"{proc.stderr.strip()[-200:]}")
            if proc.returncode != 0:
                continue
            report = out[:-len(".onnx")] + ".report.json"
            checks.check(os.path.exists(report), f"{tag}: report written")
            checks.check_model(out, tag)
            try:
                ort = ort_logits(out, data, out + ".ort", kBatch, kTimeoutSeconds)
                mine = pq_logits(pq, out, data, out + ".pq.npz", kBatch, kTimeoutSeconds)
            except RuntimeError as e:
                checks.check(False, f"{tag}: {e}")
                continue
            agree = float((ort.argmax(1) == mine.argmax(1)).mean())
            rel = float(np.linalg.norm(ort - mine) / max(np.linalg.norm(ort), 1e-12))
            checks.check(agree >= kMinTop1Agreement and rel <= kMaxRelL2,
                         f"{tag}: ORT vs pq top-1 agreement {100 * agree:.1f}% "
                         f"(>= {100 * kMinTop1Agreement:.0f}%), rel L2 {rel:.2e} "
                         f"(<= {kMaxRelL2:.0e})")
            acc = float((ort.argmax(1) == labels).mean())
            drop = 100 * (fp32_acc - acc)
            if mode != "weights-only":
                checks.check(drop <= kMaxAccuracyDropPoints,
                             f"{tag}: top-1 {100 * acc:.1f}% (drop {drop:.2f} points, "
                             f"<= {kMaxAccuracyDropPoints})")
            else:
                print(f"info {tag}: top-1 {100 * acc:.1f}% (drop {drop:.2f} points)")
            ratio = os.path.getsize(out) / os.path.getsize(fp32)
            size_text = (f"{tag}: file {os.path.getsize(out)} bytes = {100 * ratio:.1f}% of "
                         f"FP32")
            checks.check(ratio <= kMaxSizeRatio, f"{size_text} (<= {100 * kMaxSizeRatio:.0f}%)")
            if name == "fashion_vit":
                stored, original = weight_bytes(out, report)
                checks.check(stored <= kMaxSizeRatio * original,
                             f"{tag}: quantized weights take {stored} bytes = "
                             f"{100 * stored / original:.1f}% of their FP32 {original} bytes "
                             f"(<= {100 * kMaxSizeRatio:.0f}%)")
            if mode != "weights-only":
                fused = fused_ops(out, work_dir)
                with open(report) as f:
                    nodes = json.load(f)["summary"]["nodes_quantized"]
                text = f"{tag}: ORT fused {sum(fused.values())} of {nodes} quantized nodes {fused}"
                # int8-dynamic: every MatMul/Gemm it takes must become
                # ORT's DynamicQuantizeMatMul, on both models.
                if name == "fashion_cnn" or mode == "dynamic":
                    checks.check(sum(fused.values()) == nodes, text)
                else:
                    print("info " + text)
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
