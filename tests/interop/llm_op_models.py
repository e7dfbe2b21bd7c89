#!/usr/bin/python3
"""Models for the ops of decoder-LLM exports (onnxruntime-genai layout, quantized
LLMs), in the style of make_op_models.py: RMS normalization, RotaryEmbedding
(com.microsoft and opset 23), GroupQueryAttention (prompt, decode, continued
prompt, float16), GatherBlockQuantized and float16 MatMulNBits/MatMulBnb4.

GroupQueryAttention's seqlens_k and total_sequence_length are constants, so each
GQA model runs at the batch size its seqlens_k holds. float16 models take float
inputs and cast them to float16 (and their outputs back); gqa_float16 is held to the
default 1e-4, matmulnbits_float16 to kFloat16RelL2 (see kRelL2ByModel).
"""
import numpy as np
from onnx import TensorProto, numpy_helper

from make_op_models import GraphBuilder, kMicrosoft, kSamples, pack_bnb4_nf4, \
    pack_matmul_nbits, pack_zero_points_4bit

# pq rounds float16 values where ORT's CPU provider stores them (gqa_float16 and MatMulNBits
# agree exactly), but ORT also drops the model's Cast(float -> float16) when its consumer
# runs in float32 (MatMulBnb4 here reads the unrounded float a); pq rounds there (2.3e-4).
kFloat16RelL2 = 5e-4
kRelL2ByModel = {"matmulnbits_float16": kFloat16RelL2}
kUint4, kInt4 = 21, 22  # TensorProto data types Debian's python3-onnx 1.12 predates


def rope_caches(rows, rotary_dim, dtype=np.float32):
    """cos/sin caches [rows, rotary_dim / 2] of the usual base-10000 frequencies."""
    inv = 1.0 / (10000.0 ** (np.arange(0, rotary_dim, 2) / rotary_dim))
    angles = np.arange(rows)[:, None] * inv[None, :]
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def const_4bit(g, dtype, values):
    """Adds a packed int4/uint4 initializer (flat, first element in the low nibble)."""
    g.count += 1
    name = f"c{g.count}"
    t = TensorProto(name=name, data_type=dtype, dims=list(values.shape))
    flat = (values.reshape(-1).astype(np.int64) & 0x0F).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, np.uint8(0))
    t.raw_data = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()
    g.inits.append(t)
    return name


def pack_rows(codes, bits):
    """Packs codes [..., K] along the last axis, low bits first, rows padded to bytes."""
    per = 8 // bits
    pad = (-codes.shape[-1]) % per
    padded = np.concatenate([codes, np.zeros(codes.shape[:-1] + (pad,), np.uint8)], axis=-1)
    grouped = padded.reshape(codes.shape[:-1] + (-1, per)).astype(np.uint16)
    return sum(grouped[..., j] << (bits * j) for j in range(per)).astype(np.uint8)


def rms_norm():
    g = GraphBuilder("rms_norm")
    x = g.input("x", ["batch", 3, 16], g.normal(kSamples, 3, 16, scale=2.0, loc=0.3))
    skip = g.input("skip", ["batch", 3, 16], g.normal(kSamples, 3, 16))
    y, inv = g.op("SimplifiedLayerNormalization", [x, g.const(g.normal(16))], outputs=2,
                  epsilon=1e-6)
    g.output(y, "simplified")
    g.output(inv, "simplified_inv_std_var")
    g.output(g.op("SimplifiedLayerNormalization", [x, g.const(g.normal(3, 16))], axis=1),
             "simplified_axis1")
    out, mean, inv, total = g.op("SkipSimplifiedLayerNormalization",
                                 [x, skip, g.const(g.normal(16)), g.const(g.normal(16))],
                                 outputs=4, domain=kMicrosoft, epsilon=1e-5)
    g.output(out, "skip_output")
    g.output(mean, "skip_mean")
    g.output(inv, "skip_inv_std_var")
    g.output(total, "skip_input_skip_bias_sum")
    out, _, _, total = g.op("SkipSimplifiedLayerNormalization",
                            [x, g.const(g.normal(3, 16)), g.const(g.normal(16))],
                            outputs=["skip2_out", "", "", "skip2_sum"], domain=kMicrosoft)
    g.output(out, "skip_broadcast_output")
    g.output(total, "skip_broadcast_sum")
    return g.build(17, batch=2, microsoft=True)


