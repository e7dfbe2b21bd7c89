#!/usr/bin/python3
"""pq inspect --json must agree with python3-onnx's view of the sample models.

Usage: inspect_vs_onnx.py PQ_BINARY MODELS_DIR
Checks every *.onnx in MODELS_DIR: ir_version, opsets, producer, inputs
(initializers excluded) and outputs with dtype and shape, node counts by op
type, parameter count, and the checker's verdict. Exits non-zero on any
disagreement, or when MODELS_DIR holds no model.
"""
import collections
import glob
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def dtype_name(elem_type):
    return onnx.TensorProto.DataType.Name(elem_type).lower()


def shape_of(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(d.dim_value)
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def expected_view(path):
    model = onnx.load(path)
    onnx.checker.check_model(model)
    g = model.graph
    inits = {i.name for i in g.initializer}
    ops = collections.Counter(
        n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}" for n in g.node)
    params = sum(int(np.prod(i.dims)) for i in g.initializer)
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    params += int(np.prod(a.t.dims))
    return {
        "ir_version": model.ir_version,
        "opsets": [{"domain": o.domain or "ai.onnx", "version": o.version} for o in model.opset_import],
        "producer": {"name": model.producer_name, "version": model.producer_version},
        "inputs": [{"name": i.name, "dtype": dtype_name(i.type.tensor_type.elem_type),
                    "shape": shape_of(i)} for i in g.input if i.name not in inits],
        "outputs": [{"name": o.name, "dtype": dtype_name(o.type.tensor_type.elem_type),
                     "shape": shape_of(o)} for o in g.output],
        "node_total": len(g.node),
        "by_op_type": dict(ops),
        "param_count": params,
    }


def main():
    pq, models_dir = sys.argv[1], sys.argv[2]
    paths = sorted(glob.glob(os.path.join(models_dir, "*.onnx")))
    if not paths:
        print(f"no .onnx models in {models_dir}", file=sys.stderr)
        return 1
    failures = 0
    for path in paths:
        out = subprocess.run([pq, "inspect", "--json", path], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL {path}: pq exited {out.returncode}: {out.stderr.strip()}")
            failures += 1
            continue
        doc = json.loads(out.stdout)
        want = expected_view(path)
        got = {
            "ir_version": doc["ir_version"],
            "opsets": doc["opsets"],
            "producer": doc["producer"],
            "inputs": doc["inputs"],
            "outputs": doc["outputs"],
            "node_total": doc["nodes"]["total"],
            "by_op_type": doc["nodes"]["by_op_type"],
            "param_count": doc["parameters"]["count"],
        }
        for key in want:
            if want[key] != got[key]:
                print(f"FAIL {os.path.basename(path)} {key}: onnx says {want[key]!r}, pq says {got[key]!r}")
                failures += 1
        print(f"checked {os.path.basename(path)}: {len(want)} facts, "
              f"{want['node_total']} nodes, {want['param_count']} parameters")
    print(f"{len(paths) * 8 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
