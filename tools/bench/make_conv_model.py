#!/usr/bin/python3
"""Writes a conv-heavy benchmark model with a 224x224 input (fixed seed).

Usage: make_conv_model.py OUT.onnx
A MobileNet/ResNet-like stack: strided 3x3 convs, BatchNormalization, Relu,
a depthwise + pointwise pair, MaxPool, GlobalAveragePool and a Gemm head.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    inits, nodes = [], []

    def weight(name, shape, scale=0.1):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def conv(x, cin, cout, k, stride, group=1, name=""):
        w = weight(f"{name}.w", (cout, cin // group, k, k), (2.0 / (cin // group * k * k)) ** 0.5)
        b = weight(f"{name}.b", (cout,), 0.01)
        y = f"{name}.y"
        nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4, group=group))
        return y

    def bn_relu(x, c, name):
        s = weight(f"{name}.scale", (c,), 0.1)
        inits[-1] = numpy_helper.from_array(np.abs(numpy_helper.to_array(inits[-1])) + 0.9, s)
        b = weight(f"{name}.bias", (c,), 0.1)
        m = weight(f"{name}.mean", (c,), 0.1)
        v = f"{name}.var"
        inits.append(numpy_helper.from_array(np.ones(c, np.float32), v))
        y = f"{name}.bn"
        nodes.append(helper.make_node("BatchNormalization", [x, s, b, m, v], [y], name=name + "_bn"))
        r = f"{name}.relu"
        nodes.append(helper.make_node("Relu", [y], [r], name=name + "_relu"))
        return r

    x = "input"
    x = bn_relu(conv(x, 3, 32, 3, 2, name="stem"), 32, "stem")            # 112
    x = bn_relu(conv(x, 32, 64, 3, 1, name="c1"), 64, "c1")
    x = bn_relu(conv(x, 64, 64, 3, 2, group=64, name="dw1"), 64, "dw1")   # 56
    x = bn_relu(conv(x, 64, 128, 1, 1, name="pw1"), 128, "pw1")
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[2, 2], strides=[2, 2]))
    x = bn_relu(conv("pool", 128, 128, 3, 1, name="c2"), 128, "c2")       # 28
    x = bn_relu(conv(x, 128, 256, 3, 2, name="c3"), 256, "c3")            # 14
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    weight("head.w", (1000, 256), 0.05)
    weight("head.b", (1000,), 0.01)
    nodes.append(helper.make_node("Gemm", ["flat", "head.w", "head.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "conv224",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="pq-bench")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
