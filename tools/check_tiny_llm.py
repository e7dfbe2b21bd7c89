#!/usr/bin/python3
"""Check the tiny LLM's ONNX files in ONNX Runtime against torch and against config.json.

Usage: check_tiny_llm.py [--dir models/tiny_llm] [--work DIR]

Runs, in onnxruntime-node (tests/interop/ort_run.js, onnxruntime-node from
tests/interop/node_modules), four models on the held-out windows (heldout_tokens.npy,
[N, T]):

  optimum        tiny_llm_optimum.onnx (layout a, committed, float32)
  genai          tiny_llm_genai.onnx   (layout b, float32; must be byte-identical to what
                 tools/make_tiny_llm_genai.py writes from layout a -- written to WORK when
                 it is not in DIR)
  optimum_fp16   layout a through tools/make_fp16_model.py (written to WORK)
  genai_fp16     layout b through tools/make_fp16_model.py (written to WORK)
  genai_packed   layout b with --packed-qkv (one qkv_proj MatMul, genai's default; WORK)

and for each:
  (i)   prefill logits [N, T, vocab] against torch's (the model rebuilt from layout a's
        initializers, tools/tiny_llm_model.py): relative L2 error
  (ii)  perplexity of heldout_tokens.npy from ORT's logits against config.json's
        pq.heldout.perplexity_torch: relative difference
  (iii) decode with past: prefill tokens 0..T-2, then token T-1 alone with the presents
        as past; its logits against the full prefill's last position: relative L2 error.
        Also checks the present shapes [N, kv_heads, T-1, head_dim].
Limits: kFloat32RelL2 / kFloat32PerplexityRel for float32, kFloat16* for float16.

Without torch (python3-torch not installed) check (i) compares against layout a's
float32 ORT logits instead and says so. Prints one line per check and `N passed, M
failed`; exits 1 if any check failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
kTools = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, kTools)

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import make_fp16_model  # noqa: E402
import make_tiny_llm_genai  # noqa: E402

kRepo = os.path.dirname(kTools)
kOrtRun = os.path.join(kRepo, "tests", "interop", "ort_run.js")
kNodeModules = os.path.join(kRepo, "tests", "interop", "node_modules", "onnxruntime-node")
kFloat32RelL2 = 1e-4
kFloat32PerplexityRel = 1e-4
kFloat16RelL2 = 2e-3
kFloat16PerplexityRel = 5e-4
kNormFloor = 1e-12
kTimeoutSeconds = 600


def relative_l2(actual, expected):
    actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    return np.linalg.norm((actual - expected).ravel()) / max(np.linalg.norm(expected.ravel()), kNormFloor)


def mean_nll(logits, tokens):
    """Same definition as tiny_llm_model.mean_nll, in numpy float64."""
    x = logits[:, :-1].astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    logp = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, tokens[:, 1:, None], axis=-1)
    return float(-picked.mean())


def run_ort(model, feeds, work, tag, batch=None, opt_level="all"):
    """Runs model on feeds, `batch` rows per run (default: all rows in one run), with ORT's
    graph optimization level `opt_level`; returns {output: array}."""
    data = os.path.join(work, tag + ".npz")
    out_dir = os.path.join(work, tag + ".out")
    np.savez(data, **feeds)
    shutil.rmtree(out_dir, ignore_errors=True)
    batch = batch or next(iter(feeds.values())).shape[0]
    cmd = ["node", kOrtRun, model, data, out_dir, "--batch", str(batch), "--threads", "1",
           "--opt-level", opt_level]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=kTimeoutSeconds)
    if proc.returncode != 0:
        raise RuntimeError("ort_run.js failed on %s: %s" % (model, (proc.stderr + proc.stdout).strip()[-800:]))
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir) if f.endswith(".npy")}


def feeds_for(cfg, tokens, past, float_type, with_position_ids, past_len=0):
    """Inputs of one run: tokens [N, S] at positions past_len.., past {name: array} or None."""
    n, s = tokens.shape
    feeds = {"input_ids": tokens.astype(np.int64),
             "attention_mask": np.ones((n, past_len + s), dtype=np.int64)}
    if with_position_ids:
        feeds["position_ids"] = np.tile(np.arange(past_len, past_len + s, dtype=np.int64), (n, 1))
    empty = np.zeros((n, cfg["num_key_value_heads"], 0, cfg["head_dim"]), dtype=float_type)
    for i in range(cfg["num_hidden_layers"]):
        for kv in ("key", "value"):
            name = "past_key_values.%d.%s" % (i, kv)
            feeds[name] = empty if past is None else past["present.%d.%s" % (i, kv)]
    return feeds


def torch_logits(optimum_path, cfg, tokens):
    """Prefill logits from torch, or None when torch is not installed."""
    try:
        import torch
        import tiny_llm_model
    except ImportError:
        return None
    torch.set_num_threads(1)
    model = tiny_llm_model.load_from_onnx(onnx.load(optimum_path), cfg)
    with torch.no_grad():
        return model.prefill_logits(torch.from_numpy(tokens)).numpy()


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def report(self, ok, line):
        print("%s %s" % ("PASS" if ok else "FAIL", line), flush=True)
        self.passed += bool(ok)
        self.failed += not ok


def check_model(checks, name, path, cfg, tokens, reference, ref_name, ppl_config, work):
    fp16 = name.endswith("fp16")
    float_type = np.float16 if fp16 else np.float32
    limit_l2 = kFloat16RelL2 if fp16 else kFloat32RelL2
    limit_ppl = kFloat16PerplexityRel if fp16 else kFloat32PerplexityRel
    with_pos = any(i.name == "position_ids" for i in onnx.load(path, load_external_data=False).graph.input)
    n, t = tokens.shape

    full = run_ort(path, feeds_for(cfg, tokens, None, float_type, with_pos), work, name + ".prefill")
    logits = full["logits"]
    checks.report(logits.dtype == float_type and logits.shape == (n, t, cfg["vocab_size"]),
                  "%s: logits %s %s" % (name, logits.dtype, list(logits.shape)))
    if reference is not None:
        err = relative_l2(logits, reference)
        checks.report(err <= limit_l2, "%s: (i) prefill logits vs %s: rel L2 %.3e (limit %.0e)"
                      % (name, ref_name, err, limit_l2))
    ppl = float(np.exp(mean_nll(logits, tokens)))
    rel = abs(ppl - ppl_config) / ppl_config
    checks.report(rel <= limit_ppl, "%s: (ii) perplexity %.9f vs torch %.9f (config.json): rel %.3e (limit %.0e)"
                  % (name, ppl, ppl_config, rel, limit_ppl))

    first = run_ort(path, feeds_for(cfg, tokens[:, :-1], None, float_type, with_pos), work, name + ".first")
    kv_shape = (n, cfg["num_key_value_heads"], t - 1, cfg["head_dim"])
    shapes_ok = all(first["present.%d.%s" % (i, kv)].shape == kv_shape
                    for i in range(cfg["num_hidden_layers"]) for kv in ("key", "value"))
    checks.report(shapes_ok, "%s: presents after %d tokens have shape %s" % (name, t - 1, list(kv_shape)))
    step = run_ort(path, feeds_for(cfg, tokens[:, -1:], first, float_type, with_pos, past_len=t - 1),
                   work, name + ".step")
    err = relative_l2(step["logits"][:, -1], logits[:, -1])
    checks.report(err <= limit_l2, "%s: (iii) decode step with past vs full prefill, last position: "
                  "rel L2 %.3e (limit %.0e)" % (name, err, limit_l2))
    return logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=os.path.join(kRepo, "models", "tiny_llm"))
    parser.add_argument("--work", help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    if not os.path.isdir(kNodeModules):
        print("onnxruntime-node is missing: run `npm ci --ignore-scripts` in %s"
              % os.path.dirname(kOrtRun))
        print("0 passed, 1 failed")
        return 1
    work = args.work or tempfile.mkdtemp(prefix="check_tiny_llm.")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(args.dir, "config.json")) as f:
        cfg = json.load(f)
    files = cfg["pq"]["files"]
    tokens = np.load(os.path.join(args.dir, files["heldout_tokens"]))
    ppl_config = cfg["pq"]["heldout"]["perplexity_torch"]
    checks = Checks()

    optimum = os.path.join(args.dir, files["optimum"])
    genai_model = make_tiny_llm_genai.build(
        make_tiny_llm_genai.read_weights(onnx.load(optimum)), cfg, packed_qkv=False)
    genai = os.path.join(args.dir, files["genai"])
    if os.path.exists(genai):
        same = open(genai, "rb").read() == genai_model.SerializeToString()
        checks.report(same, "genai: %s is what tools/make_tiny_llm_genai.py writes" % files["genai"])
    else:
        genai = os.path.join(work, files["genai"])
        onnx.save(genai_model, genai)
    models = [("optimum", optimum), ("genai", genai)]
    for name, src in list(models):
        dst = os.path.join(work, os.path.basename(src).replace(".onnx", "_fp16.onnx"))
        onnx.save(make_fp16_model.convert(onnx.load(src)), dst)
        models.append((name + "_fp16", dst))
    packed = os.path.join(work, files["genai"].replace(".onnx", "_packed.onnx"))
    onnx.save(make_tiny_llm_genai.build(
        make_tiny_llm_genai.read_weights(onnx.load(optimum)), cfg, packed_qkv=True), packed)
    models.append(("genai_packed", packed))

    reference = torch_logits(optimum, cfg, tokens)
    ref_name = "torch"
    if reference is not None:
        ppl_torch = float(np.exp(mean_nll(reference, tokens)))
        rel = abs(ppl_torch - ppl_config) / ppl_config
        checks.report(rel <= kFloat32PerplexityRel,
                      "torch: perplexity %.9f (rebuilt from %s) vs config.json %.9f: rel %.3e"
                      % (ppl_torch, files["optimum"], ppl_config, rel))
    for name, path in models:
        try:
            logits = check_model(checks, name, path, cfg, tokens, reference, ref_name, ppl_config, work)
        except RuntimeError as e:
            checks.report(False, "%s: %s" % (name, e))
            continue
        if reference is None and name == "optimum":
            reference, ref_name = logits, "optimum (ORT float32; torch not installed)"
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