def rotary_embedding():
    """com.microsoft RotaryEmbedding: [B, S, N H] and [B, N, S, H] inputs, token
    positions and a scalar offset, interleaved, partial rotation."""
    g = GraphBuilder("rotary_embedding")
    x = g.input("x", ["batch", 5, 48], g.normal(kSamples, 5, 48))
    x4 = g.input("x4", ["batch", 3, 5, 16], g.normal(kSamples, 3, 5, 16))
    pos = g.input("pos", ["batch", 5], g.rng.integers(0, 24, (kSamples, 5)).astype(np.int64))
    cos, sin = (g.const(c) for c in rope_caches(24, 16))
    pcos, psin = (g.const(c) for c in rope_caches(24, 8))
    g.output(g.op("RotaryEmbedding", [x, pos, cos, sin], domain=kMicrosoft), "halves")
    g.output(g.op("RotaryEmbedding", [x, pos, cos, sin], domain=kMicrosoft, interleaved=1),
             "interleaved")
    g.output(g.op("RotaryEmbedding", [x, pos, pcos, psin], domain=kMicrosoft,
                  rotary_embedding_dim=8, num_heads=3), "partial")
    g.output(g.op("RotaryEmbedding", [x4, g.const(np.array([7], np.int64)), cos, sin],
                  domain=kMicrosoft), "head_major_offset")
    g.output(g.op("RotaryEmbedding", [x4, pos, pcos, psin], domain=kMicrosoft, interleaved=1,
                  rotary_embedding_dim=8, num_heads=3), "head_major_partial_interleaved")
    return g.build(17, batch=2, microsoft=True)


def rotary_embedding_opset23():
    """ai.onnx RotaryEmbedding-23 (ORT wants ir_version >= 10 for opset 23)."""
    g = GraphBuilder("rotary_embedding_opset23")
    x = g.input("x", ["batch", 5, 48], g.normal(kSamples, 5, 48))
    x4 = g.input("x4", ["batch", 3, 5, 16], g.normal(kSamples, 3, 5, 16))
    pos = g.input("pos", ["batch", 5], g.rng.integers(0, 24, (kSamples, 5)).astype(np.int64))
    angles = g.rng.uniform(0, 6.3, (kSamples, 5, 4))
    cos3 = g.input("cos3", ["batch", 5, 4], np.cos(angles).astype(np.float32))
    sin3 = g.input("sin3", ["batch", 5, 4], np.sin(angles).astype(np.float32))
    cos, sin = (g.const(c) for c in rope_caches(24, 16))
    g.output(g.op("RotaryEmbedding", [x, cos, sin, pos], num_heads=3), "position_ids")
    g.output(g.op("RotaryEmbedding", [x4, cos, sin, pos], interleaved=1), "head_major_interleaved")
    g.output(g.op("RotaryEmbedding", [x, cos3, sin3], num_heads=3, rotary_embedding_dim=8),
             "per_token_caches_partial")
    return g.build(23, batch=2, ir_version=10)


class Gqa:
    """The inputs of one GroupQueryAttention model: B = len(seqlens) per run."""

    def __init__(self, g, seq, heads, kv_heads, head_size, past, cache_rows=32,
                 cache_dtype=np.float32):
        self.g, self.heads, self.kv_heads = g, heads, kv_heads
        self.q = g.input("q", ["batch", seq, heads * head_size],
                         g.normal(kSamples, seq, heads * head_size))
        self.k = g.input("k", ["batch", seq, kv_heads * head_size],
                         g.normal(kSamples, seq, kv_heads * head_size))
        self.v = g.input("v", ["batch", seq, kv_heads * head_size],
                         g.normal(kSamples, seq, kv_heads * head_size))
        self.pk = g.input("past_key", ["batch", kv_heads, past, head_size],
                          g.normal(kSamples, kv_heads, past, head_size))
        self.pv = g.input("past_value", ["batch", kv_heads, past, head_size],
                          g.normal(kSamples, kv_heads, past, head_size))
        self.cos, self.sin = (g.const(c) for c in rope_caches(cache_rows, head_size, cache_dtype))

    def node(self, name, seqlens, total, qkv=None, past=True, extra=(), **attrs):
        """Adds a GQA node and exposes its three outputs as name/_present_*."""
        q, k, v = qkv if qkv is not None else (self.q, self.k, self.v)
        inputs = [q, k, v, self.pk if past else "", self.pv if past else "",
                  self.g.const(np.array(seqlens, np.int32)), self.g.const(np.int32(total))]
        if attrs.get("do_rotary"):
            inputs += [self.cos, self.sin]
        if extra:
            inputs += [""] * (9 - len(inputs)) + list(extra)
        outs = self.g.op("GroupQueryAttention", inputs, outputs=3, domain=kMicrosoft,
                         num_heads=self.heads, kv_num_heads=self.kv_heads, **attrs)
        for out, suffix in zip(outs, ["", "_present_key", "_present_value"]):
            self.g.output(out, name + suffix)


