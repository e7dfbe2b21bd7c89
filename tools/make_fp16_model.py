#!/usr/bin/python3
"""Convert a float32 ONNX model to float16 weights and float16 float-typed I/O.

Every float32 tensor of the graph becomes float16: initializers, Constant nodes (values
clamped to +-65504, the float16 range, so a float32 "minus infinity" mask constant such as
finfo(float32).min stays finite), graph inputs and outputs (logits, past/present caches),
value_info, and Cast nodes to float32 (they cast to float16 instead). Integer tensors and
int64 inputs (input_ids, attention_mask, position_ids) are unchanged. No op is kept in
float32 and no Cast pairs are inserted: ONNX Runtime runs both tiny_llm layouts converted
this way (tools/check_tiny_llm.py; its CPU provider itself computes in float32 any op that
lacks a float16 kernel). Rounding is numpy's float32 -> float16 (round to nearest even).

Requires python3-onnx and python3-numpy only:

  /usr/bin/python3 tools/make_fp16_model.py IN.onnx OUT.onnx
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402

kFloat16Max = 65504.0


def to_float16(tensor):
    """float32 TensorProto -> float16 TensorProto of the same name (clamped)."""
    value = numpy_helper.to_array(tensor)
    clamped = np.clip(value, -kFloat16Max, kFloat16Max).astype(np.float16)
    return numpy_helper.from_array(clamped, tensor.name)


def convert_value_infos(values):
    for value in values:
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type == TensorProto.FLOAT:
            tensor_type.elem_type = TensorProto.FLOAT16


def convert_graph(graph):
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(to_float16(init))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(to_float16(attr.t))
            elif attr.type == onnx.AttributeProto.GRAPH:
                convert_graph(attr.g)
        if node.op_type == "Cast" and node.domain in ("", "ai.onnx"):
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    convert_value_infos(graph.input)
    convert_value_infos(graph.output)
    convert_value_infos(graph.value_info)


def convert(model):
    """Converts a ModelProto in place and returns it."""
    convert_graph(model.graph)
    if model.doc_string:
        model.doc_string += " Float16 copy (tools/make_fp16_model.py)."
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    args = parser.parse_args()
    model = convert(onnx.load(args.src))
    onnx.save(model, args.dst)
    print("wrote %s (%d bytes)" % (args.dst, os.path.getsize(args.dst)))


if __name__ == "__main__":
    main()
