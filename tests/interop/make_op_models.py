#!/usr/bin/python3
"""Builds small ONNX models that together cover every op family of pq's executor.

Usage: make_op_models.py OUT_DIR

Writes OUT_DIR/<family>.onnx and, beside each, OUT_DIR/<family>.npz with
kSamples random samples keyed by input name (axis 0 is the sample axis; the
arrays have the rank of the model inputs, whose first dim is the dynamic
"batch"). Every model is built with onnx.helper from a fixed numpy seed, so
the files are the same on every run. Default-domain opsets stay <= 17 (what
Debian's python3-onnx 1.12 knows) and onnx.checker passes on every model but
those holding com.microsoft ops, which the checker cannot know. The decoder
LLM ops live in llm_op_models.py and llama_block_model.py, built by the same
build_all.

Ops are chained or concatenated into few outputs so that every op's result
reaches an output; inputs of Log/Sqrt/Div/... are kept in their domains.
Integer-producing quantized ops use power-of-two scales so that every
requantization is exact in float32 and implementations can agree bit for bit
(ties then round half to even, as ONNX specifies).
"""
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, mapping, numpy_helper

kSamples = 4
kMicrosoft = "com.microsoft"
kCheckedOpset = 17  # the newest default-domain opset Debian's python3-onnx checks
kInt64Max = np.iinfo(np.int64).max


def elem_type(dtype):
    return mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]