def gqa_prompt():
    """First prompts (S == total_sequence_length) with an empty past [B, Nkv, 0, H]."""
    g = GraphBuilder("gqa_prompt")
    a = Gqa(g, seq=8, heads=4, kv_heads=2, head_size=16, past=0)
    a.node("rotary", [7, 7], 8, do_rotary=1)
    a.node("right_padded_interleaved", [7, 4], 8, do_rotary=1, rotary_interleaved=1)
    a.node("window_softcap_scale", [7, 7], 8, local_window_size=3, softcap=2.0, scale=0.2)
    packed = g.op("Concat", [a.q, a.k, a.v], axis=2)
    a.node("packed_qkv", [7, 5], 8, qkv=(packed, "", ""), do_rotary=1)
    a.node("no_past_smooth_softmax", [7, 7], 8, past=False, smooth_softmax=1)
    return g.build(17, batch=2, microsoft=True)


def gqa_decode():
    """One new token per row over a past of 6 (ragged), with the later optional inputs."""
    g = GraphBuilder("gqa_decode")
    a = Gqa(g, seq=1, heads=4, kv_heads=2, head_size=16, past=6)
    a.node("rotary_ragged", [6, 3], 7, do_rotary=1)
    position_ids = g.const(np.array([[20], [5]], np.int64))
    bias = g.const(g.normal(2, 1, 1, 7))
    sink = g.const(g.normal(4))
    a.node("position_ids_bias_sink_softcap", [6, 2], 7, extra=[position_ids, bias, sink],
           do_rotary=1, softcap=1.5)
    a.node("smooth_softmax_window", [6, 4], 7, smooth_softmax=1, local_window_size=4)
    a.node("buffer_longer_than_total", [4, 2], 5, do_rotary=1)  # present T = max(5, 6)
    return g.build(17, batch=2, microsoft=True)


def gqa_continue():
    """A continued prompt: 3 new tokens after 5 past ones (batch 1)."""
    g = GraphBuilder("gqa_continue")
    a = Gqa(g, seq=3, heads=4, kv_heads=1, head_size=32, past=5)
    a.node("rotary", [7], 8, do_rotary=1)
    a.node("position_ids_bias", [6], 7,
           extra=[g.const(np.array([[10, 11, 12]], np.int64)), g.const(g.normal(1, 4, 3, 7))],
           do_rotary=1)
    return g.build(17, batch=1, microsoft=True)


def gqa_float16():
    """Decode in float16: float inputs cast to float16, outputs cast back."""
    g = GraphBuilder("gqa_float16")
    a = Gqa(g, seq=1, heads=4, kv_heads=2, head_size=16, past=5, cache_dtype=np.float16)
    half = [g.op("Cast", [v], to=TensorProto.FLOAT16) for v in (a.q, a.k, a.v, a.pk, a.pv)]
    inputs = [*half, g.const(np.array([5, 3], np.int32)), g.const(np.int32(6)), a.cos, a.sin]
    outs = g.op("GroupQueryAttention", inputs, outputs=3, domain=kMicrosoft, num_heads=4,
                kv_num_heads=2, do_rotary=1)
    for out, name in zip(outs, ["output", "present_key", "present_value"]):
        g.output(g.op("Cast", [out], to=TensorProto.FLOAT), name)
    return g.build(17, batch=2, microsoft=True)


