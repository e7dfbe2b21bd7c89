#!/usr/bin/python3
"""Seed models for the model_mutator fuzz target (tests/fuzz/model_mutator_fuzzer.cc).

Writes into OUT_DIR:
  node_<test>.onnx    ONNX's backend node test models (Debian's libonnx-testdata),
                      at most --per-group per distinct set of op types, smallest first;
  sample_<model>_<i>.onnx
                      windows of 1 to 3 consecutive nodes of pq's sample models
                      (models/*.onnx, models/*/*.onnx) as models of their own: their
                      inputs take the shapes ONNX shape inference gives, the Constant
                      nodes and initializers they read come along. A whole sample is
                      megabytes, more than libFuzzer mutates well; a window keeps the
                      op, its attributes and its real weights.
--committed writes the small seed set committed in tests/fuzz/corpus/model_mutator
instead: the node tests of COMMITTED_NODE_TESTS (the ops pq's kernels compute most)
and COMMITTED_WINDOWS windows spread over the samples. tools/fuzz.sh runs this
(without --committed) into build-fuzz/corpus/model_mutator before the first
model_mutator run. Usage: tools/fuzz_model_seeds.py OUT_DIR [--committed]
"""
import argparse
import os
import sys

import onnx
from onnx import helper, shape_inference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
MAX_MODEL_BYTES = 128 * 1024      # a seed, after serialisation
MAX_INITIALIZER_ELEMENTS = 1 << 16  # the fuzz target skips models with larger constants
MAX_WINDOW = 3
COMMITTED_NODE_TESTS = [
    "test_conv_with_strides_padding", "test_conv_with_autopad_same", "test_convtranspose", "test_matmul_2d",
    "test_gemm_default_no_bias", "test_maxpool_2d_pads", "test_averagepool_2d_pads", "test_globalaveragepool",
    "test_softmax_axis_1", "test_layer_normalization_4d_axis1", "test_batchnorm_example", "test_gather_1",
    "test_gathernd_example_int32", "test_reshape_extended_dims", "test_resize_upsample_scales_linear",
    "test_concat_2d_axis_1", "test_transpose_all_permutations_0", "test_reduce_mean_keepdims_example",
    "test_slice", "test_split_equal_parts_1d", "test_einsum_batch_matmul", "test_top_k",
    "test_scatter_elements_with_axis", "test_edge_pad", "test_expand_dim_changed", "test_qlinearconv",
    "test_lstm_defaults", "test_if",
]
COMMITTED_WINDOWS = 12


def node_test_models(per_group, only=None):
    """(name, bytes) of the node tests, up to per_group per set of op types
    (or those named in `only`)."""
    if not os.path.isdir(NODE_TESTS):
        return []
    found = []
    for d in sorted(os.listdir(NODE_TESTS)) if only is None else only:
        path = os.path.join(NODE_TESTS, d, "model.onnx")
        if os.path.exists(path):
            data = open(path, "rb").read()
            if len(data) <= MAX_MODEL_BYTES:
                found.append((len(data), d, data))
    groups = {}
    for size, d, data in sorted(found):
        m = onnx.load_from_string(data)
        key = tuple(sorted({n.op_type for n in m.graph.node}))
        if len(groups.setdefault(key, [])) < per_group:
            groups[key].append(("node_" + d + ".onnx", data))
    return [seed for key in sorted(groups) for seed in groups[key]]


def element_count(t):
    n = 1
    for d in t.dims:
        n *= d
    return n


def window_model(model, infos, start, length):
    """The model made of nodes [start, start + length) of `model`, or None."""
    graph = model.graph
    nodes = list(graph.node[start:start + length])
    if any(n.op_type == "Constant" for n in nodes):
        return None
    produced = {o for n in nodes for o in n.output}
    initializers = {t.name: t for t in graph.initializer}
    constants = {o: n for n in graph.node if n.op_type == "Constant" for o in n.output}
    inputs, inits, const_nodes = [], [], []
    for n in nodes:
        for name in n.input:
            if not name or name in produced or name in [v.name for v in inputs]:
                continue
            if name in initializers:
                if initializers[name] not in inits:
                    inits.append(initializers[name])
            elif name in constants:
                if constants[name] not in const_nodes:
                    const_nodes.append(constants[name])
            elif name in infos:
                inputs.append(infos[name])
            else:
                return None  # an outer-scope or untyped tensor
    if any(element_count(t) > MAX_INITIALIZER_ELEMENTS for t in inits):
        return None
    consumed = {i for n in nodes for i in n.input}
    graph_outputs = {v.name for v in graph.output}
    outputs = [o for n in nodes for o in n.output if o and (o not in consumed or o in graph_outputs)]
    if not outputs or any(o not in infos for o in outputs):
        return None
    g = helper.make_graph(const_nodes + nodes, f"{graph.name}_{start}", inputs,
                          [infos[o] for o in outputs], inits)
    m = helper.make_model(g, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    data = m.SerializeToString()
    return data if len(data) <= MAX_MODEL_BYTES else None


def sample_models():
    paths = []
    models_dir = os.path.join(ROOT, "models")
    for entry in sorted(os.listdir(models_dir)):
        p = os.path.join(models_dir, entry)
        if entry.endswith(".onnx"):
            paths.append(p)
        elif os.path.isdir(p):
            paths += [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".onnx")]
    return paths


def sample_windows():
    """(name, bytes) of windows of the sample models, one per op sequence."""
    seeds = []
    for path in sample_models():
        model = onnx.load(path)
        try:
            inferred = shape_inference.infer_shapes(model)
        except Exception as e:  # noqa: BLE001 - a sample ONNX cannot infer is skipped, not fatal
            print(f"{path}: shape inference failed ({e}); skipped", file=sys.stderr)
            continue
        infos = {v.name: v for v in list(inferred.graph.input) + list(inferred.graph.value_info)
                 + list(inferred.graph.output)}
        stem = os.path.splitext(os.path.basename(path))[0]
        seen = set()
        for length in range(1, MAX_WINDOW + 1):
            for start in range(len(model.graph.node) - length + 1):
                nodes = model.graph.node[start:start + length]
                key = tuple((n.domain, n.op_type, tuple(sorted(a.name for a in n.attribute))) for n in nodes)
                if key in seen:
                    continue
                data = window_model(model, infos, start, length)
                if data is None:
                    continue
                seen.add(key)
                seeds.append((f"sample_{stem}_{start}_{length}.onnx", data))
    return seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--committed", action="store_true", help="the small committed seed set")
    parser.add_argument("--per-group", type=int, default=2, help="node tests per set of op types")
    args = parser.parse_args()
    windows = sample_windows()
    if args.committed:
        nodes = node_test_models(len(COMMITTED_NODE_TESTS), COMMITTED_NODE_TESTS)
        n = min(COMMITTED_WINDOWS, len(windows))
        windows = [windows[i * len(windows) // n] for i in range(n)]
    else:
        nodes = node_test_models(args.per_group)
    os.makedirs(args.out_dir, exist_ok=True)
    total = 0
    for name, data in nodes + windows:
        with open(os.path.join(args.out_dir, name), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"{args.out_dir}: {len(nodes)} node tests, {len(windows)} sample windows, {total} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
