#!/usr/bin/python3
"""MatMulNBits' accuracy_level in ONNX Runtime on the sample LLM (models/tiny_llm).

Usage: tools/bench/accuracy_level.py PQ WORK [ROUNDS]

Quantizes tiny_llm_optimum.onnx with `pq quantize --scheme int4-sym` (MatMulNBits,
block 32) at --accuracy-level 0 (not written: ORT's default, float32 compute),
1 (fp32) and 4 (int8: ORT quantizes each MatMulNBits' input to int8 blocks and
multiplies in integers), then in onnxruntime-node (1 thread):
  - the held-out windows (heldout_tokens.npy, 32 x 64 tokens, one row per run):
    top-1 agreement of next tokens and mean KL divergence against the FP32 model's
    logits in ORT, and the perplexity;
  - speed: one prefill of 64 tokens and one of 1 token (tools/bench/ort_llm_bench.js),
    medians over ROUNDS rounds (default 3) that alternate the models.
Prints a table; it is a measurement, not a test.
"""
import json
import os
import statistics
import subprocess
import sys

kRepo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(kRepo, "tools"))
sys.dont_write_bytecode = True

import numpy as np  # noqa: E402

import check_tiny_llm as ort_check  # noqa: E402

kDir = os.path.join(kRepo, "models", "tiny_llm")
kLevels = (0, 1, 4)
kIters, kWarmup = 200, 20


def log_softmax(x):
    x = x.astype(np.float64) - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def prefill_ms(model, tokens_file, length, work):
    tokens = np.load(tokens_file)[:1, :length]
    path = os.path.join(work, "tokens_%d.npy" % length)
    np.save(path, tokens)
    out = subprocess.run(["node", os.path.join(kRepo, "tools", "bench", "ort_llm_bench.js"), model, path, "1",
                          str(kIters), str(kWarmup)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["ms_median"]


def main():
    binary, work = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(kDir, "config.json")) as f:
        cfg = json.load(f)
    fp32 = os.path.join(kDir, "tiny_llm_optimum.onnx")
    tokens_file = os.path.join(kDir, "heldout_tokens.npy")
    tokens = np.load(tokens_file)
    models = {"fp32": fp32}
    for level in kLevels:
        out = os.path.join(work, "int4_level%d.onnx" % level)
        args = [binary, "-q", "quantize", fp32, "-o", out, "--scheme", "int4-sym", "--force"]
        if level:
            args += ["--accuracy-level", str(level)]
        subprocess.run(args, check=True)
        models["level %d" % level] = out
    feeds = ort_check.feeds_for(cfg, tokens, None, np.float32, True)
    logits = {name: ort_check.run_ort(path, feeds, work, name.replace(" ", "_"), batch=1)["logits"]
              for name, path in models.items()}
    ref = log_softmax(logits["fp32"][:, :-1])
    ms = {name: {1: [], 64: []} for name in models}
    for _ in range(rounds):
        for name, path in models.items():
            for length in (64, 1):
                ms[name][length].append(prefill_ms(path, tokens_file, length, work))
    print("%-8s %10s %10s %10s %14s %12s" % ("model", "top-1", "mean KLD", "perplexity", "64 tokens ms", "1 token ms"))
    for name in models:
        cand = log_softmax(logits[name][:, :-1])
        top1 = float((cand.argmax(-1) == ref.argmax(-1)).mean())
        kld = float((np.exp(ref) * (ref - cand)).sum(-1).mean())
        ppl = float(np.exp(ort_check.mean_nll(logits[name], tokens)))
        print("%-8s %10.4f %10.5f %10.3f %14.3f %12.4f" % (name, top1, kld, ppl, statistics.median(ms[name][64]),
                                                       statistics.median(ms[name][1])))


if __name__ == "__main__":
    main()
