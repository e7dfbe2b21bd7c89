#!/usr/bin/python3
"""4-bit weights (nf4, int4-sym, int4-asym) on the sample transformer must run
in ONNX Runtime, agree with pq's executor, keep accuracy and stay small.

Usage: fourbit_models.py PQ_BINARY MODELS_DIR WORK_DIR

For models/fashion_vit.onnx quantized with `pq quantize --scheme nf4` (forms
ort = com.microsoft MatMulBnb4, onnx = standard ops, onnx with
--double-quant, ort with --fallback int8-sym) and int4-sym / int4-asym
(com.microsoft MatMulNBits):
- `pq quantize` exits 0 and writes the model and its report;
- onnx.checker.check_model(full_check=True) passes on models holding standard
  ops only; models with com.microsoft nodes are not checked (Debian's
  python3-onnx 1.12 has no schema for them) and the line says so;
- ONNX Runtime (onnxruntime-node) runs it on the 1000 validation images, and
  its logits equal `pq run`'s on the same model within kMaxRelL2 relative L2;
- top-1 accuracy (ORT) drops by <= kMaxAccuracyDropPoints against FP32;
- nf4: the quantized weights (packed codes + absmax, or the double-quantized
  absmax codes + their scales + offset, as the model stores them) take
  <= kMaxBytesPerParam bytes per parameter. int4's figure is printed: its
  MatMulNBits keeps a float32 scale per 32-weight block (0.125 bytes/param on
  top of the 0.5 of the codes), so it cannot reach it.
Prints one line per check and closes with `N passed, M failed`.
"""
import json
import os
import sys

import numpy as np
import onnx

from interop_util import Checks, has_onnxruntime, ort_logits, pq_logits, run

kHere = os.path.dirname(os.path.abspath(__file__))
kMaxRelL2 = 1e-4
kMaxAccuracyDropPoints = 2.0
kMaxBytesPerParam = 0.57
kBatch = 100
kTimeoutSeconds = 600

# (tag, pq quantize flags, standard ops only, bytes/param checked)
kCases = [
    ("nf4 ort", ["--scheme", "nf4"], False, True),
    ("nf4 onnx", ["--scheme", "nf4", "--nf4-format", "onnx"], True, True),
    ("nf4 onnx double-quant", ["--scheme", "nf4", "--nf4-format", "onnx", "--double-quant"],
     True, True),
    ("nf4 ort fallback int8-sym", ["--scheme", "nf4", "--fallback", "int8-sym"], False, True),
    ("int4-sym", ["--scheme", "int4-sym"], False, False),
    ("int4-asym", ["--scheme", "int4-asym"], False, False),
]


def blockwise_bytes(model_path, report_path):
    """Bytes the blockwise weights take in the model and their parameter
    count, from the initializers the report names."""
    with open(report_path) as f:
        report = json.load(f)
    sizes = {i.name: len(i.raw_data) for i in onnx.load(model_path).graph.initializer}
    stored = params = 0
    for t in report["tensors"]:
        if t["role"] != "weight" or t["granularity"] != "per-block":
            continue
        written = t["written_as"]
        names = [written["quantized"], written["scale"], written["zero_point"]]
        if t.get("double_quant"):
            names += [t["double_quant"]["scales_name"], t["double_quant"]["offset_name"]]
        stored += sum(sizes[n] for n in names if n)
        params += int(np.prod(t["shape"]))
    return stored, params


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
    fp32 = os.path.join(models_dir, "fashion_vit.onnx")
    fp32_acc = float((pq_logits(pq, fp32, data, os.path.join(work_dir, "fp32.npz"), kBatch,
                                kTimeoutSeconds)
                      .argmax(1) == labels).mean())
    print(f"fashion_vit: FP32 top-1 {100 * fp32_acc:.1f}%")
    checks = Checks()
    for tag, flags, standard, check_bytes in kCases:
        out = os.path.join(work_dir, tag.replace(" ", "_") + ".onnx")
        proc = run([pq, "--quiet", "quantize", fp32, "-o", out, "--force"] + flags, kTimeoutSeconds)
        checks.check(proc.returncode == 0,
                     f"{tag}: pq quantize exit {proc.returncode} {proc.stderr.strip()[-200:]}")
        if proc.returncode != 0:
            continue
        report = out[:-len(".onnx")] + ".report.json"
        checks.check(os.path.exists(report), f"{tag}: report written")
        if standard:
            try:
                onnx.checker.check_model(onnx.load(out), full_check=True)
                checks.check(True, f"{tag}: onnx.checker")
            except Exception as e:  # noqa: BLE001 - any checker failure fails the check
                checks.check(False, f"{tag}: onnx.checker: {e}")
        else:
            print(f"skip {tag}: onnx.checker (com.microsoft nodes; python3-onnx 1.12 has no "
                  "schema for them)")
        try:
            ort = ort_logits(out, data, out + ".ort", kBatch, kTimeoutSeconds)
            mine = pq_logits(pq, out, data, out + ".pq.npz", kBatch, kTimeoutSeconds)
        except RuntimeError as e:
            checks.check(False, f"{tag}: {e}")
            continue
        rel = float(np.linalg.norm(ort - mine) / max(np.linalg.norm(ort), 1e-12))
        checks.check(rel <= kMaxRelL2, f"{tag}: ORT vs pq rel L2 {rel:.2e} (<= {kMaxRelL2:.0e})")
        acc = float((ort.argmax(1) == labels).mean())
        drop = 100 * (fp32_acc - acc)
        checks.check(drop <= kMaxAccuracyDropPoints,
                     f"{tag}: top-1 {100 * acc:.1f}% (drop {drop:.2f} points, "
                     f"<= {kMaxAccuracyDropPoints})")
        stored, params = blockwise_bytes(out, report)
        text = (f"{tag}: 4-bit weights take {stored} bytes for {params} parameters = "
                f"{stored / params:.4f} bytes/param")
        if check_bytes:
            checks.check(stored / params <= kMaxBytesPerParam, f"{text} (<= {kMaxBytesPerParam})")
        else:
            print("info " + text)
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