class GraphBuilder:
    """Collects nodes, initializers, inputs with sample data, and outputs."""

    def __init__(self, name):
        self.name = name
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))  # fixed per model
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.samples = {}
        self.count = 0

    def input(self, name, shape, data):
        """Declares input `name` of `shape` ("batch" first) fed with `data` [kSamples, ...]."""
        elem = elem_type(data.dtype)
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        self.samples[name] = data
        return name

    def const(self, array):
        """Adds an initializer and returns its name."""
        self.count += 1
        name = f"c{self.count}"
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, outputs=1, domain="", **attrs):
        """Adds a node; `outputs` is a count or a list of names. Returns its output name(s)."""
        self.count += 1
        if isinstance(outputs, int):
            outputs = [f"{op_type.lower()}_{self.count}_{k}" for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=f"{op_type}_{self.count}",
                                           domain=domain or None, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def output(self, value, name, dtype=np.float32):
        """Exposes `value` as graph output `name` (through Identity when names differ)."""
        if value != name:
            self.op("Identity", [value], [name])
        self.outputs.append(helper.make_tensor_value_info(name, elem_type(dtype), None))

    def normal(self, *shape, scale=1.0, loc=0.0):
        return (self.rng.standard_normal(shape) * scale + loc).astype(np.float32)

    def build(self, opset, batch=1, microsoft=False, ir_version=8):
        """Returns (model, samples, batch); checks the model unless it uses com.microsoft
        or an opset newer than kCheckedOpset."""
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        opsets = [helper.make_opsetid("", opset)]
        if microsoft:
            opsets.append(helper.make_opsetid(kMicrosoft, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="pq-interop")
        model.ir_version = ir_version
        if not microsoft and opset <= kCheckedOpset:
            # Outputs get their inferred shapes (the checker wants one on every
            # output); a declared dtype that inference contradicts is a bug here.
            inferred = {v.name: v for v in
                        onnx.shape_inference.infer_shapes(model, strict_mode=True).graph.output}
            for out in model.graph.output:
                found = inferred[out.name].type.tensor_type
                assert found.elem_type == out.type.tensor_type.elem_type, out.name
                out.type.tensor_type.shape.CopyFrom(found.shape)
            onnx.checker.check_model(model, full_check=True)
        return model, self.samples, batch


def elementwise():
    g = GraphBuilder("elementwise")
    x = g.input("x", ["batch", 16], g.normal(kSamples, 16))
    y = g.input("y", ["batch", 16], g.normal(kSamples, 16))
    c16 = g.const(g.normal(16))
    half, eps, three = (g.const(np.float32(v)) for v in (0.5, 1e-3, 3.0))
    # Add Sub Mul Div Pow, then Identity and (inference-mode) Dropout.
    t = g.op("Mul", [g.op("Sub", [g.op("Add", [x, y]), c16]), x])
    t = g.op("Div", [t, g.op("Add", [g.op("Abs", [y]), half])])
    t = g.op("Pow", [g.op("Add", [g.op("Abs", [t]), eps]), g.const(np.float32(1.5))])
    t = g.op("Dropout", [g.op("Identity", [t]), g.const(np.float32(0.3))])
    g.output(t, "arith")
    # Sqrt Log Exp(Clip) Neg Reciprocal.
    sq = g.op("Sqrt", [g.op("Add", [g.op("Abs", [x]), eps])])
    lg = g.op("Log", [g.op("Add", [g.op("Abs", [y]), eps])])
    ex = g.op("Exp", [g.op("Clip", [x, g.const(np.float32(-2)), g.const(np.float32(2))])])
    rc = g.op("Reciprocal", [g.op("Add", [sq, half])])
    g.output(g.op("Concat", [sq, lg, ex, g.op("Neg", [lg]), rc], axis=1), "unary")
    fl = g.op("Floor", [g.op("Mul", [x, three])])
    ce = g.op("Ceil", [g.op("Mul", [y, three])])
    g.output(g.op("Concat", [fl, ce], axis=1), "rounding")
    acts = [
        g.op("Erf", [x]), g.op("Tanh", [y]), g.op("Sigmoid", [g.op("Add", [x, y])]),
        g.op("Relu", [x]), g.op("LeakyRelu", [y], alpha=0.2),
        g.op("PRelu", [x, g.const(g.normal(16, scale=0.3))]), g.op("Elu", [y], alpha=0.7),
        g.op("Selu", [x]), g.op("Softplus", [y]), g.op("HardSigmoid", [x], alpha=0.3, beta=0.4),
        g.op("HardSwish", [g.op("Mul", [y, three])]),
        g.op("Clip", [x, "", g.const(np.float32(0.8))]),
    ]
    g.output(g.op("Concat", acts, axis=1), "act")
    variadic = [g.op("Min", [x, y, c16]), g.op("Max", [x, c16]), g.op("Sum", [x, y, c16]),
                g.op("Mean", [x, y, half])]
    g.output(g.op("Concat", variadic, axis=1), "variadic")
    # Comparisons and logic on the same data; Equal on int64 from Cast.
    gt = g.op("Greater", [x, y])
    fi = g.op("Cast", [fl], to=TensorProto.INT64)
    eq = g.op("Equal", [fi, g.op("Cast", [ce], to=TensorProto.INT64)])
    logic = g.op("Or", [g.op("And", [g.op("Not", [gt]), g.op("Less", [x, c16])]), eq])
    g.output(logic, "logic", np.bool_)
    sel = g.op("Where", [gt, x, g.op("Mul", [y, half])])
    g.output(g.op("Mul", [sel, g.op("Cast", [logic], to=TensorProto.FLOAT)]), "select")
    g.output(g.op("Add", [fi, g.op("Cast", [logic], to=TensorProto.INT64)]), "ints", np.int64)
    return g.build(14, batch=2)  # HardSwish needs opset 14


def linear_matmul():
    g = GraphBuilder("linear_matmul")
    a = g.input("a", ["batch", 3, 4, 8], g.normal(kSamples, 3, 4, 8))
    p = g.input("p", ["batch", 1, 4, 8], g.normal(kSamples, 1, 4, 8))
    w3 = g.const(g.normal(3, 8, 5))
    g.output(g.op("MatMul", [a, g.const(g.normal(8, 6))]), "mm_2d_weight")
    g.output(g.op("MatMul", [a, w3]), "mm_batched_weight")
    g.output(g.op("MatMul", [p, w3]), "mm_broadcast_batch")
    g.output(g.op("MatMul", [a, g.const(g.normal(8))]), "mm_vector_right")
    g.output(g.op("MatMul", [g.const(g.normal(4)), a]), "mm_vector_left")
    g.output(g.op("MatMul", [a, g.op("Transpose", [p], perm=[0, 1, 3, 2])]), "mm_two_inputs")
    return g.build(13, batch=2)


def linear_gemm():
    g = GraphBuilder("linear_gemm")
    x = g.input("x", ["batch", 8], g.normal(kSamples, 8))
    g.output(g.op("Gemm", [x, g.const(g.normal(6, 8)), g.const(g.normal(6))],
                  transB=1, alpha=0.7, beta=1.3), "gemm_transb_alpha_beta")
    g.output(g.op("Gemm", [x, g.const(g.normal(8, 5)), g.const(g.normal(1))], beta=0.5),
             "gemm_scalar_c")
    g.output(g.op("Gemm", [g.op("Transpose", [x]), g.const(g.normal(5, 8))], transA=1, transB=1,
                  alpha=2.0), "gemm_transa_transb_no_c")
    return g.build(13, batch=1)


def linear_conv():
    g = GraphBuilder("linear_conv")
    x2 = g.input("x2", ["batch", 4, 9, 10], g.normal(kSamples, 4, 9, 10))
    x1 = g.input("x1", ["batch", 4, 12], g.normal(kSamples, 4, 12))
    n = g.normal
    g.output(g.op("Conv", [x2, g.const(n(6, 4, 3, 3)), g.const(n(6))],
                  pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2]), "conv2d_pads_strides_dilations")
    g.output(g.op("Conv", [x2, g.const(n(8, 2, 3, 3))], group=2, auto_pad="SAME_UPPER",
                  strides=[2, 2]), "conv2d_groups_same_upper")
    g.output(g.op("Conv", [x2, g.const(n(4, 1, 3, 3)), g.const(n(4))], group=4,
                  pads=[1, 1, 1, 1]), "conv2d_depthwise")
    g.output(g.op("Conv", [x2, g.const(n(8, 1, 3, 2))], group=4, kernel_shape=[3, 2]),
             "conv2d_depthwise_multiplier")
    g.output(g.op("Conv", [x2, g.const(n(3, 4, 1, 1))], strides=[2, 3]), "conv2d_pointwise_strided")
    g.output(g.op("Conv", [x1, g.const(n(5, 4, 3)), g.const(n(5))], strides=[2], dilations=[2],
                  pads=[2, 1]), "conv1d_pads_strides_dilations")
    g.output(g.op("Conv", [x1, g.const(n(6, 2, 1))], group=2), "conv1d_groups")
    return g.build(13, batch=1)


def linear_convtranspose():
    g = GraphBuilder("linear_convtranspose")
    x2 = g.input("x2", ["batch", 4, 5, 6], g.normal(kSamples, 4, 5, 6))
    x1 = g.input("x1", ["batch", 4, 7], g.normal(kSamples, 4, 7))
    n = g.normal
    g.output(g.op("ConvTranspose", [x2, g.const(n(4, 3, 3, 3)), g.const(n(3))], strides=[2, 2],
                  output_padding=[1, 0], pads=[1, 1, 0, 1]), "convt2d_strides_output_padding")
    g.output(g.op("ConvTranspose", [x2, g.const(n(4, 2, 3, 3))], strides=[1, 2], dilations=[2, 1]),
             "convt2d_dilations")
    g.output(g.op("ConvTranspose", [x1, g.const(n(4, 2, 4)), g.const(n(4))], group=2, strides=[3],
                  output_padding=[2]), "convt1d_groups_output_padding")
    return g.build(13, batch=1)


def normalization():
    g = GraphBuilder("normalization")
    x = g.input("x", ["batch", 6, 5, 4], g.normal(kSamples, 6, 5, 4, scale=2.0, loc=0.5))
    n = g.normal
    var = np.abs(n(6)) + 0.2
    g.output(g.op("BatchNormalization", [x, g.const(n(6)), g.const(n(6)), g.const(n(6)),
                                         g.const(var)], epsilon=1e-3), "batchnorm")
    g.output(g.op("InstanceNormalization", [x, g.const(n(6)), g.const(n(6))], epsilon=1e-4),
             "instancenorm")
    g.output(g.op("LayerNormalization", [x, g.const(n(5, 4)), g.const(n(5, 4))], axis=2,
                  epsilon=1e-5), "layernorm_axis2")
    g.output(g.op("LayerNormalization", [x, g.const(n(4))], axis=-1), "layernorm_last_no_bias")
    return g.build(17, batch=1)


def pooling():
    g = GraphBuilder("pooling")
    x = g.input("x", ["batch", 3, 11, 10], g.normal(kSamples, 3, 11, 10))
    x1 = g.input("x1", ["batch", 2, 13], g.normal(kSamples, 2, 13))
    g.output(g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                  ceil_mode=1), "maxpool_ceil_pads")
    g.output(g.op("MaxPool", [x], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 0, 1],
                  dilations=[1, 2]), "maxpool_dilations")
    g.output(g.op("MaxPool", [x1], kernel_shape=[3], strides=[2], ceil_mode=1), "maxpool1d_ceil")
    g.output(g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                  count_include_pad=0), "avgpool_exclude_pad")
    g.output(g.op("AveragePool", [x], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1],
                  count_include_pad=1), "avgpool_include_pad")
    g.output(g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             "avgpool_ceil")
    g.output(g.op("GlobalAveragePool", [x]), "global_avgpool")
    g.output(g.op("GlobalMaxPool", [x]), "global_maxpool")
    return g.build(13, batch=2)