def gqa_prefill():
    """A 64-token prompt, 4 query heads of 32 (the size the kernel is timed at)."""
    g = GraphBuilder("gqa_prefill")
    a = Gqa(g, seq=64, heads=4, kv_heads=2, head_size=32, past=0, cache_rows=128)
    a.node("prefill", [63], 64, do_rotary=1)
    return g.build(17, batch=1, microsoft=True)


def gather_block_quantized():
    g = GraphBuilder("gather_block_quantized")
    idx = g.input("idx", ["batch", 3], g.rng.integers(-6, 6, (kSamples, 3)).astype(np.int64))
    vocab, dim, block = 6, 40, 16
    blocks = -(-dim // block)
    scales = lambda *shape: g.const((np.abs(g.normal(*shape)) * 0.1 + 0.01).astype(np.float32))
    for bits in (4, 8, 2):
        codes = g.rng.integers(0, 2 ** bits, (vocab, dim)).astype(np.uint8)
        zero = g.rng.integers(0, 2 ** bits, (vocab, blocks)).astype(np.uint8)
        data = g.const(pack_rows(codes, bits) if bits < 8 else codes)
        zp = g.const(pack_rows(zero, bits) if bits < 8 else zero)
        g.output(g.op("GatherBlockQuantized", [data, idx, scales(vocab, blocks), zp],
                      domain=kMicrosoft, bits=bits, block_size=block), f"uint8_bits{bits}")
        g.output(g.op("GatherBlockQuantized", [data, idx, scales(vocab, blocks)],
                      domain=kMicrosoft, bits=bits, block_size=block),
                 f"uint8_bits{bits}_default_zero_point")
    idx32 = g.op("Cast", [idx], to=TensorProto.INT32)
    u4 = const_4bit(g, kUint4, g.rng.integers(0, 16, (vocab, dim)))
    g.output(g.op("GatherBlockQuantized", [u4, idx32, scales(vocab, blocks)], domain=kMicrosoft,
                  block_size=block), "uint4")
    s4 = const_4bit(g, kInt4, g.rng.integers(-8, 8, (vocab, dim)))
    z4 = const_4bit(g, kInt4, g.rng.integers(-8, 8, (1, dim)))
    g.output(g.op("GatherBlockQuantized", [s4, idx, scales(1, dim), z4], domain=kMicrosoft,
                  block_size=block, gather_axis=1, quantize_axis=0), "int4_gather_axis1")
    return g.build(17, batch=2, microsoft=True)


def matmulnbits_float16():
    """MatMulNBits and MatMulBnb4 with float16 A, scales and bias."""
    g = GraphBuilder("matmulnbits_float16")
    a = g.op("Cast", [g.input("a", ["batch", 3, 40], g.normal(kSamples, 3, 40))],
             to=TensorProto.FLOAT16)
    n, k, bs = 6, 40, 16
    blocks = -(-k // bs)
    b = g.const(pack_matmul_nbits(g.rng.integers(0, 16, (n, k)).astype(np.uint8), bs))
    s16 = g.const((np.abs(g.normal(n * blocks)) * 0.1 + 0.01).astype(np.float16))
    zp = g.const(pack_zero_points_4bit(g.rng.integers(0, 16, (n, blocks)).astype(np.uint8)))
    y = g.op("MatMulNBits", [a, b, s16, zp, "", g.const(g.normal(n).astype(np.float16))],
             domain=kMicrosoft, K=k, N=n, bits=4, block_size=bs)
    g.output(g.op("Cast", [y], to=TensorProto.FLOAT), "matmulnbits")
    packed, absmax = pack_bnb4_nf4(g.normal(7, k), 64)
    z = g.op("MatMulBnb4", [a, g.const(packed), g.const(absmax.astype(np.float16))],
             domain=kMicrosoft, K=k, N=7, block_size=64, quant_type=1)
    g.output(g.op("Cast", [z], to=TensorProto.FLOAT), "matmulbnb4")
    return g.build(17, batch=2, microsoft=True)


kFamilies = [rms_norm, rotary_embedding, rotary_embedding_opset23, gqa_prompt, gqa_decode,
             gqa_continue, gqa_float16, gqa_prefill, gather_block_quantized, matmulnbits_float16]
