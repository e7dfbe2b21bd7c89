"""Writes a small Fashion-MNIST-shaped CNN with random weights (fixed seed).

Usage: make_small_cnn.py OUT.onnx C1 C2 FC
Graph (opset 13, input `input` [batch, 1, 28, 28], output `logits` [batch, 10]):
  Conv(1->C1, 3x3) -> BatchNormalization -> Relu -> MaxPool(2x2)
  Conv(C1->C2, 3x3) -> BatchNormalization -> Relu -> MaxPool(2x2)
  Flatten -> Gemm(C2*49->FC) -> Relu -> Gemm(FC->10)
The same layout as the sample CNN, at any width: int8_latency.sh uses it to show how
ONNX Runtime's INT8 speed-up depends on the channel counts (weights do not matter for
speed, so they are random).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def main():
    out, c1, c2, fc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(5)
    inits, nodes = [], []

    def tensor(name, values):
        inits.append(numpy_helper.from_array(values.astype(np.float32), name))
        return name

    def random(name, shape, scale):
        return tensor(name, rng.standard_normal(shape) * scale)

    def block(x, cin, cout, i):
        w = random(f"conv{i}.weight", (cout, cin, 3, 3), (2.0 / (cin * 9)) ** 0.5)
        b = random(f"conv{i}.bias", (cout,), 0.01)
        nodes.append(helper.make_node("Conv", [x, w, b], [f"conv{i}"], kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        bn = [tensor(f"bn{i}.weight", np.ones(cout)), random(f"bn{i}.bias", (cout,), 0.1),
              random(f"bn{i}.mean", (cout,), 0.1), tensor(f"bn{i}.var", np.ones(cout))]
        nodes.append(helper.make_node("BatchNormalization", [f"conv{i}"] + bn, [f"bn{i}"]))
        nodes.append(helper.make_node("Relu", [f"bn{i}"], [f"relu{i}"]))
        nodes.append(helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], kernel_shape=[2, 2],
                                      strides=[2, 2]))
        return f"pool{i}"

    x = block(block("input", 1, c1, 1), c1, c2, 2)
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", random("fc1.weight", (fc, c2 * 49), (2.0 / (c2 * 49)) ** 0.5),
                                           random("fc1.bias", (fc,), 0.01)], ["fc1"], transB=1))
    nodes.append(helper.make_node("Relu", ["fc1"], ["fc1_relu"]))
    nodes.append(helper.make_node("Gemm", ["fc1_relu", random("fc2.weight", (10, fc), (1.0 / fc) ** 0.5),
                                           random("fc2.bias", (10,), 0.01)], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
