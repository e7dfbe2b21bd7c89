#!/usr/bin/python3
"""Write the tiny LLM in the layout of onnxruntime-genai's model builder (layout b).

Reads the weights of the optimum-layout export (layout a, tools/train_tiny_llm.py) and
the hyper-parameters of config.json, and writes the same network the way
onnxruntime-genai's builder (src/python/py/models/builders/base.py) writes a Llama model
for the CPU with separate q/k/v projections (its `disable_qkv_fusion` option; --packed-qkv
writes the builder's default single qkv_proj MatMul instead):

  inputs  input_ids [batch_size, sequence_length] int64
          attention_mask [batch_size, total_sequence_length] int64
          past_key_values.{i}.key / .value [batch_size, kv_heads, past_sequence_length, head_dim]
  outputs logits [batch_size, sequence_length, vocab]
          present.{i}.key / .value [batch_size, kv_heads, total_sequence_length, head_dim]

  embed_tokens Gather
  attention mask -> seqlens_k = int32(ReduceSum(attention_mask, axis 1) - 1)   [batch_size]
                 -> total_seq_len = int32(Shape(attention_mask)[1])             scalar
  layer i: input norm      (layer 0: SimplifiedLayerNormalization, default domain;
                            else com.microsoft SkipSimplifiedLayerNormalization adding the
                            previous MLP output to the residual, output 3 = new residual)
           q/k/v MatMul -> com.microsoft GroupQueryAttention (rotary inside: do_rotary 1,
                            rotary_interleaved 0, cos_cache/sin_cache [max_pos, head_dim/2])
           o_proj MatMul -> post-attention SkipSimplifiedLayerNormalization
           gate MatMul -> Sigmoid -> Mul (SiLU), up MatMul, Mul, down MatMul
  final SkipSimplifiedLayerNormalization (output 0 only) -> lm_head MatMul -> logits

GroupQueryAttention derives each token's rotary position from seqlens_k: a first prompt
(sequence_length == total_sequence_length) uses positions 0..S-1; otherwise token s of
batch row b sits at seqlens_k[b] - S + 1 + s. Inputs must therefore be unpadded on the
left (or right-padded), as genai feeds them. Opset 21 and IR version 10, as the builder
writes; python onnx 1.12 cannot check opset 21, so no onnx.checker run (the file is
verified by running it in ONNX Runtime, tools/check_tiny_llm.py).

Requires python3-onnx and python3-numpy only (no torch):

  /usr/bin/python3 tools/make_tiny_llm_genai.py                       # models/tiny_llm defaults
  /usr/bin/python3 tools/make_tiny_llm_genai.py --src A.onnx --config config.json --out B.onnx
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 21
IR_VERSION = 10
MS_DOMAIN = "com.microsoft"


class GraphWriter:
    """Collects nodes and initializers; constants are Constant nodes named as genai's
    (/model/constants/INT64/[1] produced by /model/constant_nodes/INT64/[1])."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.constants = set()

    def node(self, op_type, inputs, outputs, name, domain="", **attrs):
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, domain=domain, **attrs))
        return outputs[0]

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def constant_int64(self, value):
        name = "/model/constants/INT64/%s" % (json.dumps(value) if isinstance(value, list) else value)
        if name not in self.constants:
            self.constants.add(name)
            tensor = numpy_helper.from_array(np.array(value, dtype=np.int64), name)
            self.nodes.append(helper.make_node(
                "Constant", [], [name], name=name.replace("constants", "constant_nodes"), value=tensor))
        return name


def read_weights(model_proto):
    return {t.name: numpy_helper.to_array(t) for t in model_proto.graph.initializer}


