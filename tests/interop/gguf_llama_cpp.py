#!/usr/bin/python3
"""pq's GGUF files in llama.cpp itself (issue 18, item 4).

Usage: gguf_llama_cpp.py PQ WORK [--threads N] [--gguf-from DIR]

For each model -- the sample LLM in both layouts (models/tiny_llm, optimum and genai)
and a wider sibling whose rows are all multiples of 256 (tools/make_wide_llm.py, written
into WORK; on the sample every q4_k tensor falls back to another type) -- and each GGUF
scheme, `pq quantize MODEL -o X.gguf --scheme gguf-TYPE --tokenizer tokenizer.model`
(the 4-bit types also with `--calib calib_tokens.npy`). Every file is loaded by
node-llama-cpp (llama_cpp_eval.js), which gives llama.cpp's next-token distributions on
the held-out tokens (each row a fresh prefill); they are compared with pq's executor on
the FP32 ONNX model (`pq run`): mean KLD(P_fp32 || Q_gguf) over every position (natural
log), top-1 agreement, perplexity. llama.cpp's own quantization of pq's gguf-f32 file
(llama_quantize_shim.c around libllama's llama_model_quantize, --pure, so every
quantizable tensor gets the type) is measured the same way. Checks:
  - gguf-f32: mean KLD <= kF32MaxKld and top-1 agreement >= kF32MinTop1;
  - gguf-q8_0: mean KLD <= kQ8MaxKld;
  - gguf-f16, gguf-q4_0, gguf-q4_k, gguf-iq4_nl (with and without --calib): mean KLD
    <= llama.cpp's for the same type x (1 + kLlamaCppTolerance);
  - no tensor of pq's file takes more bytes than the same tensor in llama.cpp's file of
    the same type (where a block does not divide a row length, llama.cpp falls back,
    e.g. q4_k -> q5_0; pq may fall back to that or to fewer bits), so no comparison is
    won by spending more bits;
  - llama.cpp's tokenizer, from the metadata of pq's gguf-f32 file, encodes a sentence
    (spaces, digits, byte fallback) exactly as Debian's spm_encode does.
Prints one line per check, a markdown table, `N passed, M failed`; writes the table as
JSON to WORK/gguf_llama_cpp.json; exits 1 if any check failed.

--gguf-from DIR (for developing this harness): take DIR/MODEL.SCHEME[.calib].gguf
(MODEL tiny_optimum, tiny_genai, wide_optimum) instead of running pq quantize.
"""

import argparse
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
kHere = os.path.dirname(os.path.abspath(__file__))
kRepo = os.path.dirname(os.path.dirname(kHere))
sys.path.insert(0, kHere)

import jsonschema  # noqa: E402
import numpy as np  # noqa: E402

from interop_util import Checks  # noqa: E402

