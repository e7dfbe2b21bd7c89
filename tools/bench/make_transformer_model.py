#!/usr/bin/python3
"""Writes a large transformer-shaped FP32 model with external data.

Usage: make_transformer_model.py OUT.onnx [--gb SIZE] [--dim D]
Layers of [D, D] x 4 (attention projections) and [D, 4D], [4D, D] (MLP)
MatMul weights chained with residual Adds, until the weights reach SIZE GiB
(default 1.0). Fixed seed. Weights go to OUT.onnx.data (external data), so
the model loads without protobuf's 2 GiB limit.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--dim", type=int, default=1024)
    args = parser.parse_args()
    d = args.dim
    per_layer = (4 * d * d + 8 * d * d) * 4
    layers = max(1, int(np.ceil(args.gb * (1 << 30) / per_layer)))
    rng = np.random.default_rng(11)
    inits, nodes = [], []
    x = "x"
    for layer in range(layers):
        shapes = [("q", d, d), ("k", d, d), ("v", d, d), ("o", d, d), ("up", d, 4 * d), ("down", 4 * d, d)]
        h = x
        for name, rows, cols in shapes:
            w = f"l{layer}.{name}.weight"
            inits.append(numpy_helper.from_array(
                (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02), w))
            out = f"l{layer}.{name}"
            nodes.append(helper.make_node("MatMul", [h, w], [out], name=f"l{layer}/{name}"))
            h = out
        y = f"l{layer}.out"
        nodes.append(helper.make_node("Add", [x, h], [y], name=f"l{layer}/residual"))
        x = y
    graph = helper.make_graph(
        nodes, "transformer_bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", d])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "seq", d])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pq-bench")
    model.ir_version = 8
    location = os.path.basename(args.out) + ".data"
    onnx.save_model(model, args.out, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=1024)
    print(f"{args.out}: {layers} layers, {sum(i.dims[0] * i.dims[1] for i in inits) * 4 / 2**30:.2f} GiB "
          "of FP32 weights")


if __name__ == "__main__":
    main()