def reduction_opset13():
    """Opset 13: axes attribute (ReduceMean/Max/Min/Prod/L2), axes input (ReduceSum,
    the form every reduction takes from opset 18)."""
    g = GraphBuilder("reduction_opset13")
    x = g.input("x", ["batch", 4, 5, 6], g.normal(kSamples, 4, 5, 6))
    i64 = lambda v: g.const(np.array(v, np.int64))
    g.output(g.op("ReduceMean", [x], axes=[2, 3]), "reducemean")
    g.output(g.op("ReduceMean", [x], keepdims=0), "reducemean_all")
    g.output(g.op("ReduceSum", [x, i64([1])], keepdims=0), "reducesum_axes_input")
    g.output(g.op("ReduceSum", [x, i64([-1, 2])]), "reducesum_negative_axes")
    g.output(g.op("ReduceSum", [x]), "reducesum_no_axes")
    g.output(g.op("ReduceSum", [x, i64(np.zeros(0))], noop_with_empty_axes=1), "reducesum_noop")
    g.output(g.op("ReduceMax", [x], axes=[-1], keepdims=0), "reducemax")
    g.output(g.op("ReduceMin", [x], axes=[1, 3]), "reducemin")
    xp = g.op("Add", [g.op("Mul", [x, g.const(np.float32(0.3))]), g.const(np.float32(1.0))])
    g.output(g.op("ReduceProd", [xp], axes=[3]), "reduceprod")
    g.output(g.op("ReduceL2", [x], axes=[2], keepdims=0), "reducel2")
    g.output(g.op("ArgMax", [x], axis=2), "argmax", np.int64)
    g.output(g.op("ArgMin", [x], axis=-1, keepdims=0), "argmin", np.int64)
    ties = g.op("Floor", [x])  # many equal values along each axis
    g.output(g.op("ArgMax", [ties], axis=3, select_last_index=1), "argmax_ties_last", np.int64)
    g.output(g.op("ArgMin", [ties], axis=1, keepdims=0), "argmin_ties_first", np.int64)
    return g.build(13, batch=1)


