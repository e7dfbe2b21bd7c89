#!/usr/bin/python3
"""Export the corpus of models/export_corpus: five small architectures (see
tools/export_corpus_models.py) exported by torch.onnx.export (Debian's python3-torch, the
TorchScript exporter) at opsets 9, 11, 13 and 17, float32 and float16, with dynamic axes,
and one input .npz per model.

Usage: /usr/bin/python3 tools/make_export_corpus.py [--out models/export_corpus]

Writes into OUT:
  ARCH_opsetN_float32.onnx / ARCH_opsetN_float16.onnx   the models
  ARCH_opsetN_DTYPE.npz    kSamples samples keyed by input name (axis 0 = sample; each
                           sample is a batch of 1), what `pq run --data` and `--calib` read;
                           float inputs are float16 for the float16 models
  manifest.json            every model with its inputs, outputs, op types, size, how its
                           float16 form was made, and every combination the exporter refused
                           with torch's message
  README.md                how the corpus was made, with this script's wall time

float16: torch 1.13's CPU kernels lack Half for Linear/Conv/LayerNorm/LSTM (addmm,
slow_conv2d, ...), and torch.onnx.export runs the model while tracing, so exporting
model.half() fails; the script tries it for every model, records torch's message, and then
converts the float32 export with tools/make_fp16_model.py (every float tensor, input and
output becomes float16).

Everything is seeded (torch.manual_seed / numpy default_rng, kSeed): the same torch and numpy
give the same files. Weights are random (these are format tests, not trained models).
"""

import argparse
import copy
import io
import json
import os
import sys
import time
import warnings

sys.dont_write_bytecode = True
kTools = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, kTools)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

import make_fp16_model  # noqa: E402
from export_corpus_models import kArchitectures  # noqa: E402

kSeed = 20261130
kOpsets = [9, 11, 13, 17]
kSamples = 4
kMaxModelBytes = 300 * 1024
kMaxCorpusBytes = 8 * 1024 * 1024


def log(text):
    print(text, file=sys.stderr, flush=True)


def first_line(error):
    """The error's type and first line, without torch's "[Caused by the value ..." tail
    (a dump of the TorchScript graph)."""
    text = str(error).strip().splitlines()
    line = text[0].split("  [Caused by")[0].strip() if text else ""
    return "%s: %s" % (type(error).__name__, line)


def export(spec, opset, module=None, example=None):
    """torch.onnx.export into memory; returns the ModelProto (raises what torch raises)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module or spec.module, example or spec.example, buffer,
                          input_names=spec.input_names, output_names=spec.output_names,
                          dynamic_axes=spec.dynamic_axes, opset_version=opset,
                          do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def build(builder, arch):
    torch.manual_seed(kSeed + sorted(kArchitectures).index(arch))
    generator = torch.Generator().manual_seed(kSeed)
    return builder(generator)


def try_half(spec, opset):
    """Exports module.half(); returns None on success (never expected with torch CPU) or
    torch's message."""
    module = copy.deepcopy(spec.module).half()
    example = tuple(t.half() if t.is_floating_point() else t for t in spec.example)
    try:
        export(spec, opset, module, example)
        return None
    except Exception as e:  # noqa: BLE001 - recorded in the manifest
        return first_line(e)


def samples(spec, arch, dtype):
    rng = np.random.default_rng(kSeed + sorted(kArchitectures).index(arch))
    drawn = [spec.sample(rng) for _ in range(kSamples)]
    arrays = {name: np.concatenate([d[name] for d in drawn]) for name in spec.input_names}
    if dtype == "float16":
        arrays = {n: a.astype(np.float16) if a.dtype == np.float32 else a
                  for n, a in arrays.items()}
    return arrays


def describe_values(values):
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        out.append({"name": v.name, "dtype": onnx.TensorProto.DataType.Name(t.elem_type).lower(),
                    "shape": dims})
    return out


def op_types(model):
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def write_model(model, data, out, stem, record):
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(out, stem + ".onnx")
    onnx.save(model, path)
    np.savez(os.path.join(out, stem + ".npz"), **data)
    size = os.path.getsize(path)
    if size > kMaxModelBytes:
        raise RuntimeError("%s is %d bytes, over the %d limit" % (path, size, kMaxModelBytes))
    record.update({"file": stem + ".onnx", "data": stem + ".npz", "bytes": size,
                   "inputs": describe_values(model.graph.input),
                   "outputs": describe_values(model.graph.output), "op_types": op_types(model)})
    log("wrote %s (%d bytes, %d nodes)" % (path, size, len(model.graph.node)))


