#!/usr/bin/python3
"""A one-layer Llama decoder written with onnx.helper in the op patterns a torch
export (opset 17, no com.microsoft ops) produces, for ort_equivalence.py.

It covers: Gather (embedding), CumSum/Sub/Equal/Where (position_ids from the
attention mask), Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul (RMSNorm), shape
arithmetic (Shape/Slice/Gather/Div/Concat/Unsqueeze/Reshape on dynamic dims),
rotary from inv_freq (Cast, MatMul, Concat, Cos, Sin, rotate_half with Slice
and Neg), repeat_kv (Unsqueeze/Expand/Reshape), 4-D MatMul with broadcasting,
the causal mask (ConstantOfShape of -inf, Trilu, Expand, Range, ScatterND),
the padding mask (Cast to/from bool, Not, Where), Softmax over rows that are
entirely -inf (left padding: ORT gives NaN there, and so must pq), SiLU and
the LM head. The attention mask left-pads two of the four samples.
"""
import numpy as np
from onnx import TensorProto, numpy_helper

from make_op_models import GraphBuilder, kSamples

kVocab, kSeq, kDim, kHeads, kKvHeads, kHeadSize, kFfn = 20, 6, 32, 4, 2, 8, 48


def llama_block():
    g = GraphBuilder("llama_block")
    ids = g.input("input_ids", ["batch", kSeq],
                  g.rng.integers(0, kVocab, (kSamples, kSeq)).astype(np.int64))
    mask_rows = [[1] * 6, [0, 0, 1, 1, 1, 1], [1] * 6, [0, 1, 1, 1, 1, 1]]
    mask = g.input("attention_mask", ["batch", kSeq], np.array(mask_rows, np.int64))
    i64 = lambda v: g.const(np.array(v, np.int64))
    f32 = lambda v: g.const(np.array(v, np.float32))
    w = lambda *shape: g.const(g.normal(*shape, scale=0.3))

    # position_ids = cumsum(mask) - 1, with padding positions set to 1.
    pos = g.op("Sub", [g.op("CumSum", [mask, i64(1)]), i64(1)])
    is_pad = g.op("Equal", [mask, i64(0)])
    pos = g.op("Where", [is_pad, i64(1), pos])
    g.output(pos, "position_ids", np.int64)

    def rms_norm(x):
        var = g.op("ReduceMean", [g.op("Pow", [x, f32(2.0)])], axes=[-1], keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, f32(1e-6)])])])
        return g.op("Mul", [g.op("Mul", [x, inv]), w(kDim)])

    hidden = g.op("Gather", [w(kVocab, kDim), ids])
    shape = g.op("Shape", [hidden])
    batch_seq = g.op("Slice", [shape, i64([0]), i64([2])])  # [B, S], dynamic
    batch = g.op("Slice", [shape, i64([0]), i64([1])])  # [B]
    seq = g.op("Gather", [shape, i64(1)])
    seq_1d = g.op("Unsqueeze", [seq, i64([0])])  # [S]

    def heads(x, n):  # [B, S, n * H] -> [B, n, S, H]
        split = g.op("Concat", [batch_seq, i64([n, kHeadSize])], axis=0)
        return g.op("Transpose", [g.op("Reshape", [x, split])], perm=[0, 2, 1, 3])

    normed = rms_norm(hidden)
    q = heads(g.op("MatMul", [normed, w(kDim, kHeads * kHeadSize)]), kHeads)
    k = heads(g.op("MatMul", [normed, w(kDim, kKvHeads * kHeadSize)]), kKvHeads)
    v = heads(g.op("MatMul", [normed, w(kDim, kKvHeads * kHeadSize)]), kKvHeads)

    # Rotary: freqs = pos[..., None] x inv_freq[None]; emb = [freqs, freqs].
    inv_freq = 1.0 / (10000.0 ** (np.arange(0, kHeadSize, 2) / kHeadSize))
    pos_f = g.op("Unsqueeze", [g.op("Cast", [pos], to=TensorProto.FLOAT), i64([-1])])
    freqs = g.op("MatMul", [pos_f, g.const(inv_freq.astype(np.float32)[None, :])])
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), i64([1])])
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), i64([1])])

    def rotate_half(x):
        half = g.op("Div", [g.op("Gather", [g.op("Shape", [x]), i64(3)]), i64(2)])
        x1 = g.op("Slice", [x, i64([0]), g.op("Unsqueeze", [half, i64([0])]), i64([3])])
        x2 = g.op("Slice", [x, g.op("Unsqueeze", [half, i64([0])]), i64([2 ** 62]), i64([3])])
        return g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)

    def rope(x):
        return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotate_half(x), sin])])

    q, k = rope(q), rope(k)

    def repeat_kv(x):  # [B, Nkv, S, H] -> [B, N, S, H]
        rep = kHeads // kKvHeads
        expanded = g.op("Concat", [batch, i64([kKvHeads, rep]), seq_1d, i64([kHeadSize])], axis=0)
        x = g.op("Expand", [g.op("Unsqueeze", [x, i64([2])]), expanded])
        flat = g.op("Concat", [batch, i64([kHeads]), seq_1d, i64([kHeadSize])], axis=0)
        return g.op("Reshape", [x, flat])

    k, v = repeat_kv(k), repeat_kv(v)
    scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                          f32(np.sqrt(kHeadSize))])

    # Causal mask: -inf above the diagonal; padding keys: -inf in their column.
    square = g.op("Concat", [seq_1d, seq_1d], axis=0)
    neg_inf = numpy_helper.from_array(np.array([-np.inf], np.float32))
    causal = g.op("Trilu", [g.op("ConstantOfShape", [square], value=neg_inf), i64(1)], upper=1)
    full_shape = g.op("Concat", [batch, i64([1]), square], axis=0)
    causal = g.op("Expand", [causal, full_shape])
    keep = g.op("Cast", [mask], to=TensorProto.BOOL)
    pad_cols = g.op("Unsqueeze", [g.op("Not", [keep]), i64([1, 2])])  # [B, 1, 1, S]
    masked = g.op("Where", [pad_cols, f32(-np.inf), causal])
    # Write the mask over a zero mask batch row by batch row (HF's slice
    # assignment exports to ScatterND with Range-made indices).
    rows = g.op("Unsqueeze", [g.op("Range", [i64(0), g.op("Gather", [shape, i64(0)]), i64(1)]),
                              i64([1])])
    zeros = g.op("ConstantOfShape", [full_shape],
                 value=numpy_helper.from_array(np.array([0.0], np.float32)))
    attn_mask = g.op("ScatterND", [zeros, rows, masked])
    probs = g.op("Softmax", [g.op("Add", [scores, attn_mask])], axis=-1)
    g.output(probs, "attention_probs")
    attn = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    attn = g.op("Reshape", [attn, g.op("Concat", [batch_seq, i64([-1])], axis=0)])
    hidden = g.op("Add", [hidden, g.op("MatMul", [attn, w(kHeads * kHeadSize, kDim)])])

    normed = rms_norm(hidden)
    gate = g.op("MatMul", [normed, w(kDim, kFfn)])
    silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
    up = g.op("Mul", [silu, g.op("MatMul", [normed, w(kDim, kFfn)])])
    hidden = g.op("Add", [hidden, g.op("MatMul", [up, w(kFfn, kDim)])])
    g.output(g.op("MatMul", [rms_norm(hidden), w(kDim, kVocab)]), "logits")
    valid = g.op("ReduceSum", [g.op("Cast", [keep], to=TensorProto.INT64), i64([1])], keepdims=0)
    g.output(valid, "valid_tokens", np.int64)
    return g.build(17, batch=2)


kFamilies = [llama_block]
