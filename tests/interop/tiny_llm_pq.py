#!/usr/bin/python3
"""pq on the sample decoder LLM (models/tiny_llm), against ONNX Runtime and torch.

Usage: tiny_llm_pq.py PQ WORK

For each layout (optimum, genai) and float type (float32; float16 copies made with
tools/make_fp16_model.py into WORK), with the held-out token ids:
  - `pq run` on the token ids (pq builds the mask, positions and empty past): logits and
    presents against ONNX Runtime's on the same feeds, relative L2 <= 1e-4 each (float32,
    and float16, at ORT's default graph optimizations; float16 also against ORT with them
    disabled, <= 4e-4, see kFloat16UnoptimizedRelL2). pq rounds float16 values where ORT's
    CPU provider stores them as float16 (src/exec/float16_placement.h) and computes a
    float16 model's products, RMS norms, softmax and logistic in ORT's float arithmetic
    (src/exec/kernels/sgemm_ort_order.h, softmax_ort_order.h);
  - `pq compare M M --task lm --max-kld 0`: exit 0, KLD 0, perplexity equal to torch's
    (config.json) and to ORT's within 1e-4 relative (float32 and float16);
  - a planted bad weight (one MLP weight scaled by 8): large KLD, exit 4 on --max-kld;
  - optimum vs genai (the same weights in both layouts), from pq run's logits: mean KLD
    below 1e-6 (float16: 5e-6) and the same top-1 tokens;
  - text through the SentencePiece tokenizer (`--text FILE --tokenizer tokenizer.model
    --context 16`): as many scored positions as Debian's spm_encode gives tokens;
  - every scheme calibrates and validates on token ids (`pq quantize --calib TOKENS
    --validate TOKENS --task lm`), the 4-bit and static int8 ones with --weight-algo rtn,
    gptq and awq,
    and the quantized model's perplexity in ONNX Runtime is within 1e-3 relative of what
    pq's validation measured for it;
  - held-out mean KLD per 4-bit scheme: gptq <= 0.8 x rtn, awq <= rtn + 10% (every MatMul
    4-bit, --lm-head same, so that the rounding algorithms are compared on all of them);
    int8-sym and int8-asym: gptq and awq <= rtn + 10%;
  - --embeddings int8/4bit (DequantizeLinear, DequantizeLinear-21, GatherBlockQuantized, nf4
    decode), --lm-head, a tied embedding/lm_head (one tensor) and --accuracy-level: each
    model passes onnx.checker (python3-onnx 1.12 checks up to opset 17; opset-21 models are
    checked by ORT alone), runs in ORT with the perplexity pq's validation measured (within
    1e-3; accuracy_level 4, which ORT computes in int8 and pq in float, within 1e-4), and the
    held-out mean KLD and top-1 agreement against the FP32 model in ORT are printed.
Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
"""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
kRepo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(kRepo, "tools"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

import check_tiny_llm as ort_check  # noqa: E402
import make_fp16_model  # noqa: E402

kDir = os.path.join(kRepo, "models", "tiny_llm")
# pq run against ORT, logits and each present.
kMaxRelL2 = 1e-4
# float16 against ORT without its graph optimizations: ORT then keeps the Cast after each
# float16 weight instead of folding it, so it sums those products in the order of a
# computed B (blocks of 128 rather than 256 along k, sgemm_ort_order.h), and differs from
# its own default by 2.6e-4 (genai) and 8.9e-5 (optimum) on the logits. pq follows ORT's
# default; against the unoptimized run each layout is held to ORT's own difference plus a
# margin. (At ORT's default, pq's genai float16 logits and presents are bit-identical to
# ORT's on an AVX-512 machine: measured 0.)
kFloat16UnoptimizedRelL2 = 4e-4
# Mean KLD between the two layouts' logits (the same weights): float32, and float16, where
# the layouts round at different places (ORT's float16 logits of the two differ by 1.0e-6).
kSameWeightsKld = 1e-6
kSameWeightsFloat16Kld = 5e-6
# GPTQ's held-out mean KLD must be at most this share of round-to-nearest's.
kMaxGptqToRtnKld = 0.8
# AWQ's may exceed round-to-nearest's by this share at most (on this 1M-parameter
# model AWQ's layer-error gains are a few percent, and the KLD moves by about
# as much either way).
kAwqNoise = 0.1
# Layer 1's MLP down projection, as each layout names it.
kPlanted = ("model.layers.1.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.MatMul.weight")


def pq(binary, *args):
    proc = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def lm_metrics(binary, ref, cand, tokens, *gates):
    code, out, err = pq(binary, "compare", ref, cand, "--data", tokens, "--task", "lm", "--threads", "1",
                        "--json", *gates)
    metrics = json.loads(out)["metrics"]["lm"] if out.strip() else None
    return code, metrics, err


def plant_bad_weight(src, dst):
    model = onnx.load(src)
    for t in model.graph.initializer:
        if t.name in kPlanted:
            w = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array((w * 8).astype(w.dtype), t.name))
            break
    else:
        raise RuntimeError("%s has no %s" % (src, kPlanted))
    onnx.save(model, dst)