kSample = os.path.join(kRepo, "models", "tiny_llm")
kNodeModules = os.path.join(kHere, "node_modules")
kBundle = os.path.join(kNodeModules, "node-llama-cpp", "llama", "gitRelease.bundle")
kLibDir = os.path.join(kNodeModules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64")
kLibLlama = "libllama.v0.4.0.so"

# The gates.
kF32MaxKld = 1e-4
kF32MinTop1 = 0.99
kQ8MaxKld = 0.01
# pq's quantization of a type may be at most this much worse (relative mean KLD) than
# llama.cpp's own of the same type from pq's f32 file. A writer that follows ggml's
# reference quantizer gives the same bytes (ratio 1.000); a different rounding of equal
# quality (a scale search, calibration weighting) moves the mean KLD over the 2,048
# held-out positions by a few percent either way, while a worse choice of the same
# size shows at once (llama.cpp's q4_0 and iq4_nl, both 4.5 bits per weight, measured
# 1.30e-2 and 1.07e-2 on the sample, 6.87e-3 and 5.08e-3 on the wide model: 22% and
# 35% apart); a real defect (a wrong block layout, a scale off by a rounding rule, an
# unpermuted q/k row, a lost norm) costs multiples.
kLlamaCppTolerance = 0.05

# scheme -> the shim's llama_ftype name for llama.cpp's quantization of the same type.
kSchemes = {"f32": None, "f16": "f16", "q8_0": "q8_0", "q4_0": "q4_0", "q4_k": "q4_k_s", "iq4_nl": "iq4_nl"}
kCompared = ("f16", "q4_0", "q4_k", "iq4_nl")
kCalibrated = ("q4_0", "q4_k", "iq4_nl")
kSentence = ("The quick brown fox jumps over the lazy dog.  You will be successful in 2024, "
             "said Mr. O'Brien -- caf\u00e9 \u2603 \u20ac42!")


def run(cmd, timeout=900):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def tail(text, n=400):
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


class Tools:
    """The shim (compiled into WORK at test time) and gguf-py, both from the llama.cpp
    source that node-llama-cpp's prebuilt library was built from (its git bundle)."""

    def __init__(self, work):
        self.dir = os.path.join(work, "llama_cpp")
        self.shim = os.path.join(self.dir, "llama_quantize_shim")
        self.src = os.path.join(self.dir, "src")

    def build(self):
        """Returns None, or what went wrong."""
        for path in (kBundle, os.path.join(kLibDir, kLibLlama)):
            if not os.path.exists(path):
                return "%s is missing: install tests/interop's npm packages (node-llama-cpp 3.21.1)" % path
        heads = run(["git", "bundle", "list-heads", kBundle])
        if heads.returncode != 0:
            return "git bundle list-heads %s: %s" % (kBundle, tail(heads.stderr))
        commit = heads.stdout.split()[0]
        stamp = os.path.join(self.src, "COMMIT")
        if not (os.path.exists(stamp) and open(stamp).read().strip() == commit):
            git_dir = os.path.join(self.dir, "bundle.git")
            run(["rm", "-rf", git_dir, self.src])
            os.makedirs(self.src)
            for cmd in (["git", "init", "-q", "--bare", git_dir],
                        ["git", "-C", git_dir, "fetch", "-q", kBundle, "HEAD"]):
                proc = run(cmd)
                if proc.returncode != 0:
                    return "%s: %s" % (" ".join(cmd), tail(proc.stderr))
            archive = subprocess.Popen(["git", "-C", git_dir, "archive", commit, "include", "ggml/include",
                                        "gguf-py"], stdout=subprocess.PIPE)
            untar = subprocess.run(["tar", "-x", "-C", self.src], stdin=archive.stdout, capture_output=True)
            archive.wait()
            if archive.returncode != 0 or untar.returncode != 0:
                return "git archive of %s failed: %s" % (kBundle, untar.stderr.decode()[-300:])
            with open(stamp, "w") as f:
                f.write(commit + "\n")
        proc = run(["gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-I", os.path.join(self.src, "include"), "-I", os.path.join(self.src, "ggml", "include"),
                    os.path.join(kHere, "llama_quantize_shim.c"), "-o", self.shim,
                    "-L", kLibDir, "-l:" + kLibLlama, "-Wl,-rpath," + kLibDir])
        if proc.returncode != 0:
            return "gcc llama_quantize_shim.c: %s" % tail(proc.stderr)
        sys.path.insert(0, os.path.join(self.src, "gguf-py"))
        return None

    def quantize(self, src, dst, ftype):
        proc = run([self.shim, src, dst, ftype, "--pure", "--threads", "2"])
        return None if proc.returncode == 0 else tail(proc.stderr)

    @staticmethod
    def tensors(path):
        """{tensor name: (ggml type name, bytes)} of a GGUF file (gguf-py's reader)."""
        import gguf  # from the bundle, on sys.path after build()
        return {t.name: (t.tensor_type.name.lower(), int(t.n_bytes)) for t in gguf.GGUFReader(path).tensors}


def llama_cpp_probs(gguf, tokens, out, threads):
    """llama.cpp's distributions [rows, len, vocab] float64 (renormalized: node-llama-cpp
    sums them in float32), or raises with llama_cpp_eval.js's message."""
    proc = run(["node", os.path.join(kHere, "llama_cpp_eval.js"), gguf, tokens, out, "--threads", str(threads)])
    if proc.returncode != 0:
        raise RuntimeError(tail(proc.stderr))
    q = np.load(out).astype(np.float64)
    return q / q.sum(-1, keepdims=True)


def log_softmax(logits):
    x = logits.astype(np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def metrics(log_p, q, tokens):
    """Mean KLD(P || Q) over every position, top-1 agreement, perplexity of Q on
    tokens[:, t + 1] at t = 0..len-2 (natural log). A zero in Q counts as 1e-45."""
    log_q = np.log(np.maximum(q, 1e-45))
    kld = (np.exp(log_p) * (log_p - log_q)).sum(-1)
    nll = -np.take_along_axis(log_q[:, :-1], tokens[:, 1:, None], -1).mean()
    return {"kld_mean": float(kld.mean()), "kld_max": float(kld.max()),
            "top1": float((log_p.argmax(-1) == q.argmax(-1)).mean()), "perplexity": float(np.exp(nll))}


class Harness:
    def __init__(self, args, checks, tools):
        self.args, self.checks, self.tools = args, checks, tools
        self.rows = []
        self.tokens_path = os.path.join(kSample, "heldout_tokens.npy")
        self.calib_path = os.path.join(kSample, "calib_tokens.npy")
        self.tokenizer = os.path.join(kSample, "tokenizer.model")
        self.tokens = np.load(self.tokens_path)
        with open(os.path.join(kRepo, "docs", "gguf_report.schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        self.schema = jsonschema.Draft202012Validator(schema)

    def path(self, model, tag):
        return os.path.join(self.args.work, "%s.%s.gguf" % (model, tag))

    def pq_quantize(self, model, onnx_path, scheme, calib):
        """Path of pq's GGUF file for the scheme, or None after a failed check."""
        tag = scheme + (".calib" if calib else "")
        if self.args.gguf_from:
            src = os.path.join(self.args.gguf_from, "%s.%s.gguf" % (model, tag))
            self.checks.check(os.path.exists(src), "%s %s: --gguf-from file %s exists" % (model, tag, src))
            return src if os.path.exists(src) else None
        out = self.path(model, tag)
        cmd = [self.args.pq, "--quiet", "quantize", onnx_path, "-o", out, "--scheme", "gguf-" + scheme,
               "--tokenizer", self.tokenizer, "--force"]
        if calib:
            cmd += ["--calib", self.calib_path]
        proc = run(cmd)
        ok = proc.returncode == 0 and os.path.exists(out)
        self.checks.check(ok, "%s: pq quantize --scheme gguf-%s%s exits 0%s" % (
            model, scheme, " --calib" if calib else "",
            "" if ok else " (exit %d; pq must write GGUF files for llama.cpp, issue 18): %s"
            % (proc.returncode, tail(proc.stderr + proc.stdout))))
        if ok:
            self.check_report(model, tag, out[:-len(".gguf")] + ".report.json")
        return out if ok else None

    def check_report(self, model, tag, path):
        """The report beside a GGUF file validates against docs/gguf_report.schema.json."""
        with open(path) as f:
            report = json.load(f)
        errors = [e.message for e in self.schema.iter_errors(report)]
        self.checks.check(not errors, "%s %s: the report validates against docs/gguf_report.schema.json%s"
                          % (model, tag, "" if not errors else ": " + "; ".join(errors[:3])))

    def evaluate(self, model, source, scheme, calib, gguf, log_p):
        """Loads the file in node-llama-cpp; appends and returns its table row, or None."""
        label = "%s %s %s%s" % (model, source, scheme, " calib" if calib else "")
        try:
            q = llama_cpp_probs(gguf, self.tokens_path, gguf[:-5] + ".probs.npy", self.args.threads)
        except (RuntimeError, OSError, ValueError) as e:
            self.checks.check(False, "%s: node-llama-cpp loads and evaluates %s: %s" % (label, gguf, e))
            return None
        self.checks.check(True, "%s: node-llama-cpp loads and evaluates %s" % (label, os.path.basename(gguf)))
        tensors = self.tools.tensors(gguf)
        counts = {}
        for t, _ in tensors.values():
            counts[t] = counts.get(t, 0) + 1
        row = {"model": model, "source": source, "scheme": scheme, "calib": calib,
               "file": gguf, "bytes": os.path.getsize(gguf), "tensor_types": counts, "tensors": tensors}
        row.update(metrics(log_p, q, self.tokens))
        self.rows.append(row)
        return row

    def no_more_bytes(self, model, pq_row, ref_row, scheme):
        """pq's file has llama.cpp's tensors, none of them bigger than llama.cpp's."""
        ours, theirs = pq_row["tensors"], ref_row["tensors"]
        wrong = ["%s missing" % name for name in sorted(set(theirs) - set(ours))]
        wrong += ["%s is %s, %d bytes (llama.cpp: %s, %d)" % ((name,) + ours[name] + theirs.get(name, ("none", 0)))
                  for name in sorted(ours) if ours[name][1] > theirs.get(name, ("none", 0))[1]]
        self.checks.check(not wrong, "%s gguf-%s%s: llama.cpp's %d tensors, none bigger than in llama.cpp's %s "
                          "file%s" % (model, scheme, " --calib" if pq_row["calib"] else "", len(theirs), scheme,
                                      "" if not wrong else ": " + "; ".join(wrong[:5])))

    def check_tokenizer(self, model, gguf):
        text = os.path.join(self.args.work, "sentence.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write(kSentence + "\n")
        spm = run(["spm_encode", "--model", self.tokenizer, "--output_format=id", "--input", text])
        out = os.path.join(self.args.work, model + ".tokens.json")
        ours = run(["node", os.path.join(kHere, "llama_cpp_eval.js"), gguf, "--tokenize", text, out])
        if spm.returncode != 0 or ours.returncode != 0:
            self.checks.check(False, "%s: tokenizer: spm_encode %s / llama_cpp_eval.js %s" % (
                model, tail(spm.stderr), tail(ours.stderr)))
            return
        expected = [int(x) for x in spm.stdout.split()]
        with open(out) as f:
            got = json.load(f)["tokens"]
        self.checks.check(got == expected, "%s: llama.cpp's tokenizer from pq's metadata gives spm_encode's "
                          "%d ids%s" % (model, len(expected), "" if got == expected else ": %s vs %s"
                                        % (got, expected)))

    def run_model(self, model, onnx_path, schemes):
        """Checks gguf-f32 and the quantized `schemes` (names of kSchemes) of one model."""
        ref = os.path.join(self.args.work, model + ".fp32.npz")
        proc = run([self.args.pq, "--quiet", "run", onnx_path, "--data", self.tokens_path, "-o", ref,
                    "--threads", str(self.args.threads), "--force"])
        self.checks.check(proc.returncode == 0, "%s: pq run on the held-out tokens%s" % (
            model, "" if proc.returncode == 0 else ": " + tail(proc.stderr)))
        if proc.returncode != 0:
            return
        log_p = log_softmax(np.load(ref)["logits"])
        nll = -np.take_along_axis(log_p[:, :-1], self.tokens[:, 1:, None], -1).mean()
        self.rows.append({"model": model, "source": "pq run (FP32 ONNX)", "scheme": "fp32", "calib": False,
                          "file": onnx_path, "bytes": os.path.getsize(onnx_path), "kld_mean": 0.0,
                          "kld_max": 0.0, "top1": 1.0, "perplexity": float(np.exp(nll))})

        f32 = self.pq_quantize(model, onnx_path, "f32", False)
        if f32 is None:
            return
        row = self.evaluate(model, "pq", "f32", False, f32, log_p)
        if row is None:
            return
        self.checks.check(row["kld_mean"] <= kF32MaxKld and row["top1"] >= kF32MinTop1,
                          "%s gguf-f32: mean KLD %.3e (limit %.0e), top-1 %.4f (limit %.2f)"
                          % (model, row["kld_mean"], kF32MaxKld, row["top1"], kF32MinTop1))
        self.check_tokenizer(model, f32)

        for scheme, ftype in kSchemes.items():
            if ftype is None or scheme not in schemes:
                continue
            ref_file = self.path(model, "llama_cpp." + scheme)
            error = self.tools.quantize(f32, ref_file, ftype)
            self.checks.check(error is None, "%s: llama.cpp quantizes pq's f32 file to %s%s"
                              % (model, ftype, "" if error is None else ": " + error))
            ref_row = self.evaluate(model, "llama.cpp", scheme, False, ref_file, log_p) if error is None else None
            for calib in ((False, True) if scheme in kCalibrated else (False,)):
                gguf = self.pq_quantize(model, onnx_path, scheme, calib)
                if gguf is None:
                    continue
                pq_row = self.evaluate(model, "pq", scheme, calib, gguf, log_p)
                if pq_row is None:
                    continue
                if scheme == "q8_0":
                    self.checks.check(pq_row["kld_mean"] <= kQ8MaxKld, "%s gguf-q8_0: mean KLD %.3e (limit %.0e)"
                                      % (model, pq_row["kld_mean"], kQ8MaxKld))
                if ref_row is None:
                    continue
                self.no_more_bytes(model, pq_row, ref_row, scheme)
                if scheme in kCompared:
                    limit = ref_row["kld_mean"] * (1 + kLlamaCppTolerance)
                    self.checks.check(pq_row["kld_mean"] <= limit,
                                      "%s gguf-%s%s: mean KLD %.4e vs llama.cpp's %.4e (limit %.4e, +%d%%)"
                                      % (model, scheme, " --calib" if calib else "", pq_row["kld_mean"],
                                         ref_row["kld_mean"], limit, round(kLlamaCppTolerance * 100)))

    def table(self):
        lines = ["| model | file | scheme | calib | MiB | tensor types | mean KLD | max KLD | top-1 | perplexity |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            types = ", ".join("%d %s" % (n, t) for t, n in sorted(r.get("tensor_types", {}).items()))
            lines.append("| %s | %s | %s | %s | %.2f | %s | %.3e | %.3e | %.4f | %.4f |" % (
                r["model"], r["source"], r["scheme"], "yes" if r["calib"] else "", r["bytes"] / 2**20, types,
                r["kld_mean"], r["kld_max"], r["top1"], r["perplexity"]))
        return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pq")
    parser.add_argument("work")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gguf-from", help="take MODEL.SCHEME[.calib].gguf from this folder instead of pq quantize")
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    checks = Checks()

    tools = Tools(args.work)
    error = tools.build()
    checks.check(error is None, "llama.cpp's headers and gguf-py from node-llama-cpp's bundle; shim compiled%s"
                 % ("" if error is None else ": " + error))
    if error is not None:
        return checks.close()

    wide_dir = os.path.join(args.work, "wide_llm")
    proc = run([sys.executable, os.path.join(kRepo, "tools", "make_wide_llm.py"), wide_dir])
    checks.check(proc.returncode == 0, "tools/make_wide_llm.py writes the hidden-256 model%s"
                 % ("" if proc.returncode == 0 else ": " + tail(proc.stderr)))
    with open(os.path.join(kSample, "config.json")) as f:
        files = json.load(f)["pq"]["files"]
    # The genai layout holds the optimum layout's weights: its f32 and q8_0 files
    # check that pq reads the same model from the other graph; the other types
    # would repeat the optimum rows exactly (2 minutes of CI for nothing new).
    every = tuple(s for s, ftype in kSchemes.items() if ftype is not None)
    models = [("tiny_optimum", os.path.join(kSample, files["optimum"]), every),
              ("tiny_genai", os.path.join(kSample, files["genai"]), ("q8_0",))]
    if proc.returncode == 0:
        models.append(("wide_optimum", os.path.join(wide_dir, "wide_llm_optimum.onnx"), every))

    harness = Harness(args, checks, tools)
    for model, onnx_path, schemes in models:
        harness.run_model(model, onnx_path, schemes)

    print()
    print(harness.table())
    print()
    with open(os.path.join(args.work, "gguf_llama_cpp.json"), "w") as f:
        json.dump({"tolerance_vs_llama_cpp": kLlamaCppTolerance, "f32_max_kld": kF32MaxKld,
                   "f32_min_top1": kF32MinTop1, "q8_0_max_kld": kQ8MaxKld,
                   "heldout_tokens": harness.tokens_path,
                   "rows": [{k: v for k, v in r.items() if k != "tensors"} for r in harness.rows]}, f, indent=2)
        f.write("\n")
    return checks.close()


if __name__ == "__main__":
    sys.exit(main())
