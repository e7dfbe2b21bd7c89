#!/usr/bin/python3
"""4-bit weights (nf4, int4-sym, int4-asym) on the sample transformer must run
in ONNX Runtime, agree with pq's executor, keep accuracy and stay small.

Usage: fourbit_models.py PQ_BINARY MODELS_DIR WORK_DIR

For models/fashion_vit.onnx quantized with `pq quantize --scheme nf4` (forms
ort = com.microsoft MatMulBnb4, onnx = standard ops, onnx with
--double-quant, ort with --fallback int8-sym) and int4-sym / int4-asym
(ort = com.microsoft MatMulNBits; onnx = INT4 / UINT4 read by an opset-21
DequantizeLinear with block_size), each also with --weight-algo gptq, and
nf4 ort / int4-asym onnx with --weight-algo awq (calibrated on
models/calib_images.npy):
- `pq quantize` exits 0 and writes the model and its report;
- onnx.checker.check_model(full_check=True) passes on models holding standard
  ops only; models with com.microsoft nodes, and opset-21 models (Debian's
  python3-onnx 1.12 knows opsets up to 17), are not checked and the line says
  why: ONNX Runtime loading and running them is their check;
- int4 onnx form: every scale, zero point, type, axis and block size in the
  report equals what the model holds (INT4 / UINT4 unpacked here, as
  python3-onnx 1.12's numpy_helper cannot);
- ONNX Runtime (onnxruntime-node) runs it on the 1000 validation images, and
  its logits equal `pq run`'s on the same model within kMaxRelL2 relative L2;
- top-1 accuracy (ORT) drops by <= kMaxAccuracyDropPoints against FP32;
- nf4: the quantized weights (packed codes + absmax, or the double-quantized
  absmax codes + their scales + offset, as the model stores them) take
  <= kMaxBytesPerParam bytes per parameter. int4's figure is printed: a float
  scale per 32 weights alone costs 0.125 bytes/param (and MatMulNBits pads
  every row to whole blocks), so it cannot reach it; the onnx form, which
  stores no row padding, must take no more bytes than the ort form.
Prints one line per check and closes with `N passed, M failed`.
"""
import hashlib
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
    ("int4-sym onnx", ["--scheme", "int4-sym", "--int4-format", "onnx"], True, False),
    ("int4-asym onnx", ["--scheme", "int4-asym", "--int4-format", "onnx"], True, False),
    # GPTQ rounding ({models} is MODELS_DIR): same formats, other codes.
    ("nf4 ort gptq", ["--scheme", "nf4", "--weight-algo", "gptq", "--calib",
                      "{models}/calib_images.npy"], False, True),
    ("int4-sym gptq", ["--scheme", "int4-sym", "--weight-algo", "gptq", "--calib",
                       "{models}/calib_images.npy"], False, False),
    ("int4-asym onnx gptq act-order", ["--scheme", "int4-asym", "--int4-format", "onnx",
                                       "--weight-algo", "gptq", "--gptq-act-order", "--calib",
                                       "{models}/calib_images.npy"], True, False),
    # AWQ: scaled weights, 1/s folded upstream or applied by an inserted Mul.
    ("nf4 ort awq", ["--scheme", "nf4", "--weight-algo", "awq", "--calib",
                     "{models}/calib_images.npy"], False, True),
    ("int4-asym onnx awq", ["--scheme", "int4-asym", "--int4-format", "onnx", "--weight-algo", "awq",
                            "--calib", "{models}/calib_images.npy"], True, False),
]
# The checker of Debian's python3-onnx 1.12 knows default-domain opsets up to:
kCheckerMaxOpset = 17


def default_opset(model):
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


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


def unpack4(raw, count, signed):
    """The first `count` values of INT4 / UINT4 raw_data (two per byte, the
    first in the low nibble)."""
    b = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
    v = np.empty(b.size * 2, dtype=np.int64)
    v[0::2] = b & 0xF
    v[1::2] = b >> 4
    v = v[:count]
    return np.where(v >= 8, v - 16, v) if signed else v


