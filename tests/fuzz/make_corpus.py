#!/usr/bin/python3
"""Regenerates the seed corpus of pq's fuzz targets in tests/fuzz/corpus/.

Seeds are small hand-made models, arrays and tensors, plus ONNX's backend node
test models and tensors from Debian's libonnx-testdata. Files of crashes found
by fuzzing (named crash-*, oom-*, timeout-* or regression-*) are kept as they
are. Run: /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
KEEP_PREFIXES = ("crash-", "oom-", "timeout-", "leak-", "regression-")


def reset(target):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if not name.startswith(KEEP_PREFIXES):
            os.remove(os.path.join(folder, name))
    return folder


def put(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def tiny_matmul(opset=13, ir=8):
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, "W")
    b = numpy_helper.from_array(np.array([0.5, -1, 2], dtype=np.float32), "B")
    nodes = [helper.make_node("MatMul", ["X", "W"], ["XW"], name="matmul"),
             helper.make_node("Add", ["XW", "B"], ["Y"], name="add")]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 3])], [w, b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def hand_made_models():
    models = {}
    models["tiny_matmul"] = tiny_matmul()
    models["tiny_opset21_ir10"] = tiny_matmul(21, 10)
    m = tiny_matmul()
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.float_data.extend([0.1 * i for i in range(12)])
    models["typed_fields"] = m
    # Constant nodes in every form pq reads.
    nodes = [helper.make_node("Constant", [], ["c_t"], value=numpy_helper.from_array(np.ones((2, 2), np.float32))),
             helper.make_node("Constant", [], ["c_f"], value_float=1.5),
             helper.make_node("Constant", [], ["c_fs"], value_floats=[1.0, 2.0]),
             helper.make_node("Constant", [], ["c_i"], value_int=3),
             helper.make_node("Constant", [], ["c_is"], value_ints=[1, 2, 3]),
             helper.make_node("Add", ["X", "c_t"], ["Y"])]
    g = helper.make_graph(nodes, "consts", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 2])])
    models["constants"] = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    # An If with subgraphs.
    then_g = helper.make_graph([helper.make_node("Identity", ["X"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["X"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    nodes = [helper.make_node("If", ["C"], ["Y"], then_branch=then_g, else_branch=else_g)]
    g = helper.make_graph(nodes, "if", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2]),
                                        helper.make_tensor_value_info("C", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    models["if_subgraph"] = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    # A small conv net with a quantized (QDQ) weight and a com.microsoft op.
    wq = numpy_helper.from_array(np.arange(-8, 10, dtype=np.int8).reshape(2, 1, 3, 3), "Wq")
    sc = numpy_helper.from_array(np.array(0.05, np.float32), "s")
    zp = numpy_helper.from_array(np.array(0, np.int8), "z")
    nodes = [helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["W"]),
             helper.make_node("Conv", ["X", "W"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["Y"])]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 8])], [wq, sc, zp])
    models["qdq_conv"] = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    # Other dtypes as initializers (float16, int4-range int8, string).
    inits = [numpy_helper.from_array(np.ones((2, 2), np.float16), "h"),
             numpy_helper.from_array(np.ones((3,), np.float64), "d"),
             numpy_helper.from_array(np.array([1, 2], np.uint64), "u"),
             helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"b"])]
    nodes = [helper.make_node("Cast", ["h"], ["Y"], to=TensorProto.FLOAT)]
    g = helper.make_graph(nodes, "dtypes", [], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 2])], inits)
    models["dtypes"] = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return models


def external_model(location, offset, length, dims=(4, 3)):
    m = tiny_matmul()
    w = m.graph.initializer[0]
    del w.dims[:]
    w.dims.extend(dims)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = w.external_data.add()
            e.key, e.value = k, v
    return m.SerializeToString()


def external_seed(model_bytes, data):
    return struct.pack("<I", len(model_bytes)) + model_bytes + data


def npy_bytes(array, fortran=False, version=None):
    buf = io.BytesIO()
    if fortran:
        array = np.asfortranarray(array)
    if version is None:
        np.save(buf, array)
    else:
        np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def pb_varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v >= 0x80 else 0))
        v >>= 7
        if not v:
            return bytes(out)


def pb_field(number, wire_type, payload):
    """A protobuf field: varint payloads are ints, the others bytes."""
    tag = pb_varint(number << 3 | wire_type)
    if wire_type == 0:
        return tag + pb_varint(payload)
    if wire_type == 2:
        return tag + pb_varint(len(payload)) + payload
    return tag + payload


def spm_model(pieces, trainer):
    """A SentencePiece ModelProto: pieces are (piece, score, type)."""
    out = b""
    for piece, score, kind in pieces:
        out += pb_field(1, 2, pb_field(1, 2, piece.encode()) + pb_field(2, 5, struct.pack("<f", score))
                        + pb_field(3, 0, kind))
    return out + pb_field(2, 2, trainer) + pb_field(3, 2, pb_field(1, 2, b"identity"))


def tokenizer_seeds():
    """Seeds of the tokenizer target: SentencePiece models and tokenizer.json files."""
    tok = reset("tokenizer")
    sample = open(os.path.join(HERE, "..", "..", "models", "tiny_llm", "tokenizer.model"), "rb").read()
    put(tok, "tiny_llm_head.model", sample[:2048])
    put(tok, "tiny_llm_tail.model", sample[-1024:])
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3), ("<0x41>", 0.0, 6), ("a", -1.0, 1),
              ("b", -2.0, 1), ("<user>", 0.0, 4), ("old", 0.0, 5)]
    bpe = pb_field(3, 0, 2) + pb_field(40, 0, 0) + pb_field(41, 0, 1) + pb_field(42, 0, 2) + pb_field(43, 0, -1)
    put(tok, "small_bpe.model", spm_model(pieces, bpe))
    put(tok, "small_unigram.model", spm_model(pieces, pb_field(3, 0, 1)))
    put(tok, "word.model", spm_model(pieces, pb_field(3, 0, 3)))
    put(tok, "groups.model", pb_field(9, 3, pb_field(1, 0, 1) + pb_field(9, 4, b"")) + spm_model(pieces[:3], b""))
    gpt2 = {
        "version": "1.0",
        "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": True},
                         {"id": 7, "content": "<user>", "special": False}],
        "post_processor": {"type": "ByteLevel"},
        "model": {"type": "BPE", "unk_token": None,
                  "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120a": 4, "\u0120ab": 5, "<|endoftext|>": 6},
                  "merges": ["a b", "\u0120 a", "\u0120a b"]},
    }
    put(tok, "gpt2.json", json.dumps(gpt2).encode())
    gpt2["model"]["merges"] = [["a", "b"], ["\u0120", "a"], ["\u0120a", "b"]]
    put(tok, "gpt2_pairs.json", json.dumps(gpt2).encode())
    llama = {
        "added_tokens": [{"id": 0, "content": "<unk>", "special": True}, {"id": 1, "content": "<s>", "special": True},
                         {"id": 2, "content": "</s>", "special": True}],
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel"},
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                      {"Sequence": {"id": "A", "type_id": 0}}]}]},
        "model": {"type": "BPE", "byte_fallback": True, "unk_token": "<unk>",
                  "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "x": 4}, "merges": []},
    }
    put(tok, "llama.json", json.dumps(llama).encode())
    put(tok, "wordpiece.json", b'{"model": {"type": "WordPiece", "vocab": {"a": 0}}}')
    put(tok, "gap.json", b'{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}}}')

def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_file(kvs, tensors, alignment=32):
    """GGUF v3 bytes: kvs are (key, type id, packed value); tensors are
    (name, dims, ggml type, data bytes), laid out in order, aligned."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, vtype, packed in kvs:
        out += gguf_string(key) + struct.pack("<I", vtype) + packed
    offset, data = 0, b""
    for name, dims, gtype, blob in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", gtype, offset)
        padded = blob + b"\0" * (-len(blob) % alignment)
        data += padded
        offset += len(padded)
    out += b"\0" * (-len(out) % alignment)
    return out + data