def reduction_opset11():
    """Opset 11: ReduceSum with the axes attribute, ArgMax/ArgMin before select_last_index."""
    g = GraphBuilder("reduction_opset11")
    x = g.input("x", ["batch", 4, 5, 6], g.normal(kSamples, 4, 5, 6))
    g.output(g.op("ReduceSum", [x], axes=[1, 2]), "reducesum_axes_attr")
    g.output(g.op("ReduceSum", [x], keepdims=0, axes=[-1]), "reducesum_last")
    g.output(g.op("ReduceMax", [x], axes=[1]), "reducemax")
    g.output(g.op("ArgMax", [x], axis=1, keepdims=0), "argmax", np.int64)
    g.output(g.op("ArgMin", [g.op("Floor", [x])], axis=2), "argmin_ties", np.int64)
    return g.build(11, batch=1)


def shape():
    g = GraphBuilder("shape")
    x = g.input("x", ["batch", 4, 6], g.normal(kSamples, 4, 6))
    gidx = g.input("gidx", ["batch", 4, 3], g.rng.integers(-6, 6, (kSamples, 4, 3)).astype(np.int64))
    i64 = lambda v: g.const(np.array(v, np.int64))
    r = g.op("Reshape", [x, i64([0, 6, -1])])
    t = g.op("Transpose", [r], perm=[0, 2, 1])
    u = g.op("Unsqueeze", [g.op("Flatten", [t], axis=1), i64([1, -1])])
    g.output(g.op("Squeeze", [u, i64([1])]), "reshape_transpose_flatten_squeeze")
    g.output(g.op("Concat", [x, t, g.op("Neg", [x])], axis=-1), "concat")
    s1, s2 = g.op("Split", [x, i64([2, 4])], outputs=2, axis=2)
    g.output(s1, "split_a")
    g.output(s2, "split_b")
    s3, s4 = g.op("Split", [x], outputs=2, axis=1)
    g.output(g.op("Sub", [s3, s4]), "split_equal")
    g.output(g.op("Slice", [x, i64([1, -1]), i64([4, -7]), i64([1, 2]), i64([1, -2])]),
             "slice_negative_step")
    g.output(g.op("Slice", [x, i64([0]), i64([kInt64Max]), i64([2]), i64([3])]), "slice_step")
    g.output(g.op("Gather", [x, i64([[0, 2], [3, -1]])], axis=1), "gather_2d_indices")
    g.output(g.op("Gather", [x, i64(2)], axis=2), "gather_scalar_index")
    g.output(g.op("GatherElements", [x, gidx], axis=2), "gatherelements")
    shp = g.op("Shape", [x])
    g.output(shp, "shape", np.int64)
    g.output(g.op("Shape", [x], start=1), "shape_start", np.int64)
    g.output(g.op("Size", [x]), "size", np.int64)
    g.output(g.op("Add", [x, g.op("Expand", [g.const(g.normal(6)), shp])]), "expand_to_shape")
    g.output(g.op("Expand", [g.op("Reshape", [x, i64([0, 4, 6, 1])]), i64([1, 1, 1, 3])]),
             "expand_trailing")
    g.output(g.op("Tile", [x, i64([1, 2, 3])]), "tile")
    cos = g.op("ConstantOfShape", [shp], value=numpy_helper.from_array(np.array([2.5], np.float32)))
    g.output(g.op("Mul", [x, cos]), "constantofshape")
    limit = g.op("Mul", [g.op("Gather", [shp, i64(2)]), i64(3)])
    g.output(g.op("Range", [i64(1), limit, i64(2)]), "range_int", np.int64)
    g.output(g.op("Range", [g.const(np.float32(0.5)), g.const(np.float32(3.7)),
                            g.const(np.float32(0.4))]), "range_float")
    return g.build(17, batch=1)


