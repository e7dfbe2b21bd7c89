#!/usr/bin/python3
"""Writes a Llama-shaped decoder of about 1B parameters with random weights, in the
layout of Hugging Face optimum's decoder exports, for pq's scale benchmarks.

Usage: make_1b_decoder.py OUT.onnx [--layers N] [--seed N] [--calib-rows R --calib-length L]

Shape (TinyLlama-1.1B's): hidden 2048, --layers (default 22) decoder layers, MLP 5632
(SiLU-gated), 32 query heads and 4 key/value heads of 64 (GQA), vocabulary 32000, untied
lm_head, RMSNorm eps 1e-5, rotary tables for 2048 positions. Inputs input_ids,
attention_mask, position_ids and past_key_values.{i}.key/value [batch, 4, past, 64];
outputs logits and present.{i}.key/value, as optimum names them, so that pq recognizes
it as a decoder and takes token ids for --calib/--validate. The graph is written with
plain ONNX ops (opset 17): decomposed RMSNorm (Pow, ReduceMean, Add, Sqrt, Div, Mul),
rotate-half rotary embedding, key/value heads repeated by Expand, an additive causal
mask from position_ids and attention_mask.

Weights: fixed-seed Gaussians, std 0.02 (norm weights 1), MatMul weights [in, out].
They go to OUT.onnx.data (external data), written tensor by tensor as they are drawn,
so that writing needs about one tensor's memory (the 32000 x 2048 embedding, 262 MB),
not the model's. With --calib-rows, OUT_calib.npy receives that many rows of
--calib-length random token ids (int64, same seed) for `pq quantize --calib`.
"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

kHidden = 2048
kInner = 5632
kHeads = 32
kKvHeads = 4
kHeadDim = kHidden // kHeads
kVocab = 32000
kPositions = 2048
kEps = 1e-5
kTheta = 10000.0
kStd = 0.02
kSeed = 20261130


class ExternalWriter:
    """Appends tensors to one external data file and makes initializers that point to it."""

    def __init__(self, path):
        self.path = path
        self.location = os.path.basename(path)
        self.file = open(path, "wb")
        self.offset = 0
        self.initializers = []

    def add(self, name, array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        pad = (-self.offset) % 64  # aligned, so that pq can read the weights in place
        if pad:
            self.file.write(b"\0" * pad)
            self.offset += pad
        data = array.tobytes()
        self.file.write(data)
        t = TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(array.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.location), ("offset", str(self.offset)), ("length", str(len(data)))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        self.offset += len(data)
        self.initializers.append(t)
        return name

    def close(self):
        self.file.close()


class Graph:
    """Nodes and small constants, named uniquely."""

    def __init__(self):
        self.nodes, self.constants, self.count = [], [], 0

    def op(self, op_type, inputs, name, outputs=1, **attrs):
        self.count += 1
        outs = ["%s_%d" % (name, i) for i in range(outputs)] if outputs > 1 else [name]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name="/%s/%s" % (name, op_type), **attrs))
        return outs if outputs > 1 else outs[0]

    def const(self, name, value, dtype=np.int64):
        self.constants.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name


def rms_norm(g, x, weight, name):
    two = g.const(name + ".two", 2.0, np.float32)
    eps = g.const(name + ".eps", kEps, np.float32)
    one = g.const(name + ".one", 1.0, np.float32)
    square = g.op("Pow", [x, two], name + "/pow")
    mean = g.op("ReduceMean", [square], name + "/mean", axes=[-1], keepdims=1)
    root = g.op("Sqrt", [g.op("Add", [mean, eps], name + "/add")], name + "/sqrt")
    inverse = g.op("Div", [one, root], name + "/div")
    return g.op("Mul", [weight, g.op("Mul", [x, inverse], name + "/mul")], name + "/mul_w")


def rotate(g, x, cos, sin, name):
    """x * cos + rotate_half(x) * sin, x [batch, heads, seq, head_dim]."""
    half = kHeadDim // 2
    axes = g.const(name + ".axes", [3])
    step = g.const(name + ".step", [1])
    first = g.op("Slice", [x, g.const(name + ".b0", [0]), g.const(name + ".e0", [half]), axes, step], name + "/x1")
    second = g.op("Slice", [x, g.const(name + ".b1", [half]), g.const(name + ".e1", [kHeadDim]), axes, step],
                  name + "/x2")
    rotated = g.op("Concat", [g.op("Neg", [second], name + "/neg"), first], name + "/rot", axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos], name + "/cos"), g.op("Mul", [rotated, sin], name + "/sin")],
                name + "/sum")


def layer(g, w, rng, i, x, cos, sin, mask):
    p = "model.layers.%d." % i
    n = "layers.%d" % i

    def weight(suffix, rows, cols):
        return w.add(p + suffix, rng.standard_normal((rows, cols), dtype=np.float32) * kStd)

    h = rms_norm(g, x, w.add(p + "input_layernorm.weight", np.ones(kHidden, np.float32)), n + "/input_layernorm")
    q = g.op("MatMul", [h, weight("self_attn.q_proj.weight", kHidden, kHidden)], n + "/q_proj")
    k = g.op("MatMul", [h, weight("self_attn.k_proj.weight", kHidden, kKvHeads * kHeadDim)], n + "/k_proj")
    v = g.op("MatMul", [h, weight("self_attn.v_proj.weight", kHidden, kKvHeads * kHeadDim)], n + "/v_proj")
    heads = g.const(n + ".q_shape", [0, 0, kHeads, kHeadDim])
    kv_heads = g.const(n + ".kv_shape", [0, 0, kKvHeads, kHeadDim])
    perm = [0, 2, 1, 3]
    q = g.op("Transpose", [g.op("Reshape", [q, heads], n + "/q_reshape")], n + "/q_t", perm=perm)
    k = g.op("Transpose", [g.op("Reshape", [k, kv_heads], n + "/k_reshape")], n + "/k_t", perm=perm)
    v = g.op("Transpose", [g.op("Reshape", [v, kv_heads], n + "/v_reshape")], n + "/v_t", perm=perm)
    q = rotate(g, q, cos, sin, n + "/q_rope")
    k = rotate(g, k, cos, sin, n + "/k_rope")
    key = g.op("Concat", ["past_key_values.%d.key" % i, k], "present.%d.key" % i, axis=2)
    value = g.op("Concat", ["past_key_values.%d.value" % i, v], "present.%d.value" % i, axis=2)
    # [b, kv, T, d] -> [b, kv, 1, T, d] -> expand to [b, kv, rep, T, d] -> [b, heads, T, d].
    split = g.const(n + ".split", [0, 0, 1, -1, kHeadDim])
    repeat = g.const(n + ".repeat", [1, 1, kHeads // kKvHeads, 1, 1])
    merged = g.const(n + ".merged", [0, kHeads, -1, kHeadDim])

    def repeat_kv(t, tag):
        t = g.op("Reshape", [t, split], n + "/" + tag + "_split")
        return g.op("Reshape", [g.op("Expand", [t, repeat], n + "/" + tag + "_expand"), merged], n + "/" + tag + "_rep")

    key_t = g.op("Transpose", [repeat_kv(key, "k")], n + "/k_tt", perm=[0, 1, 3, 2])
    scores = g.op("MatMul", [q, key_t], n + "/scores")
    scores = g.op("Add", [g.op("Mul", [scores, g.const(n + ".scale", 1.0 / np.sqrt(kHeadDim), np.float32)],
                               n + "/scaled"), mask], n + "/masked")
    probs = g.op("Softmax", [scores], n + "/softmax", axis=-1)
    attn = g.op("MatMul", [probs, repeat_kv(value, "v")], n + "/attn")
    attn = g.op("Reshape", [g.op("Transpose", [attn], n + "/attn_t", perm=perm), g.const(n + ".flat", [0, 0, kHidden])],
                n + "/attn_flat")
    x = g.op("Add", [x, g.op("MatMul", [attn, weight("self_attn.o_proj.weight", kHidden, kHidden)], n + "/o_proj")],
             n + "/residual_attn")
    h = rms_norm(g, x, w.add(p + "post_attention_layernorm.weight", np.ones(kHidden, np.float32)),
                 n + "/post_attention_layernorm")
    gate = g.op("MatMul", [h, weight("mlp.gate_proj.weight", kHidden, kInner)], n + "/gate_proj")
    up = g.op("MatMul", [h, weight("mlp.up_proj.weight", kHidden, kInner)], n + "/up_proj")
    act = g.op("Mul", [gate, g.op("Sigmoid", [gate], n + "/sigmoid")], n + "/silu")
    down = g.op("MatMul", [g.op("Mul", [act, up], n + "/gated"), weight("mlp.down_proj.weight", kInner, kHidden)],
                n + "/down_proj")
    return g.op("Add", [x, down], n + "/residual_mlp")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=22)
    parser.add_argument("--seed", type=int, default=kSeed)
    parser.add_argument("--calib-rows", type=int, default=0)
    parser.add_argument("--calib-length", type=int, default=512)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    w = ExternalWriter(args.out + ".data")
    g = Graph()

    embed = w.add("model.embed_tokens.weight", rng.standard_normal((kVocab, kHidden), dtype=np.float32) * kStd)
    x = g.op("Gather", [embed, "input_ids"], "embed_tokens")
    inv_freq = 1.0 / kTheta ** (np.arange(0, kHeadDim, 2, dtype=np.float64) / kHeadDim)
    angles = np.outer(np.arange(kPositions, dtype=np.float64), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    cos_table = g.const("model.rotary_emb.cos_cached", np.cos(angles), np.float32)
    sin_table = g.const("model.rotary_emb.sin_cached", np.sin(angles), np.float32)
    one_axis = g.const("axis1", [1])
    cos = g.op("Unsqueeze", [g.op("Gather", [cos_table, "position_ids"], "cos_gather", axis=0), one_axis], "cos")
    sin = g.op("Unsqueeze", [g.op("Gather", [sin_table, "position_ids"], "sin_gather", axis=0), one_axis], "sin")
    # Key j is visible to the query at position p when j <= p and attention_mask[j] = 1.
    total = g.op("Gather", [g.op("Shape", ["attention_mask"], "mask_shape"), g.const("index1", 1)], "total", axis=0)
    keys = g.op("Range", [g.const("zero", 0), total, g.const("one", 1)], "key_positions")
    positions = g.op("Unsqueeze", ["position_ids", g.const("axis_last", [2])], "query_positions")
    causal = g.op("LessOrEqual", [keys, positions], "causal")  # [b, s, T]
    present = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", one_axis], "mask_rows")], "mask_bool",
                   to=TensorProto.BOOL)
    allowed = g.op("Unsqueeze", [g.op("And", [causal, present], "allowed_3d"), one_axis], "allowed")
    mask = g.op("Where", [allowed, g.const("open", 0.0, np.float32), g.const("closed", -3.4e38, np.float32)], "mask")
    for i in range(args.layers):
        x = layer(g, w, rng, i, x, cos, sin, mask)
    h = rms_norm(g, x, w.add("model.norm.weight", np.ones(kHidden, np.float32)), "norm")
    lm_head = w.add("lm_head.weight", rng.standard_normal((kHidden, kVocab), dtype=np.float32) * kStd)
    g.op("MatMul", [h, lm_head], "logits")
    w.close()

    past = ["batch_size", kKvHeads, "past_sequence_length", kHeadDim]
    total_shape = ["batch_size", kKvHeads, "total_sequence_length", kHeadDim]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                            ["batch_size", "total_sequence_length"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", kVocab])]
    for i in range(args.layers):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info("past_key_values.%d.%s" % (i, kind), TensorProto.FLOAT, past))
            outputs.append(helper.make_tensor_value_info("present.%d.%s" % (i, kind), TensorProto.FLOAT, total_shape))
    graph = helper.make_graph(g.nodes, "decoder_1b", inputs, outputs, w.initializers + g.constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pq-bench")
    model.ir_version = 8
    with open(args.out, "wb") as f:
        f.write(model.SerializeToString())
    params = sum(int(np.prod(t.dims)) for t in w.initializers)
    print("%s: %d layers, %.3fB parameters, %.2f GiB of FP32 weights in %s"
          % (args.out, args.layers, params / 1e9, w.offset / 2**30, w.location))
    if args.calib_rows > 0:
        tokens = rng.integers(4, kVocab, size=(args.calib_rows, args.calib_length), dtype=np.int64)
        path = os.path.splitext(args.out)[0] + "_calib.npy"
        np.save(path, tokens)
        print("%s: %d x %d token ids" % (path, args.calib_rows, args.calib_length))


if __name__ == "__main__":
    main()
