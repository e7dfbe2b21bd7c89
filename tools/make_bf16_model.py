#!/usr/bin/python3
"""Convert a float32 ONNX model to a bfloat16 one: every float32 initializer, Constant-node
tensor, graph input/output and value_info becomes bfloat16 (rounded to nearest, ties to even),
and Cast nodes to float32 cast to bfloat16 instead. Integer tensors are unchanged.

ONNX Runtime's CPU provider cannot run the result (it has no bfloat16 kernel for Where,
MatMul, DequantizeLinear, ...); pq's executor can, which is how the README's bfloat16 figures
were measured:

  /usr/bin/python3 tools/make_bf16_model.py models/tiny_llm/tiny_llm_optimum.onnx /tmp/llm_bf16.onnx
"""

import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402


def to_bfloat16(tensor):
    """A float32 TensorProto as a bfloat16 one (round to nearest, ties to even)."""
    values = np.ascontiguousarray(numpy_helper.to_array(tensor).astype(np.float32)).reshape(-1)
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    out = TensorProto()
    out.name = tensor.name
    out.data_type = TensorProto.BFLOAT16
    out.dims.extend(tensor.dims)
    out.raw_data = rounded.astype(np.uint16).tobytes()
    return out


def convert(model):
    """Converts a ModelProto in place and returns it."""
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(to_bfloat16(init))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(to_bfloat16(attr.t))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.BFLOAT16
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.BFLOAT16
    return model


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: make_bf16_model.py IN.onnx OUT.onnx\n")
        return 2
    onnx.save(convert(onnx.load(sys.argv[1])), sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