def same_values(reported, actual, dtype):
    """Whether a report array (or its --report-detail digest) is `actual`."""
    if isinstance(reported, dict):
        digest = hashlib.sha256(actual.astype(dtype).tobytes()).hexdigest()
        return digest == reported["sha256"] and actual.size == reported["count"]
    return np.array_equal(actual, np.array(reported).astype(actual.dtype))


def blocked_dq_problems(model_path, report_path):
    """Differences between the report and an --int4-format onnx model."""
    with open(report_path) as f:
        report = json.load(f)
    model = onnx.load(model_path)
    inits = {i.name: i for i in model.graph.initializer}
    dqs = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
    problems = []
    for t in report["tensors"]:
        w, name = t["written_as"], t["name"]
        if w.get("form") != "DequantizeLinear" or w["quantized"] not in inits:
            problems.append(f"{name}: not written as DequantizeLinear")
            continue
        q, s = inits[w["quantized"]], inits[w["scale"]]
        if q.data_type != {"int4": 22, "uint4": 21}.get(t["to_dtype"]) or list(q.dims) != t["shape"]:
            problems.append(f"{name}: {t['to_dtype']} {t['shape']} but the model holds type "
                            f"{q.data_type} {list(q.dims)}")
        scale = np.frombuffer(s.raw_data, dtype="<f4")
        zp = (unpack4(inits[w["zero_point"]].raw_data, scale.size, False) if w["zero_point"]
              else np.zeros(scale.size, dtype=np.int64))
        if not same_values(t["scale"], scale, "<f4"):
            problems.append(f"{name}: scale differs")
        if not same_values(t["zero_point"], zp, "<i8"):
            problems.append(f"{name}: zero point differs")
        dq = dqs.get(w["dequantized"])
        attrs = {a.name: a.i for a in dq.attribute} if dq is not None else {}
        if attrs.get("axis") != t["axis"] or attrs.get("block_size") != t["block_size"]:
            problems.append(f"{name}: axis/block_size {t['axis']}/{t['block_size']} but the "
                            f"DequantizeLinear has {attrs}")
    return len(report["tensors"]), problems


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
    stored_bytes = {}  # tag -> bytes the 4-bit weights take
    for tag, flags, standard, check_bytes in kCases:
        flags = [f.replace("{models}", models_dir) for f in flags]
        out = os.path.join(work_dir, tag.replace(" ", "_") + ".onnx")
        proc = run([pq, "--quiet", "quantize", fp32, "-o", out, "--force"] + flags, kTimeoutSeconds)
        checks.check(proc.returncode == 0,
                     f"{tag}: pq quantize exit {proc.returncode} {proc.stderr.strip()[-200:]}")
        if proc.returncode != 0:
            continue
        report = out[:-len(".onnx")] + ".report.json"
        checks.check(os.path.exists(report), f"{tag}: report written")
        if "--int4-format" in flags:
            count, problems = blocked_dq_problems(out, report)
            checks.check(count > 0 and not problems,
                         f"{tag}: report equals the model for {count} tensors "
                         + "; ".join(problems[:3]))
        opset = default_opset(onnx.load(out, load_external_data=False))
        if standard and opset > kCheckerMaxOpset:
            print(f"skip {tag}: onnx.checker (opset {opset}; python3-onnx {onnx.__version__} knows "
                  f"opsets up to {kCheckerMaxOpset}): ONNX Runtime loading it is the check")
        elif standard:
            checks.check_model(out, tag)
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
        stored_bytes[tag] = stored
        ort_form = tag[:-len(" onnx")] if tag.endswith(" onnx") else None
        if ort_form in stored_bytes:
            checks.check(stored <= stored_bytes[ort_form],
                         f"{tag}: {stored} bytes <= {stored_bytes[ort_form]} of {ort_form} "
                         "(no row padding)")
        text = (f"{tag}: 4-bit weights take {stored} bytes for {params} parameters = "
                f"{stored / params:.4f} bytes/param")
        if check_bytes:
            checks.check(stored / params <= kMaxBytesPerParam, f"{text} (<= {kMaxBytesPerParam})")
        else:
            print("info " + text)
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