def export_architecture(arch, out, manifest):
    for opset in kOpsets:
        model, refusals = None, []
        for variant, builder in kArchitectures[arch]:
            spec = build(builder, arch)
            try:
                model = export(spec, opset)
                break
            except Exception as e:  # noqa: BLE001 - recorded in the manifest
                refusals.append({"architecture": arch, "variant": variant, "opset": opset,
                                 "error": first_line(e)})
                log("torch refused %s%s at opset %d: %s"
                    % (arch, " (%s)" % variant if variant else "", opset, first_line(e)))
        manifest["refused"] += refusals
        if model is None:
            continue
        model.doc_string = ("pq export corpus: %s, torch %s torch.onnx.export opset %d, random "
                            "weights (seed %d)" % (arch, torch.__version__, opset, kSeed))
        base = {"architecture": arch, "variant": variant, "opset": opset}
        record = dict(base, dtype="float32", made_by="torch.onnx.export")
        write_model(model, samples(spec, arch, "float32"), out,
                    "%s_opset%d_float32" % (arch, opset), record)
        manifest["models"].append(record)

        half_error = try_half(spec, opset)
        record = dict(base, dtype="float16")
        if half_error is None:
            raise RuntimeError("torch exported %s.half() at opset %d: this script expects it "
                               "not to (update it to keep that export)" % (arch, opset))
        record["made_by"] = "tools/make_fp16_model.py on the float32 export"
        record["torch_half_export_error"] = half_error
        write_model(make_fp16_model.convert(model), samples(spec, arch, "float16"), out,
                    "%s_opset%d_float16" % (arch, opset), record)
        manifest["models"].append(record)


kReadme = """# Export corpus

Models exported by torch, which pq's tests run (`tests/interop/export_corpus.py`, CTest
`interop.export_corpus`). Generated by `tools/make_export_corpus.py` (do not edit by hand;
re-run the script):

    /usr/bin/python3 tools/make_export_corpus.py --out models/export_corpus

Made with Debian's python3-torch {torch} (`torch.onnx.export`, the TorchScript exporter,
`do_constant_folding=True`), python3-onnx {onnx}, numpy {numpy}; seed {seed}; the script took
{seconds:.1f} s wall time on this 2-core machine. The weights are random (these are format
tests, not trained models); BatchNorm running statistics are random too, so the exporter's
Conv+BatchNormalization folding changes the weights.

Architectures (`tools/export_corpus_models.py`): {archs}.
Opsets {opsets}, each in float32 and float16: {count} models, {total} bytes in all
(each at most {max_bytes} bytes).

float16: torch's CPU kernels in this version have no Half Linear, Conv, LayerNorm or LSTM, and
the exporter runs the model while tracing, so `model.half()` cannot be exported (the script
tries, and `manifest.json` records torch's message for each model). The float16 models are the
float32 exports converted by `tools/make_fp16_model.py`: every float tensor, graph input and
output is float16, Casts to float become Casts to float16.

Refused by the exporter (also in `manifest.json`, with torch's message):
{refused}

Each `NAME.onnx` has `NAME.npz`: {samples} samples keyed by input name (axis 0 is the sample
axis, each sample a batch of 1), the layout `pq run --data` and `pq quantize --calib` read.
Dynamic axes: batch on every model; sequence on bert, llama (`sequence_length`,
`past_sequence_length`, `total_sequence_length`, optimum's names) and rnn.
"""


def write_readme(out, manifest, seconds):
    refused = "\n".join("- %s%s at opset %d: `%s`" % (
        r["architecture"], " (%s variant)" % r["variant"] if r["variant"] else "", r["opset"],
        r["error"]) for r in manifest["refused"]) or "- nothing"
    llama_note = ("\n\nThe llama decoder is tried in three variants, the first the exporter "
                  "accepts is kept:\n"
                  "`triu` builds its causal mask with `torch.triu` (ONNX Trilu, opset 14+);\n"
                  "`compare` builds the same mask by comparing key and query positions\n"
                  "(Hugging Face's older form); `compare, static rotate_half` also slices the\n"
                  "rotary halves at a constant index instead of `x.shape[-1] // 2`\n"
                  "(Hugging Face's `rotate_half`, a Slice by a traced size, which the exporter\n"
                  "refuses at opset 9). The manifest's `variant` says which one each model is.")
    text = kReadme.format(
        torch=torch.__version__, onnx=onnx.__version__, numpy=np.__version__, seed=kSeed,
        seconds=seconds, archs=", ".join(sorted(kArchitectures)),
        opsets=", ".join(map(str, kOpsets)), count=len(manifest["models"]),
        total=sum(m["bytes"] for m in manifest["models"]), max_bytes=kMaxModelBytes,
        refused=refused + llama_note, samples=kSamples)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(kTools), "models",
                                                      "export_corpus"))
    args = parser.parse_args()
    start = time.time()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    manifest = {"generator": "tools/make_export_corpus.py", "torch": torch.__version__,
                "onnx": onnx.__version__, "seed": kSeed, "opsets": kOpsets,
                "samples_per_npz": kSamples, "models": [], "refused": []}
    for arch in sorted(kArchitectures):
        export_architecture(arch, args.out, manifest)
    total = sum(m["bytes"] for m in manifest["models"])
    if total > kMaxCorpusBytes:
        raise RuntimeError("corpus is %d bytes, over the %d limit" % (total, kMaxCorpusBytes))
    seconds = time.time() - start
    manifest["wall_seconds"] = round(seconds, 1)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    write_readme(args.out, manifest, seconds)
    log("%d models, %d bytes, %.1f s" % (len(manifest["models"]), total, seconds))


if __name__ == "__main__":
    main()