def build(weights, cfg, packed_qkv):
    """Returns the layout-(b) ModelProto for the weights of a layout-(a) export."""
    n_layers = cfg["num_hidden_layers"]
    n_heads, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim, vocab = cfg["head_dim"], cfg["vocab_size"]
    eps = float(cfg["rms_norm_eps"])
    w = GraphWriter()

    def weight(name):
        return weights[name].astype(np.float32)

    # Embedding
    w.initializer("model.embed_tokens.weight", weight("model.embed_tokens.weight"))
    embedded = w.node("Gather", ["model.embed_tokens.weight", "input_ids"],
                      ["/model/embed_tokens/Gather/output_0"], "/model/embed_tokens/Gather")

    # Attention mask -> seqlens_k, total_seq_len
    base = "/model/attn_mask_reformat/attn_mask_subgraph"
    one = w.constant_int64([1])
    total = w.node("ReduceSum", ["attention_mask", one], [base + "/ReduceSum/output_0"],
                   base + "/ReduceSum", keepdims=0)
    minus_one = w.node("Sub", [total, one], [base + "/Sub/output_0"], base + "/Sub")
    seqlens_k = w.node("Cast", [minus_one], [base + "/Sub/Cast/output_0"], base + "/Sub/Cast",
                       to=TensorProto.INT32)
    shape = w.node("Shape", ["attention_mask"], [base + "/Shape/output_0"], base + "/Shape")
    width = w.node("Gather", [shape, w.constant_int64(1)], [base + "/Gather/output_0"],
                   base + "/Gather", axis=0)
    total_seq_len = w.node("Cast", [width], [base + "/Gather/Cast/output_0"], base + "/Gather/Cast",
                           to=TensorProto.INT32)

    # Rotary caches: the first head_dim/2 columns of the HF tables (cat(freqs, freqs)).
    half = head_dim // 2
    w.initializer("cos_cache", weight("model.rotary_emb.cos_cached")[:, :half])
    w.initializer("sin_cache", weight("model.rotary_emb.sin_cached")[:, :half])

    root, skip = embedded, None  # residual stream and the pending branch output

    def norm(layer, location, gamma, last=False):
        nonlocal root, skip
        prefix = "/model/layers.%d/%s_layernorm" % (layer, location)
        gamma_name = w.initializer("model.layers.%d.%s_layernorm.weight" % (layer, location), gamma)
        out0 = prefix + "/output_0"
        if skip is None:
            w.node("SimplifiedLayerNormalization", [root, gamma_name], [out0], prefix + "/LayerNorm",
                   epsilon=eps, axis=-1, stash_type=1)
            return out0
        outputs = [out0] if last else [out0, "", "", prefix + "/output_3"]
        w.node("SkipSimplifiedLayerNormalization", [root, skip, gamma_name], outputs,
               prefix + "/SkipLayerNorm", domain=MS_DOMAIN, epsilon=eps)
        if not last:
            root = prefix + "/output_3"
        return out0

    def matmul(basename, input_name, array):
        name = basename[1:].replace("/", ".") + ".weight"
        w.initializer(name, array)
        return w.node("MatMul", [input_name, name], [basename + "/output_0"], basename)

    for i in range(n_layers):
        hf = "model.layers.%d." % i
        x = norm(i, "input", weight(hf + "input_layernorm.weight"))
        attn = "/model/layers.%d/attn" % i
        q_w = weight(hf + "self_attn.q_proj.weight")
        k_w = weight(hf + "self_attn.k_proj.weight")
        v_w = weight(hf + "self_attn.v_proj.weight")
        if packed_qkv:
            qkv = matmul(attn + "/qkv_proj/MatMul", x, np.concatenate([q_w, k_w, v_w], axis=1))
            q, k, v = qkv, "", ""
        else:
            q = matmul(attn + "/q_proj/MatMul", x, q_w)
            k = matmul(attn + "/k_proj/MatMul", x, k_w)
            v = matmul(attn + "/v_proj/MatMul", x, v_w)
        gqa = w.node(
            "GroupQueryAttention",
            [q, k, v, "past_key_values.%d.key" % i, "past_key_values.%d.value" % i,
             seqlens_k, total_seq_len, "cos_cache", "sin_cache"],
            [attn + "/GroupQueryAttention/output_0", "present.%d.key" % i, "present.%d.value" % i],
            attn + "/GroupQueryAttention", domain=MS_DOMAIN,
            num_heads=n_heads, kv_num_heads=n_kv, scale=float(1.0 / np.sqrt(head_dim)),
            local_window_size=-1, softcap=0.0, do_rotary=1, rotary_interleaved=0)
        skip = matmul(attn + "/o_proj/MatMul", gqa, weight(hf + "self_attn.o_proj.weight"))

        x = norm(i, "post_attention", weight(hf + "post_attention_layernorm.weight"))
        mlp = "/model/layers.%d/mlp" % i
        gate = matmul(mlp + "/gate_proj/MatMul", x, weight(hf + "mlp.gate_proj.weight"))
        up = matmul(mlp + "/up_proj/MatMul", x, weight(hf + "mlp.up_proj.weight"))
        sig = w.node("Sigmoid", [gate], [mlp + "/act_fn/Sigmoid/output_0"], mlp + "/act_fn/Sigmoid")
        act = w.node("Mul", [gate, sig], [mlp + "/act_fn/Mul/output_0"], mlp + "/act_fn/Mul")
        prod = w.node("Mul", [act, up], [mlp + "/Mul/output_0"], mlp + "/Mul")
        skip = matmul(mlp + "/down_proj/MatMul", prod, weight(hf + "mlp.down_proj.weight"))

    x = norm(n_layers, "final_norm", weight("model.norm.weight"), last=True)
    w.initializer("lm_head.MatMul.weight", weight("lm_head.weight"))
    w.node("MatMul", [x, "lm_head.MatMul.weight"], ["logits"], "/lm_head/MatMul")

    def tensor(name, elem, dims):
        return helper.make_tensor_value_info(name, elem, dims)

    kv_in = ["batch_size", n_kv, "past_sequence_length", head_dim]
    kv_out = ["batch_size", n_kv, "total_sequence_length", head_dim]
    inputs = [tensor("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              tensor("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])]
    outputs = [tensor("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", vocab])]
    for i in range(n_layers):
        for kv in ("key", "value"):
            inputs.append(tensor("past_key_values.%d.%s" % (i, kv), TensorProto.FLOAT, kv_in))
            outputs.append(tensor("present.%d.%s" % (i, kv), TensorProto.FLOAT, kv_out))
    graph = helper.make_graph(w.nodes, "main_graph", inputs, outputs, w.initializers)
    model = helper.make_model(graph, producer_name="pq tools/make_tiny_llm_genai.py",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid(MS_DOMAIN, 1)])
    model.ir_version = IR_VERSION
    model.doc_string = ("pq sample LLM (models/tiny_llm) in the layout of onnxruntime-genai's "
                        "model builder; same weights as the optimum-layout export.")
    return model


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_dir = os.path.join(here, "models", "tiny_llm")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default=os.path.join(default_dir, "tiny_llm_optimum.onnx"),
                        help="layout-(a) export whose initializers are the weights")
    parser.add_argument("--config", default=os.path.join(default_dir, "config.json"))
    parser.add_argument("--out", default=os.path.join(default_dir, "tiny_llm_genai.onnx"))
    parser.add_argument("--packed-qkv", action="store_true",
                        help="one qkv_proj MatMul feeding GroupQueryAttention packed (genai's default)")
    args = parser.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    model = build(read_weights(onnx.load(args.src)), cfg, args.packed_qkv)
    onnx.save(model, args.out)
    ops = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    print("wrote %s (%d nodes, %d bytes): %s" % (
        args.out, len(model.graph.node), os.path.getsize(args.out),
        ", ".join("%s=%d" % kv for kv in sorted(ops.items()))))


if __name__ == "__main__":
    main()