def tied_model(src, dst):
    """The optimum model with lm_head = MatMul(norm, Transpose(embed_tokens)) (lm_head.weight removed)."""
    model = onnx.load(src)
    g = model.graph
    for i, t in enumerate(g.initializer):
        if t.name == "lm_head.weight":
            del g.initializer[i]
            break
    transpose = helper.make_node("Transpose", ["model.embed_tokens.weight"], ["tied_lm_head_weight"],
                                      name="/lm_head/Transpose", perm=[1, 0])
    for i, node in enumerate(g.node):
        if node.op_type == "MatMul" and "lm_head.weight" in node.input:
            node.input[1] = "tied_lm_head_weight"
            g.node.insert(i, transpose)
            break
    onnx.save(model, dst)


def check_embeddings(checks, binary, work, cfg, optimum, tokens, tokens_path):
    """--embeddings, --lm-head, a tied table and --accuracy-level in onnx.checker and ORT."""
    tied = os.path.join(work, "tied.onnx")
    tied_model(optimum, tied)
    refs = {}  # FP32 model -> its log-probabilities and logits in ORT
    for k, source in enumerate((optimum, tied)):
        ref = ort_check.run_ort(source, ort_check.feeds_for(cfg, tokens, None, np.float32, True), work,
                                "emb_ref%d" % k, batch=1)["logits"][:, :-1].astype(np.float64)
        log_p = ref - ref.max(-1, keepdims=True)
        refs[source] = (log_p - np.log(np.exp(log_p).sum(-1, keepdims=True)), ref)
    runs = [("int8-sym weights, embeddings int8", optimum, ["--scheme", "int8-sym", "--weights-only", "--embeddings",
                                                           "int8", "--lm-head", "keep"]),
            ("nf4 (lm_head int8 by default)", optimum, ["--scheme", "nf4"]),
            ("nf4 --lm-head same", optimum, ["--scheme", "nf4", "--lm-head", "same"]),
            ("nf4 embeddings int8", optimum, ["--scheme", "nf4", "--embeddings", "int8"]),
            ("nf4 embeddings 4bit (decode)", optimum, ["--scheme", "nf4", "--embeddings", "4bit"]),
            ("int4-sym embeddings 4bit (GatherBlockQuantized)", optimum, ["--scheme", "int4-sym", "--embeddings",
                                                                         "4bit"]),
            ("int4-asym embeddings 4bit (GatherBlockQuantized)", optimum, ["--scheme", "int4-asym", "--embeddings",
                                                                          "4bit"]),
            ("int4-sym embeddings 4bit (DequantizeLinear-21)", optimum, ["--scheme", "int4-sym", "--int4-format",
                                                                        "onnx", "--embeddings", "4bit"]),
            ("tied, int4-sym embeddings int8", tied, ["--scheme", "int4-sym", "--embeddings", "int8"]),
            ("tied, int4-asym embeddings 4bit --lm-head same", tied, ["--scheme", "int4-asym", "--embeddings",
                                                                     "4bit", "--lm-head", "same"]),
            ("int4-sym accuracy_level 0", optimum, ["--scheme", "int4-sym", "--accuracy-level", "0"]),
            ("int4-sym accuracy_level 4", optimum, ["--scheme", "int4-sym", "--accuracy-level", "4"])]
    for k, (tag, model, flags) in enumerate(runs):
        out = os.path.join(work, "emb_%d.onnx" % k)
        code, _, err = pq(binary, "-q", "quantize", model, "-o", out, "--validate", tokens_path, "--task", "lm",
                          "--threads", "1", "--force", *flags)
        if code != 0:
            checks.report(False, "%s: pq quantize: exit %d %s" % (tag, code, err.strip()[-300:]))
            continue
        with open(out.replace(".onnx", ".report.json")) as f:
            lm = json.load(f)["validation"]["metrics"]["lm"]
        proto = onnx.load(out)
        opset = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
        if opset <= 17:
            try:
                onnx.checker.check_model(proto, full_check=True)
                checked = "onnx.checker passes"
            except Exception as e:  # noqa: BLE001 (any checker failure fails the check)
                checks.report(False, "%s: onnx.checker: %s" % (tag, str(e)[:300]))
                continue
        else:
            checked = "opset %d: beyond python3-onnx 1.12's checker" % opset
        logits = ort_check.run_ort(out, ort_check.feeds_for(cfg, tokens, None, np.float32, True), work,
                                   "emb_%d" % k, batch=1)["logits"]
        ppl_ort = float(np.exp(ort_check.mean_nll(logits, tokens)))
        log_p, ref = refs[model]
        cand = logits[:, :-1].astype(np.float64)
        log_q = cand - cand.max(-1, keepdims=True)
        log_q -= np.log(np.exp(log_q).sum(-1, keepdims=True))
        kld = float((np.exp(log_p) * (log_p - log_q)).sum(-1).mean())
        top1 = float((ref.argmax(-1) == cand.argmax(-1)).mean())
        limit = 1e-4 if "accuracy_level 4" in tag else 1e-3
        rel = abs(ppl_ort - lm["perplexity_cand"]) / ppl_ort
        checks.report(rel <= limit, "%s: %s; ORT perplexity %.4f, pq %.4f (rel %.2e, limit %.0e); in ORT mean KLD "
                      "%.5f, top-1 %.4f (pq: KLD %.5f)" % (tag, checked, ppl_ort, lm["perplexity_cand"], rel, limit,
                                                           kld, top1, lm["kld_mean"]))


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(kDir, "config.json")) as f:
        cfg = json.load(f)
    files = cfg["pq"]["files"]
    tokens_path = os.path.join(kDir, files["heldout_tokens"])
    tokens = np.load(tokens_path)
    ppl_torch = cfg["pq"]["heldout"]["perplexity_torch"]
    checks = ort_check.Checks()

    models = [("optimum", os.path.join(kDir, files["optimum"])), ("genai", os.path.join(kDir, files["genai"]))]
    for name, src in list(models):
        dst = os.path.join(work, os.path.basename(src).replace(".onnx", "_fp16.onnx"))
        onnx.save(make_fp16_model.convert(onnx.load(src)), dst)
        models.append((name + "_fp16", dst))

    for name, path in models:
        fp16 = name.endswith("fp16")
        float_type = np.float16 if fp16 else np.float32
        limit_ppl = 1e-4
        limit_l2 = kMaxRelL2
        with_pos = any(i.name == "position_ids" for i in onnx.load(path, load_external_data=False).graph.input)
        ort = ort_check.run_ort(path, ort_check.feeds_for(cfg, tokens, None, float_type, with_pos), work,
                                name + ".ort")
        out = os.path.join(work, name + ".pq.npz")
        code, _, err = pq(binary, "run", path, "--data", tokens_path, "-o", out, "--threads", "1", "--force")
        checks.report(code == 0, "%s: pq run on token ids exits 0 %s" % (name, err.strip()[-300:]))
        if code != 0:
            continue
        ours = np.load(out)
        references = [("ORT", ort)]
        if fp16:
            references.append(("ORT without graph optimizations", ort_check.run_ort(
                path, ort_check.feeds_for(cfg, tokens, None, float_type, with_pos), work, name + ".ort_disabled",
                opt_level="disabled")))
        for ref_name, ref in references:
            limit = kFloat16UnoptimizedRelL2 if ref_name != "ORT" else limit_l2
            logits_l2 = ort_check.relative_l2(ours["logits"], ref["logits"])
            presents_l2 = max(ort_check.relative_l2(ours[k], ref[k]) for k in ref if k != "logits")
            checks.report(max(logits_l2, presents_l2) <= limit,
                          "%s: pq run vs %s: logits rel L2 %.3e, worst of %d presents %.3e (limit %.0e)"
                          % (name, ref_name, logits_l2, len(ref) - 1, presents_l2, limit))
        ppl_ort = float(np.exp(ort_check.mean_nll(ort["logits"], tokens)))
        code, lm, err = lm_metrics(binary, path, path, tokens_path, "--max-kld", "0")
        checks.report(code == 0 and lm is not None and lm["kld_max"] == 0 and lm["top1_agreement"] == 1,
                      "%s: pq compare M M --task lm --max-kld 0: exit %d, kld_max %s %s"
                      % (name, code, lm and lm["kld_max"], err.strip()[-300:]))
        if lm is None:
            continue
        ppl = lm["perplexity_ref"]
        for ref_name, ref in (("torch", ppl_torch), ("ORT", ppl_ort)):
            rel = abs(ppl - ref) / ref
            checks.report(rel <= limit_ppl, "%s: pq perplexity %.9f vs %s %.9f: rel %.3e (limit %.0e)"
                          % (name, ppl, ref_name, ref, rel, limit_ppl))
        bad = os.path.join(work, name + ".planted.onnx")
        plant_bad_weight(path, bad)
        code, lm, err = lm_metrics(binary, path, bad, tokens_path, "--max-kld", "0.01")
        checks.report(code == 4 and lm is not None and lm["kld_mean"] > 0.1 and "gate max-kld failed" in err,
                      "%s: planted bad weight: exit %d, mean KLD %s" % (name, code, lm and lm["kld_mean"]))

    # The layouts have different inputs (genai has no position_ids), so pq compare
    # cannot pair them: compare the logits pq run gave for each.
    for suffix in ("", "_fp16"):
        try:
            ref = np.load(os.path.join(work, "optimum%s.pq.npz" % suffix))["logits"].astype(np.float64)
            cand = np.load(os.path.join(work, "genai%s.pq.npz" % suffix))["logits"].astype(np.float64)
        except OSError as e:
            checks.report(False, "optimum%s vs genai%s: %s" % (suffix, suffix, e))
            continue
        log_p = ref - ref.max(-1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
        log_q = cand - cand.max(-1, keepdims=True)
        log_q -= np.log(np.exp(log_q).sum(-1, keepdims=True))
        kld = float((np.exp(log_p) * (log_p - log_q)).sum(-1).mean())
        top1 = float((ref.argmax(-1) == cand.argmax(-1)).mean())
        limit_kld = kSameWeightsFloat16Kld if suffix else kSameWeightsKld
        checks.report(kld < limit_kld and top1 == 1.0, "optimum%s vs genai%s in pq (same weights): mean KLD %.2e, "
                      "top-1 agreement %.4f (limit %.0e)" % (suffix, suffix, kld, top1, limit_kld))

    optimum = dict(models)["optimum"]
    text = os.path.join(work, "fortune.txt")
    with open(text, "w") as f:
        f.write("The quick brown fox jumps over the lazy dog.\nYou will be successful in your work.\n"
                "A journey of a thousand miles begins with a single step.\n")
    tokenizer = os.path.join(kDir, cfg["pq"]["tokenizer"])
    encoded = subprocess.run(["spm_encode", "--model", tokenizer, "--output_format=id", "--input", text],
                             capture_output=True, text=True)
    count = len(encoded.stdout.split())
    code, out, err = pq(binary, "compare", optimum, optimum, "--text", text, "--tokenizer", tokenizer,
                        "--context", "16", "--threads", "1", "--json")
    lm = json.loads(out)["metrics"]["lm"] if code == 0 else None
    expected = (count // 16) * 15
    checks.report(code == 0 and encoded.returncode == 0 and count > 16 and lm["positions"] == expected,
                  "text with the SentencePiece tokenizer: spm_encode gives %d tokens, pq scores %s positions "
                  "(expected %d: windows of 16, tail dropped) %s" % (count, lm and lm["positions"], expected,
                                                                     err.strip()[-200:]))
    calib = os.path.join(kDir, files["calib_tokens"])
    kld = {}
    runs = [(s, "rtn") for s in ("int8-sym", "int8-asym", "int8-dynamic", "nf4", "int4-sym", "int4-asym")]
    runs += [(s, a) for a in ("gptq", "awq") for s in ("nf4", "int4-sym", "int4-asym", "int8-sym", "int8-asym")]
    for scheme, algo in runs:
        tag = scheme if algo == "rtn" else "%s %s" % (scheme, algo)
        out = os.path.join(work, "q_%s_%s.onnx" % (scheme, algo))
        lm_head = ["--lm-head", "same"] if scheme in ("nf4", "int4-sym", "int4-asym") else []
        code, _, err = pq(binary, "-q", "quantize", optimum, "-o", out, "--scheme", scheme, "--weight-algo", algo,
                          "--calib", calib, "--validate", tokens_path, "--task", "lm", "--threads", "1", "--force",
                          *lm_head)
        if code != 0:
            checks.report(False, "%s: pq quantize on token ids: exit %d %s" % (tag, code, err.strip()[-300:]))
            continue
        with open(out.replace(".onnx", ".report.json")) as f:
            lm = json.load(f)["validation"]["metrics"]["lm"]
        kld[(scheme, algo)] = (lm["kld_mean"], lm["perplexity_cand"])
        # One row per run, as pq's validation batches (--validate-batch 1): a dynamically
        # quantized model's activation scales depend on the batch.
        logits = ort_check.run_ort(out, ort_check.feeds_for(cfg, tokens, None, np.float32, True), work, scheme,
                                   batch=1)["logits"]
        ppl_ort = float(np.exp(ort_check.mean_nll(logits, tokens)))
        rel = abs(ppl_ort - lm["perplexity_cand"]) / ppl_ort
        checks.report(rel <= 1e-3, "%s: perplexity %.4f (FP32 %.4f), mean KLD %.5f, top-1 %.4f in pq; ORT's "
                      "perplexity of the quantized model %.4f: rel %.2e (limit 1e-3)"
                      % (tag, lm["perplexity_cand"], lm["perplexity_ref"], lm["kld_mean"],
                         lm["top1_agreement"], ppl_ort, rel))
    # Held-out mean KLD of each 4-bit scheme by rounding: GPTQ must beat
    # round-to-nearest clearly, AWQ must not lose to it by more than noise.
    for scheme in ("nf4", "int4-sym", "int4-asym"):
        if any((scheme, a) not in kld for a in ("rtn", "gptq", "awq")):
            continue
        rtn, gptq, awq = (kld[(scheme, a)] for a in ("rtn", "gptq", "awq"))
        checks.report(gptq[0] <= kMaxGptqToRtnKld * rtn[0] and awq[0] <= (1 + kAwqNoise) * rtn[0],
                      "%s held-out mean KLD / perplexity: rtn %.5f / %.3f, gptq %.5f / %.3f, awq %.5f / %.3f "
                      "(gptq <= %.2f x rtn; awq <= rtn + %.0f%%)"
                      % (scheme, rtn[0], rtn[1], gptq[0], gptq[1], awq[0], awq[1], kMaxGptqToRtnKld, 100 * kAwqNoise))
    # int8 (static: weights and activations): GPTQ and AWQ round the weights; the
    # activations' error, which they do not touch, is most of the KLD, so they must
    # only not lose to round-to-nearest by more than noise.
    for scheme in ("int8-sym", "int8-asym"):
        if any((scheme, a) not in kld for a in ("rtn", "gptq", "awq")):
            continue
        rtn, gptq, awq = (kld[(scheme, a)] for a in ("rtn", "gptq", "awq"))
        checks.report(gptq[0] <= (1 + kAwqNoise) * rtn[0] and awq[0] <= (1 + kAwqNoise) * rtn[0],
                      "%s held-out mean KLD / perplexity: rtn %.5f / %.3f, gptq %.5f / %.3f, awq %.5f / %.3f "
                      "(gptq, awq <= rtn + %.0f%%)"
                      % (scheme, rtn[0], rtn[1], gptq[0], gptq[1], awq[0], awq[1], 100 * kAwqNoise))
    check_embeddings(checks, binary, work, cfg, optimum, tokens, tokens_path)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
