#!/usr/bin/python3
"""Weights inside If/Loop/Scan bodies: pq quantizes them and ONNX Runtime runs the result.

Usage: body_weight_models.py PQ_BINARY WORK_DIR

Builds (onnx.helper) one model holding an If whose then-branch MatMul reads a
main-graph weight that a main-graph MatMul reads too and whose else-branch
MatMul reads a weight of its own, a Loop whose body MatMul reads a Constant
node, and a Scan whose body MatMul reads a main-graph weight used nowhere
else; in float32 at opset 17 and in float16 at opset 17 (pq raises it to 19 for float16 scales). Each is quantized by
every weight scheme (and int8-sym static with --calib); for each result:
onnx.checker (full_check) passes when it knows the opset, the report lists the body weights with
their body path (and, static, the body activations: the data runs every body), ONNX Runtime (ort_run.js) runs it within kMaxRelL2 of the
FP32 model on ONNX Runtime, and `pq run` agrees with ONNX Runtime within
kMaxRelL2PqOrt. Samples alternate in sign so that the If takes both branches.
Prints one line per check, then `N passed, M failed`.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from interop_util import Checks, has_onnxruntime, run

kHere = os.path.dirname(os.path.abspath(__file__))
kK, kN, kRows = 64, 32, 4
kSamples = 6
kTimeout = 300
# Quantized vs FP32 outputs (both on ONNX Runtime), rel L2: 8-bit weights,
# 8-bit weights and activations (static: the input of each of the seven
# MatMul runs is rounded too; measured 0.034), and 4-bit weights.
kMaxRelL2 = {"8": 0.03, "8s": 0.05, "4": 0.25}
# pq's executor vs ONNX Runtime on the same quantized model (float32 model;
# float16 models round each op's output to float16 on ORT's side).
kMaxRelL2PqOrt = {T.FLOAT: 1e-4, T.FLOAT16: 1e-2}
# The checker of Debian's python3-onnx 1.12 knows default-domain opsets up to
# this one; a model above it (float16 scales need 19, blocked
# DequantizeLinear 21) is run by ONNX Runtime but not checked.
kCheckerMaxOpset = 17
# Body weights of the model: (tensor, body path).
kBodyWeights = [("W_shared", "If 'gate'/then_branch"), ("W_else", "If 'gate'/else_branch"),
                ("Wl", "Loop 'repeat'/body"), ("W_scan", "Scan 'rows'/body")]
# Body activations a static scheme quantizes when the data runs every body.
kBodyActivations = [("x", "If 'gate'/then_branch"), ("x", "If 'gate'/else_branch"),
                    ("y_in", "Loop 'repeat'/body"), ("r", "Scan 'rows'/body")]
kSchemes = [("int8-sym", ["--weights-only"], "8"), ("int8-asym", ["--weights-only"], "8"),
            ("int8-sym-static", ["--calib"], "8s"), ("int8-dynamic", [], "8"),
            ("nf4", [], "4"), ("nf4", ["--nf4-format", "onnx"], "4"),
            ("int4-sym", [], "4"), ("int4-asym", [], "4"), ("int4-sym", ["--int4-format", "onnx"], "4")]


def weight(rng, name, shape, dtype):
    return nh.from_array((rng.standard_normal(shape) / np.sqrt(shape[0])).astype(dtype), name)


def build(elem, opset):
    """The model with the four body weights, of element type `elem`."""
    dtype = np.float16 if elem == T.FLOAT16 else np.float32
    rng = np.random.default_rng(3)
    then_g = h.make_graph([h.make_node("MatMul", ["x", "W_shared"], ["t_out"], name="then_mm")], "then", [],
                          [h.make_tensor_value_info("t_out", elem, None)])
    else_g = h.make_graph([h.make_node("MatMul", ["x", "W_else"], ["e_out"], name="else_mm")], "else", [],
                          [h.make_tensor_value_info("e_out", elem, None)],
                          initializer=[weight(rng, "W_else", (kK, kN), dtype)])
    wl = (rng.standard_normal((kN, kN)) / np.sqrt(kN)).astype(dtype)
    loop_body = h.make_graph(
        [h.make_node("Constant", [], ["Wl"], value=nh.from_array(wl, "Wl")),
         h.make_node("MatMul", ["y_in", "Wl"], ["mm"], name="loop_mm"),
         h.make_node("Tanh", ["mm"], ["y_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"])], "loop_body",
        [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
         h.make_tensor_value_info("y_in", elem, None)],
        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("y_out", elem, None)])
    scan_body = h.make_graph(
        [h.make_node("MatMul", ["r", "W_scan"], ["rm"], name="scan_mm"), h.make_node("Add", ["s", "rm"], ["s_out"]),
         h.make_node("Identity", ["rm"], ["scan_out"])], "scan_body",
        [h.make_tensor_value_info("s", elem, [kN]), h.make_tensor_value_info("r", elem, [kN])],
        [h.make_tensor_value_info("s_out", elem, [kN]), h.make_tensor_value_info("scan_out", elem, [kN])])
    nodes = [
        h.make_node("ReduceSum", ["x"], ["xs"], keepdims=0),
        h.make_node("Greater", ["xs", "zero"], ["c"]),
        h.make_node("If", ["c"], ["if_out"], name="gate", then_branch=then_g, else_branch=else_g),
        h.make_node("MatMul", ["x", "W_shared"], ["main_mm"], name="main_mm"),
        h.make_node("Add", ["if_out", "main_mm"], ["z"]),
        h.make_node("Loop", ["trip", "", "z"], ["loop_out"], name="repeat", body=loop_body),
        h.make_node("Scan", ["s0", "loop_out"], ["s_final", "scan_rows"], name="rows", body=scan_body,
                    num_scan_inputs=1),
    ]
    graph = h.make_graph(
        nodes, "bodies", [h.make_tensor_value_info("x", elem, [kRows, kK])],
        [h.make_tensor_value_info("s_final", elem, [kN]), h.make_tensor_value_info("scan_rows", elem, [kRows, kN])],
        initializer=[weight(rng, "W_shared", (kK, kN), dtype), weight(rng, "W_scan", (kN, kN), dtype),
                     nh.from_array(np.array(0, dtype), "zero"), nh.from_array(np.array(3, np.int64), "trip"),
                     nh.from_array(np.zeros(kN, dtype), "s0")])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def rel_l2(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)


def ort_outputs(model, data, out_dir, checks, tag):
    proc = run(["node", os.path.join(kHere, "ort_run.js"), model, data, out_dir, "--batch", "1"], kTimeout)
    checks.check(proc.returncode == 0, f"{tag}: ONNX Runtime runs it (exit {proc.returncode}) "
                 f"{proc.stderr.strip()[-300:]}")
    if proc.returncode != 0:
        return None
    return {n: np.load(os.path.join(out_dir, f"{n}.npy")) for n in ("s_final", "scan_rows")}


def check_report(report_path, checks, tag, static):
    """The report lists every body weight with its body path; in a static
    scheme (the data takes both branches) every body activation too, with
    nothing left uncalibrated."""
    with open(report_path) as f:
        report = json.load(f)
    listed = {(t["name"], t.get("graph")) for t in report["tensors"] if t["role"] == "weight"}
    missing = [w for w in kBodyWeights if w not in listed]
    checks.check(not missing, f"{tag}: report lists the body weights with their paths (missing {missing})")
    if not static:
        return
    listed = {(t["name"], t.get("graph")) for t in report["tensors"] if t["role"] == "activation"}
    missing = [a for a in kBodyActivations if a not in listed]
    checks.check(not missing, f"{tag}: report lists the body activations with their paths (missing {missing})")
    uncalibrated = [s for s in report.get("skipped", []) if "not calibrated" in s.get("reason", "")]
    checks.check(not uncalibrated, f"{tag}: no activation left uncalibrated ({uncalibrated[:2]})")


def check_scheme(pq, work, fp32_path, data, reference, elem, scheme, extra, bits, checks):
    name = scheme if scheme != "int8-sym-static" else "int8-sym"
    tag = f"{os.path.basename(fp32_path)[:-5]} {scheme} {' '.join(x for x in extra if x != '--calib')}".strip()
    out = os.path.join(work, tag.replace(" ", "_") + ".onnx")
    args = [a if a != "--calib" else "--calib" for a in extra]
    if "--calib" in extra:
        args = ["--calib", data]
    cmd = [pq, "--quiet", "quantize", fp32_path, "-o", out, "--scheme", name, "--force"] + args
    proc = run(cmd, kTimeout)
    checks.check(proc.returncode == 0, f"{tag}: pq quantize exit {proc.returncode} {proc.stderr.strip()[-300:]}")
    if proc.returncode != 0:
        return
    opset = max(o.version for o in onnx.load(out).opset_import if o.domain in ("", "ai.onnx"))
    if opset <= kCheckerMaxOpset:
        checks.check_model(out, tag)
    else:
        print(f"note {tag}: onnx.checker not run (opset {opset} > {kCheckerMaxOpset}, onnx 1.12)")
    check_report(out[:-5] + ".report.json", checks, tag, "--calib" in extra)
    ort = ort_outputs(out, data, out[:-5] + ".ort", checks, tag)
    if ort is None:
        return
    err = max(rel_l2(ort[n], reference[n]) for n in reference)
    checks.check(err <= kMaxRelL2[bits], f"{tag}: ONNX Runtime quantized vs FP32 rel L2 {err:.4f} "
                 f"(limit {kMaxRelL2[bits]})")
    pq_out = out[:-5] + ".pq.npz"
    proc = run([pq, "--quiet", "run", out, "--data", data, "--batch", "1", "-o", pq_out, "--force"], kTimeout)
    checks.check(proc.returncode == 0, f"{tag}: pq run exit {proc.returncode} {proc.stderr.strip()[-300:]}")
    if proc.returncode != 0:
        return
    ours = np.load(pq_out)
    err = max(rel_l2(ours[n], ort[n]) for n in ort)
    checks.check(err <= kMaxRelL2PqOrt[elem], f"{tag}: pq run vs ONNX Runtime rel L2 {err:.2e} "
                 f"(limit {kMaxRelL2PqOrt[elem]:.0e})")


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} PQ_BINARY WORK_DIR")
    pq, work = argv[1], argv[2]
    if not has_onnxruntime():
        print("SKIP: onnxruntime-node is not installed in tests/interop/node_modules")
        return 0
    os.makedirs(work, exist_ok=True)
    checks = Checks()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((kSamples, kRows, kK))
    x *= np.where(np.arange(kSamples) % 2 == 0, 1.0, -1.0).reshape(-1, 1, 1) + 0.1
    for elem, opset, suffix in ((T.FLOAT, 17, "fp32"), (T.FLOAT16, 17, "fp16")):
        dtype = np.float16 if elem == T.FLOAT16 else np.float32
        fp32_path = os.path.join(work, f"bodies_{suffix}.onnx")
        onnx.save(build(elem, opset), fp32_path)
        data = os.path.join(work, f"bodies_{suffix}.npz")
        np.savez(data, x=x.astype(dtype))
        reference = ort_outputs(fp32_path, data, os.path.join(work, f"bodies_{suffix}.ort"), checks,
                                f"bodies_{suffix} FP32")
        if reference is None:
            continue
        for scheme, extra, bits in kSchemes:
            check_scheme(pq, work, fp32_path, data, reference, elem, scheme, extra, bits, checks)
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