def movement():
    g = GraphBuilder("movement")
    x = g.input("x", ["batch", 3, 6, 8], g.normal(kSamples, 3, 6, 8))
    z = g.input("z", ["batch", 8, 4, 6], g.normal(kSamples, 8, 4, 6))
    i64 = lambda v: g.const(np.array(v, np.int64))
    f32 = lambda v: g.const(np.array(v, np.float32))
    g.output(g.op("Pad", [x, i64([0, 0, 1, 2, 0, 0, 2, 1])], mode="reflect"), "pad_reflect")
    g.output(g.op("Pad", [x, i64([0, 1, 2, 0, 0, 0, 0, 3])], mode="edge"), "pad_edge")
    g.output(g.op("Pad", [x, i64([0, 0, -1, 1, 0, 0, 2, -2]), f32(1.5)]), "pad_constant_negative")
    g.output(g.op("DepthToSpace", [z], blocksize=2, mode="DCR"), "depthtospace_dcr")
    g.output(g.op("DepthToSpace", [z], blocksize=2, mode="CRD"), "depthtospace_crd")
    g.output(g.op("SpaceToDepth", [x], blocksize=2), "spacetodepth")
    g.output(g.op("Resize", [x, "", f32([1, 1, 2, 1.5])], mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             "resize_nearest_asymmetric_floor")
    g.output(g.op("Resize", [x, "", f32([1, 1, 0.5, 0.75])], mode="nearest",
                  coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil"),
             "resize_nearest_half_pixel_down")
    g.output(g.op("Resize", [x, "", f32([1, 1, 1.5, 2])], mode="linear",
                  coordinate_transformation_mode="half_pixel"), "resize_linear_half_pixel")
    g.output(g.op("Resize", [x, "", f32([1, 1, 0.7, 0.6])], mode="linear",
                  coordinate_transformation_mode="half_pixel"), "resize_linear_half_pixel_fractional")
    # align_corners with whole output lengths only (6 * 0.5, 8 * 1.25): when
    # length * scale is fractional, ORT divides by the rounded output length
    # and ONNX's reference and test data by the unrounded one.
    g.output(g.op("Resize", [x, "", f32([1, 1, 0.5, 1.25])], mode="linear",
                  coordinate_transformation_mode="align_corners"), "resize_linear_align_corners")
    g.output(g.op("Resize", [x, "", f32([1, 1, 2, 2])], mode="linear",
                  coordinate_transformation_mode="pytorch_half_pixel"), "resize_linear_pytorch")
    sizes = g.op("Concat", [g.op("Slice", [g.op("Shape", [x]), i64([0]), i64([2])]), i64([9, 5])],
                 axis=0)
    g.output(g.op("Resize", [x, "", "", sizes], mode="linear",
                  coordinate_transformation_mode="asymmetric"), "resize_linear_sizes")
    v, i = g.op("TopK", [x, i64([3])], outputs=2, axis=-1)
    g.output(v, "topk_values")
    g.output(i, "topk_indices", np.int64)
    v, i = g.op("TopK", [x, i64([2])], outputs=2, axis=2, largest=0)
    g.output(v, "topk_smallest_values")
    g.output(i, "topk_smallest_indices", np.int64)
    g.output(g.op("Einsum", [x, g.const(g.normal(8, 5))], equation="bcij,jk->bcik"), "einsum_matmul")
    g.output(g.op("Einsum", [x], equation="bcij->bjic"), "einsum_transpose")
    g.output(g.op("Einsum", [x, x], equation="bcij,bcij->bc"), "einsum_dot")
    g.output(g.op("Einsum", [x, x], equation="bcij,bckj->bcik"), "einsum_batched_matmul")
    g.output(g.op("Einsum", [x, g.const(g.normal(8, 2))], equation="bcij,jk"), "einsum_implicit")
    return g.build(17, batch=1)


def softmax_opset11():
    """Opset 11: the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])]."""
    g = GraphBuilder("softmax_opset11")
    x = g.input("x", ["batch", 3, 4, 5], g.normal(kSamples, 3, 4, 5, scale=3.0))
    g.output(g.op("Softmax", [x]), "softmax_default_axis")
    g.output(g.op("Softmax", [x], axis=2), "softmax_axis2")
    g.output(g.op("LogSoftmax", [x], axis=1), "logsoftmax_axis1")
    g.output(g.op("LogSoftmax", [x], axis=-1), "logsoftmax_last")
    return g.build(11, batch=1)


def softmax_opset13():
    g = GraphBuilder("softmax_opset13")
    x = g.input("x", ["batch", 3, 4, 5], g.normal(kSamples, 3, 4, 5, scale=3.0))
    g.output(g.op("Softmax", [x]), "softmax_default_axis")
    g.output(g.op("Softmax", [x], axis=1), "softmax_axis1")
    g.output(g.op("LogSoftmax", [x], axis=2), "logsoftmax_axis2")
    g.output(g.op("LogSoftmax", [x]), "logsoftmax_default_axis")
    return g.build(13, batch=2)


def quantized():
    g = GraphBuilder("quantized")
    x = g.input("x", ["batch", 4, 8], g.normal(kSamples, 4, 8, scale=1.5))
    xi = g.input("xi", ["batch", 3, 7, 7], g.normal(kSamples, 3, 7, 7))
    f32 = lambda v: g.const(np.array(v, np.float32))
    u8 = lambda v: g.const(np.array(v, np.uint8))
    i8 = lambda v: g.const(np.array(v, np.int8))
    pow2 = lambda *e: f32([2.0 ** k for k in e]) if len(e) > 1 else f32(2.0 ** e[0])
    # Per-tensor uint8 (saturating at both ends), per-axis int8.
    q = g.op("QuantizeLinear", [x, pow2(-5), u8(128)])
    g.output(q, "quantize_per_tensor", np.uint8)
    g.output(g.op("DequantizeLinear", [q, f32(0.0371), u8(128)]), "dequantize_per_tensor")
    axis_scale, axis_zp = pow2(-5, -4, -6, -3), i8([-3, 0, 5, 1])
    qa = g.op("QuantizeLinear", [x, axis_scale, axis_zp], axis=1)
    g.output(qa, "quantize_per_axis", np.int8)
    g.output(g.op("DequantizeLinear", [qa, axis_scale, axis_zp], axis=1), "dequantize_per_axis")
    w = g.const(g.rng.integers(-128, 128, (8, 5)).astype(np.int8))
    wf = g.op("DequantizeLinear", [w, f32(np.abs(g.normal(5)) * 0.01 + 0.001),
                                   i8(g.rng.integers(-5, 5, 5))], axis=1)
    g.output(g.op("MatMul", [x, wf]), "dequantize_weight_per_axis_matmul")
    dy, ds, dz = g.op("DynamicQuantizeLinear", [x], outputs=3)
    g.output(dy, "dynamic_quantize", np.uint8)
    g.output(ds, "dynamic_quantize_scale")
    g.output(dz, "dynamic_quantize_zero_point", np.uint8)
    bq = u8(g.rng.integers(0, 256, (8, 5)))
    g.output(g.op("MatMulInteger", [q, bq, u8(128), u8(g.rng.integers(100, 150, 5))]),
             "matmulinteger_u8_per_column_zp", np.int32)
    g.output(g.op("MatMulInteger", [dy, i8(g.rng.integers(-128, 128, (8, 5))), dz]),
             "matmulinteger_u8s8", np.int32)
    xq = g.op("QuantizeLinear", [xi, pow2(-4), u8(100)])
    g.output(g.op("ConvInteger", [xq, u8(g.rng.integers(0, 256, (4, 3, 3, 3))), u8(100), u8(120)],
                  pads=[1, 1, 1, 1], strides=[2, 2]), "convinteger", np.int32)
    g.output(g.op("QLinearMatMul", [q, pow2(-5), u8(128), u8(g.rng.integers(0, 256, (8, 6))),
                                    pow2(-6), u8(130), pow2(-2), u8(120)]),
             "qlinearmatmul_u8", np.uint8)
    qs = g.op("QuantizeLinear", [x, pow2(-5), i8(-4)])
    g.output(g.op("QLinearMatMul", [qs, pow2(-5), i8(-4), i8(g.rng.integers(-128, 128, (8, 6))),
                                    pow2(-6), i8(0), pow2(-1), i8(3)]),
             "qlinearmatmul_s8", np.int8)
    g.output(g.op("QLinearConv", [xq, pow2(-4), u8(100), i8(g.rng.integers(-128, 128, (4, 3, 3, 3))),
                                  pow2(-7, -6, -8, -7), i8([0, 0, 0, 0]), pow2(-3), u8(128),
                                  g.const(g.rng.integers(-2000, 2000, 4).astype(np.int32))],
                  pads=[1, 1, 1, 1], strides=[2, 2]), "qlinearconv_per_channel", np.uint8)
    return g.build(13, batch=1)


def pack_matmul_nbits(codes, block_size):
    """ORT MatMulNBits (bits 4) layout of `codes` [N, K] in 0..15: B is
    [N, k_blocks, block_size / 2] uint8, element k of a block in byte k / 2,
    even k in the low nibble; K is zero-padded to whole blocks."""
    n, k = codes.shape
    blocks = -(-k // block_size)
    padded = np.zeros((n, blocks * block_size), np.uint8)
    padded[:, :k] = codes
    pairs = padded.reshape(n, blocks, block_size // 2, 2)
    return (pairs[..., 0] | (pairs[..., 1] << 4)).astype(np.uint8)


def pack_zero_points_4bit(zp):
    """MatMulNBits uint8 zero points [N, k_blocks] -> [N * ceil(k_blocks / 2)],
    each row padded to whole bytes, even block in the low nibble."""
    n, blocks = zp.shape
    padded = np.zeros((n, 2 * -(-blocks // 2)), np.uint8)
    padded[:, :blocks] = zp
    return (padded[:, 0::2] | (padded[:, 1::2] << 4)).reshape(-1).astype(np.uint8)


kNf4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                 -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                 0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                 0.7229568362236023, 1.0], np.float32)


def pack_bnb4_nf4(w, block_size):
    """ORT MatMulBnb4 NF4 layout of `w` [N, K]: flattened row-major, absmax per
    block of block_size elements, codes = nearest NF4 level of w / absmax, two
    per byte with the FIRST element in the HIGH nibble."""
    flat = w.reshape(-1)
    blocks = -(-flat.size // block_size)
    padded = np.zeros(blocks * block_size, np.float32)
    padded[:flat.size] = flat
    absmax = np.abs(padded.reshape(blocks, block_size)).max(axis=1).astype(np.float32)
    scaled = padded / np.repeat(absmax, block_size)
    codes = np.abs(scaled[:, None] - kNf4[None, :]).argmin(axis=1).astype(np.uint8)[:flat.size]
    if codes.size % 2:
        codes = np.append(codes, np.uint8(7))  # NF4 zero pads the last byte
    return ((codes[0::2] << 4) | codes[1::2]).astype(np.uint8), absmax


def quantized_blockwise():
    g = GraphBuilder("quantized_blockwise")
    a = g.input("a", ["batch", 3, 40], g.normal(kSamples, 3, 40))
    a2 = g.input("a2", ["batch", 2, 32], g.normal(kSamples, 2, 32))
    a3 = g.input("a3", ["batch", 2, 21], g.normal(kSamples, 2, 21))
    # MatMulNBits, K = 40 (a partial last block of 16), packed uint8 zero points.
    n, k, bs = 6, 40, 16
    blocks = -(-k // bs)
    b = pack_matmul_nbits(g.rng.integers(0, 16, (n, k)).astype(np.uint8), bs)
    scales = (np.abs(g.normal(n * blocks)) * 0.1 + 0.01).astype(np.float32)
    zp = pack_zero_points_4bit(g.rng.integers(0, 16, (n, blocks)).astype(np.uint8))
    g.output(g.op("MatMulNBits", [a, g.const(b), g.const(scales), g.const(zp)], domain=kMicrosoft,
                  K=k, N=n, bits=4, block_size=bs), "matmulnbits_zero_points")
    # MatMulNBits without zero points (implicit 8), 2-D scales [N, k_blocks].
    n, k, bs = 5, 32, 32
    b = pack_matmul_nbits(g.rng.integers(0, 16, (n, k)).astype(np.uint8), bs)
    scales = (np.abs(g.normal(n, 1)) * 0.1 + 0.01).astype(np.float32)
    g.output(g.op("MatMulNBits", [a2, g.const(b), g.const(scales)], domain=kMicrosoft,
                  K=k, N=n, bits=4, block_size=bs), "matmulnbits_default_zero_point")
    # MatMulBnb4 NF4: N * K = 280 in blocks of 64 (partial last block).
    n, k = 7, 40
    packed, absmax = pack_bnb4_nf4(g.normal(n, k), 64)
    g.output(g.op("MatMulBnb4", [a, g.const(packed), g.const(absmax)], domain=kMicrosoft,
                  K=k, N=n, block_size=64, quant_type=1), "matmulbnb4_nf4")
    # MatMulBnb4 NF4 with an odd element count (63: half of the last byte unused).
    n, k = 3, 21
    packed, absmax = pack_bnb4_nf4(g.normal(n, k), 16)
    g.output(g.op("MatMulBnb4", [a3, g.const(packed), g.const(absmax)], domain=kMicrosoft,
                  K=k, N=n, block_size=16, quant_type=1), "matmulbnb4_nf4_odd")
    return g.build(13, microsoft=True)


def signal():
    """DFT (radix-2, Bluestein, onesided, inverse with dft_length), STFT with a
    Hann window and its power, MelWeightMatrix, and MaxPool of
    uint8 with column-major Indices."""
    g = GraphBuilder("signal")
    sig = g.input("sig", ["batch", 64, 1], g.normal(kSamples, 64, 1))
    xc = g.input("xc", ["batch", 12, 3, 2], g.normal(kSamples, 12, 3, 2))
    u8 = g.input("u8", ["batch", 2, 7, 7],
                 g.rng.integers(0, 256, (kSamples, 2, 7, 7)).astype(np.uint8))
    g.output(g.op("DFT", [sig], axis=1, onesided=1), "dft_onesided_pow2")
    g.output(g.op("DFT", [xc], axis=1), "dft_complex_12")
    g.output(g.op("DFT", [xc, g.const(np.array(8, np.int64))], axis=2, inverse=1),
             "dft_inverse_padded")
    window = g.op("HannWindow", [g.const(np.array(16, np.int64))])
    stft = g.op("STFT", [sig, g.const(np.array(6, np.int64)), window])
    g.output(stft, "stft_hann")
    power = g.op("ReduceSum", [g.op("Mul", [stft, stft]), g.const(np.array([3], np.int64))],
                 keepdims=0)
    mel = g.op("MelWeightMatrix", [g.const(np.array(6, np.int32)), g.const(np.array(64, np.int32)),
                                   g.const(np.array(8000, np.int32)),
                                   g.const(np.array(125, np.float32)),
                                   g.const(np.array(3800, np.float32))])
    # Separate outputs: python3-onnx 1.12's shape inference gets STFT's bins
    # wrong and would refuse their MatMul.
    g.output(power, "stft_power")
    g.output(mel, "mel_weight_matrix")
    values, indices = g.op("MaxPool", [u8], outputs=2, kernel_shape=[3, 3], strides=[2, 2],
                           pads=[1, 1, 1, 1], storage_order=1)
    g.output(values, "maxpool_uint8", np.uint8)
    g.output(indices, "maxpool_uint8_indices_col_major", np.int64)
    return g.build(17, batch=2)


kFamilies = [elementwise, linear_matmul, linear_gemm, linear_conv, linear_convtranspose,
             normalization, pooling, reduction_opset11, reduction_opset13, shape, movement,
             softmax_opset11, softmax_opset13, quantized, quantized_blockwise, signal]


def build_all(out_dir, families=None):
    """Writes every model of `families` (default kFamilies) and its samples;
    returns [(name, model_path, data_path, batch)]."""
    os.makedirs(out_dir, exist_ok=True)
    built = []
    for family in kFamilies if families is None else families:
        model, samples, batch = family()
        name = model.graph.name
        model_path = os.path.join(out_dir, f"{name}.onnx")
        data_path = os.path.join(out_dir, f"{name}.npz")
        onnx.save(model, model_path)
        np.savez(data_path, **samples)
        built.append((name, model_path, data_path, batch))
    return built


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} OUT_DIR")
    for name, model_path, data_path, batch in build_all(argv[1]):
        print(f"{name}: {model_path} {data_path} (batch {batch})")


if __name__ == "__main__":
    main(sys.argv)
