"""Writes a small depthwise-separable CNN with random weights (fixed seed), the
case cross-layer equalization (`pq quantize --equalize`) is meant for.

Usage: make_separable_cnn.py OUT.onnx [relu|relu6]
Graph (opset 13, input `input` [batch, 1, 28, 28], output `logits` [batch, 10]):
  Conv(1->16, 3x3, stride 2) -> BN -> act
  [depthwise Conv(C, 3x3) -> BN -> act -> pointwise Conv(C->2C) -> BN -> act] x 2  (16->32->64)
  GlobalAveragePool -> Flatten -> Gemm(64->10)
act is Relu, or Clip(0, 6) (Relu6, as MobileNetV2 exports) with `relu6`. Each
BatchNormalization's scale is log-uniform over [0.01, 10] per channel, as in trained
MobileNets whose depthwise channels span decades once BN is folded: what makes
per-tensor weight quantization of such models fail. The weights are random, so the
figures are output SQNR against this FP32 model, not accuracy.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def main():
    out = sys.argv[1]
    act_kind = sys.argv[2] if len(sys.argv) > 2 else "relu"
    rng = np.random.default_rng(7)
    inits, nodes = [], []

    def tensor(name, values):
        inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.float32), name))
        return name

    def conv_bn_act(x, name, cin, cout, group, kernel, stride):
        fan_in = cin // group * kernel * kernel
        w = tensor(f"{name}.weight", rng.standard_normal((cout, cin // group, kernel, kernel)) * (2.0 / fan_in) ** 0.5)
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", [x, w], [name], kernel_shape=[kernel, kernel], group=group,
                                      strides=[stride, stride], pads=[pad] * 4))
        bn = [tensor(f"{name}.bn.scale", 10.0 ** rng.uniform(-2, 1, cout)),
              tensor(f"{name}.bn.bias", rng.standard_normal(cout) * 0.1),
              tensor(f"{name}.bn.mean", rng.standard_normal(cout) * 0.1),
              tensor(f"{name}.bn.var", rng.uniform(0.5, 2.0, cout))]
        nodes.append(helper.make_node("BatchNormalization", [name] + bn, [f"{name}.bn"]))
        if act_kind == "relu6":
            nodes.append(helper.make_node("Clip", [f"{name}.bn", tensor(f"{name}.lo", 0.0),
                                                   tensor(f"{name}.hi", 6.0)], [f"{name}.act"]))
        else:
            nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.act"]))
        return f"{name}.act"

    x = conv_bn_act("input", "stem", 1, 16, 1, 3, 2)
    channels = 16
    for i in range(2):
        x = conv_bn_act(x, f"dw{i}", channels, channels, channels, 3, 1 + i)
        x = conv_bn_act(x, f"pw{i}", channels, 2 * channels, 1, 1, 1)
        channels *= 2
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", tensor("fc.weight", rng.standard_normal((10, channels)) * 0.3),
                                           tensor("fc.bias", np.zeros(10))], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "separable_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