def gguf_seeds():
    """Small GGUF files: every value type, arrays, a few tensor types."""
    kvs = [("general.architecture", 8, gguf_string("llama")),
           ("u8", 0, struct.pack("<B", 7)), ("i8", 1, struct.pack("<b", -7)),
           ("u16", 2, struct.pack("<H", 700)), ("i16", 3, struct.pack("<h", -700)),
           ("u32", 4, struct.pack("<I", 70000)), ("i32", 5, struct.pack("<i", -70000)),
           ("f32", 6, struct.pack("<f", 0.5)), ("bool", 7, b"\x01"),
           ("u64", 10, struct.pack("<Q", 1 << 40)), ("i64", 11, struct.pack("<q", -(1 << 40))),
           ("f64", 12, struct.pack("<d", 0.25)),
           ("tokens", 9, struct.pack("<IQ", 8, 3) + gguf_string("a") + gguf_string("bc") + gguf_string("")),
           ("scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.5, -1.0))]
    q8 = struct.pack("<e", 0.1) + bytes(range(32))
    q4k = bytes(range(144))
    seeds = {
        "values_only.gguf": gguf_file(kvs, []),
        "tensors.gguf": gguf_file(kvs[:3], [("f32", [4, 2], 0, struct.pack("<8f", *range(8))),
                                            ("q8", [32], 8, q8), ("q4k", [256], 12, q4k),
                                            ("f16", [3], 1, struct.pack("<3e", 1, 2, 3))]),
        "aligned64.gguf": gguf_file([("general.alignment", 4, struct.pack("<I", 64))],
                                    [("a", [32], 2, bytes(18)), ("b", [32], 20, bytes(18))], 64),
        "empty.gguf": gguf_file([], []),
    }
    return seeds


def pqcal_doc(bins=256, shards=((1, 4),), count=2):
    """A consistent .pqcal document: one tensor of 10 values (2 NaN)."""
    positive = [0] * bins
    negative = [0] * bins
    positive[0], positive[bins // 2], negative[3] = 3, 2, 3  # 3 zeros, 2 at 0.5, 3 near -0
    tensor = {"count": 10, "nan": 2, "inf": 0, "zeros": 3, "min": -0.013, "max": 0.5,
              "exponent": 0,
              "positive": {"first": 0, "counts": positive[:bins // 2 + 1]},
              "negative": {"first": 3, "counts": [3]}}
    return {"format": "pq-calibration-statistics", "version": 1, "pq_version": "0.1.0",
            "model": {"name": "m.onnx", "sha256": "0" * 64}, "preparation": [],
            "data": {"files": [{"path": "calib.npy", "sha256": "1" * 64, "samples": 4}],
                     "samples_limit": 0, "batch": 1},
            "shards": {"count": count, "parts": [{"index": i, "samples": n} for i, n in shards]},
            "samples": sum(n for _, n in shards), "bins": bins,
            "tensors": {"x": tensor, "empty": {"count": 0, "nan": 0, "inf": 0, "zeros": 0,
                                               "min": None, "max": None, "exponent": -100,
                                               "positive": {"first": 0, "counts": []},
                                               "negative": {"first": 0, "counts": []}}}}


def pqcal_seeds():
    """.pqcal files: valid ones, truncated, foreign, inconsistent."""
    good = json.dumps(pqcal_doc(), indent=1).encode()
    bad_counts = pqcal_doc()
    bad_counts["tensors"]["x"]["count"] = 11
    huge = pqcal_doc(bins=1 << 16)
    return {
        "good.pqcal": good,
        "two_shards.pqcal": json.dumps(pqcal_doc(shards=((1, 2), (2, 2)))).encode(),
        "truncated.pqcal": good[: len(good) // 2],
        "foreign.pqcal": b'{"schema_version": 1, "tool": {"name": "pq"}}',
        "bad_counts.pqcal": json.dumps(bad_counts).encode(),
        "huge_bins.pqcal": json.dumps(huge).encode(),
    }


def config_seeds():
    """--config files (TOML and INI) for the config target: global options, a
    section per subcommand, arrays, every value type, and files CLI11 refuses."""
    return {
        "quantize.toml": b"""# pq quantize settings
log-level = "debug"
quiet = false

[quantize]
scheme = "int8"
calib = ["calib_a.npy", "calib_b.npy"]
calib-method = "percentile"
percentile = 99.99
calib-samples = 64
granularity = "per-tensor"
op-types = "Conv,MatMul"
exclude-nodes = ["head/MatMul", "stem/Conv"]
weights-only = false
threads = 2
report-detail = "summary"
min-sqnr = 25.5
validate = "val.npy"
task = "classification"
""",
        "quantize_model.ini": b"""; MODEL and -o from the file
[quantize]
MODEL=model.onnx
output=out.onnx
scheme=int4-weight
block-size=64
int4-format=matmulnbits
force=true
""",
        "every_command.toml": b"""[calibrate]
calib = "c.npy"
shard = "1/4"
[run]
data = ["x.npy"]
batch = 4
[compare]
data = "x.npy"
max-flip-rate = 0.01
min-cosine = 0.999
timing-runs = 3
[analyze]
threads = 1
[report]
format = "html"
[inspect]
json = true
[convert]
external-data = true
external-threshold = 1024
[schemes]
json = true
""",
        "dotted.toml": b"""quantize.scheme = "nf4"
quantize.double-quant = true
quantize.nf4-format = "bnb"
"quantize".'calib' = 'x.npy'
""",
        "nested.toml": b"""[quantize.overrides]
"conv1" = "int8"
[[quantize]]
scheme = "int8"
[quantize.sub.deeper]
x = 1
""",
        "multiline.toml": b"[quantize]\nscheme = \"\"\"int8\"\"\"\nexclude-nodes = [\n  \"a\", # first\n"
                          b"  \"b\",\n]\ncalib = 'lit\\eral.npy'\n",
        "bad_values.toml": b"""[quantize]
percentile = "high"
threads = -3
calib-samples = 1e400
block-size = 0x10
context-length = 99999999999999999999999
granularity = ["per-channel", "per-tensor"]
""",
        "unknown.ini": b"""[nosuchcommand]
flag = 1
[quantize]
no-such-option = true
""",
        "help.toml": b"""help = true
version = true
[quantize]
help = true
""",
        "garbage.toml": b"[quantize\nscheme = \"int8\n= 3\n[[[]]]\n\x00\xff\n",
        "empty.toml": b"",
    }


def main():
    rng = np.random.default_rng(0)
    models = hand_made_models()

    loader = reset("model_loader")
    for name, m in models.items():
        put(loader, name + ".onnx", m.SerializeToString())
    executor = reset("executor")
    for name, m in models.items():
        put(executor, name + ".onnx", m.SerializeToString())
    node_dirs = sorted(os.listdir(NODE_TESTS)) if os.path.isdir(NODE_TESTS) else []
    seen_loader = set()
    for d in node_dirs:
        path = os.path.join(NODE_TESTS, d, "model.onnx")
        if not os.path.exists(path):
            continue
        data = open(path, "rb").read()
        if len(data) > 4096:
            continue
        put(executor, "node_" + d + ".onnx", data)
        family = d.split("_")[1] if "_" in d else d
        if family not in seen_loader:  # one per op family for the loader
            seen_loader.add(family)
            put(loader, "node_" + d + ".onnx", data)

    ext = reset("external_data")
    w = np.arange(12, dtype=np.float32).tobytes()
    cases = {
        "plain": ("w.bin", "0", "48", w),
        "offset": ("w.bin", "16", "48", bytes(16) + w),
        "no_length": ("w.bin", "0", None, w),
        "subfolder": ("sub/w.bin", "0", "48", w),
        "dot_slash": ("./w.bin", "0", "48", w),
        "symlink": ("link.bin", "0", "48", w),
        "hardlink": ("hard.bin", "0", "48", w),
        "dotdot": ("../secret.bin", "0", "48", w),
        "absolute": ("/etc/passwd", "0", "48", w),
        "backslash": ("sub\\w.bin", "0", "48", w),
        "past_end": ("w.bin", "16", "48", w),
        "overflow": ("w.bin", "9223372036854775800", "48", w),
        "huge_length": ("w.bin", "8", "9223372036854775800", w),
        "negative": ("w.bin", "-1", "48", w),
        "short": ("w.bin", "0", "44", w),
    }
    for name, (loc, off, length, data) in cases.items():
        put(ext, name, external_seed(external_model(loc, off, length), data))
    put(ext, "huge_dims", external_seed(external_model("w.bin", "0", "48", dims=(1 << 40, 1 << 40)), w))

    npy = reset("npy")
    arrays = {
        "f4_2d": rng.standard_normal((3, 4)).astype(np.float32),
        "f8": rng.standard_normal((2, 3)),
        "f2": rng.standard_normal((4,)).astype(np.float16),
        "i8": np.arange(6, dtype=np.int64).reshape(2, 3),
        "i4": np.arange(4, dtype=np.int32),
        "u1": np.arange(8, dtype=np.uint8).reshape(2, 2, 2),
        "i1": np.arange(-3, 3, dtype=np.int8),
        "b1": np.array([True, False, True]),
        "u2": np.arange(3, dtype=np.uint16),
        "scalar": np.array(3.5, np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "big_endian": np.arange(6, dtype=">f4").reshape(3, 2),
    }
    for name, a in arrays.items():
        put(npy, name + ".npy", npy_bytes(a))
    put(npy, "fortran.npy", npy_bytes(np.arange(24, dtype=np.float32).reshape(2, 3, 4), fortran=True))
    put(npy, "v2.npy", npy_bytes(np.ones((2, 2), np.float32), version=(2, 0)))
    put(npy, "v3.npy", npy_bytes(np.ones((2, 2), np.float32), version=(3, 0)))
    put(npy, "object.npy", b"\x93NUMPY\x01\x00\x76\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }" + b" " * 58 + b"\n")
    put(npy, "structured.npy", b"\x93NUMPY\x01\x00\x46\x00{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n")
    put(npy, "truncated.npy", npy_bytes(np.ones((4, 4), np.float32))[:-7])

    npz = reset("npz")
    for name, kwargs in {
        "two_arrays": {"x": np.ones((2, 3), np.float32), "y": np.arange(2, dtype=np.int64)},
        "one_array": {"input": rng.standard_normal((2, 1, 4, 4)).astype(np.float32)},
        "fortran": {"f": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))},
    }.items():
        buf = io.BytesIO()
        np.savez(buf, **kwargs)
        put(npz, name + ".npz", buf.getvalue())
    buf = io.BytesIO()
    np.savez_compressed(buf, x=np.zeros((8, 8), np.float32))
    put(npz, "compressed.npz", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bad.npy", b"\x93NUMPY\x01\x00\xff\xff{")
        z.writestr("notes.txt", b"not an array")
    put(npz, "bad_member.npz", buf.getvalue())

    tp = reset("tensor_proto")
    seen_sig = set()
    total = 0
    for d in node_dirs:
        for name in ("input_0.pb", "input_1.pb", "output_0.pb"):
            path = os.path.join(NODE_TESTS, d, "test_data_set_0", name)
            if not os.path.exists(path):
                continue
            data = open(path, "rb").read()
            if len(data) > 1024:
                continue
            t = TensorProto()
            t.ParseFromString(data)
            sig = (t.data_type, len(t.dims), t.HasField("raw_data"))
            if sig in seen_sig:
                continue
            seen_sig.add(sig)
            total += len(data)
            put(tp, d + "_" + name, data)
    typed = helper.make_tensor("typed", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    put(tp, "typed_float.pb", typed.SerializeToString())
    put(tp, "typed_int64.pb", helper.make_tensor("i", TensorProto.INT64, [3], [1, 2, 3]).SerializeToString())
    mismatch = helper.make_tensor("m", TensorProto.FLOAT, [2], [1.0, 2.0])
    mismatch.dims[:] = [3, 3]
    put(tp, "mismatch.pb", mismatch.SerializeToString())

    tokenizer_seeds()

    gg = reset("gguf_reader")
    for name, data in gguf_seeds().items():
        put(gg, name, data)

    pc = reset("pqcal")
    for name, data in pqcal_seeds().items():
        put(pc, name, data)

    cf = reset("config")
    for name, data in config_seeds().items():
        put(cf, name, data)

    # model_mutator's small committed seed set; tools/fuzz.sh adds a few
    # hundred more models at run time.
    mm = reset("model_mutator")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "tools", "fuzz_model_seeds.py"), mm,
                    "--committed"], check=True)

    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(CORPUS) for f in fs)
    print(f"corpus: {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
