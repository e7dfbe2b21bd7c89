#!/usr/bin/python3
"""pq's GGUF files and ggml block encodings against ggml itself.

Uses libggml-base.so of npm's @node-llama-cpp/linux-x64 and the headers of
the llama.cpp source bundled with node-llama-cpp (cloned into WORK), through
a small C shim (ggml_layout_shim.c) compiled here with gcc. On fixed-seed
Gaussian and heavy-tailed (Student t, 3 degrees of freedom) rows:
  - pq's storage table equals ggml's block sizes and type sizes;
  - ggml's gguf_init_from_file loads pq's file; its tensors' bytes are pq's;
  - ggml's to_float of every pq tensor equals pq's DequantizeRow to the bit;
  - without importance, q8_0 and q4_0 are byte-identical to
    ggml_quantize_chunk; for the other types (and for every type with
    importance) pq's error is at most ggml's times (1 + TOLERANCE), the
    error being the RMSE, weighted by the importance when there is one.
Usage: ggml_layout_check.py GGUF_BLOCKS_TOOL WORK_DIR
"""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "node_modules")
LIB_DIR = os.path.join(NODE_MODULES, "@node-llama-cpp/linux-x64/bins/linux-x64")
BUNDLE = os.path.join(NODE_MODULES, "node-llama-cpp/llama/gitRelease.bundle")

ROWS, N = 16, 4096
SEED = 1234
TOLERANCE = 0.005          # pq's error may exceed ggml's by at most 0.5%
TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q5_0": 6, "q8_0": 8, "q4_k": 12, "iq4_nl": 20}
BYTE_IDENTICAL = ("q8_0", "q4_0")   # without importance: ggml's reference quantizer
SKIP = 77                   # ctest's skip code when the npm packages are absent


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def build_shim(work):
    src = os.path.join(work, "llama.cpp")
    if not os.path.isdir(os.path.join(src, "ggml", "include")):
        run(["git", "clone", "-q", BUNDLE, src])
    shim = os.path.join(work, "ggml_layout_shim")
    run(["gcc", "-O2", "-std=c11", "-I", os.path.join(src, "ggml", "include"),
         os.path.join(HERE, "ggml_layout_shim.c"), "-L", LIB_DIR, "-l:libggml-base.so",
         "-Wl,-rpath," + LIB_DIR, "-o", shim])
    return shim


def datasets():
    rng = np.random.default_rng(SEED)
    return {"gaussian": rng.standard_normal((ROWS, N)).astype(np.float32),
            "heavy_tailed": rng.standard_t(3, (ROWS, N)).astype(np.float32)}


def error(x, y, w):
    """sqrt(mean over rows of sum_j w_j (x - y)^2 / sum_j w_j); w None weighs evenly."""
    d2 = (x.astype(np.float64) - y.astype(np.float64)) ** 2
    if w is None:
        return float(np.sqrt(d2.mean()))
    return float(np.sqrt((d2 * w).sum(axis=1).mean() / w.sum()))


def main():
    tool, work = sys.argv[1], os.path.abspath(sys.argv[2])
    if not os.path.exists(os.path.join(LIB_DIR, "libggml-base.so")) or not os.path.exists(BUNDLE):
        print(f"SKIP: {LIB_DIR} or {BUNDLE} missing (npm install in tests/interop)")
        return SKIP
    os.makedirs(work, exist_ok=True)
    shim = build_shim(work)
    failures = []

    ggml_storage = {l.split()[0]: l.split()[1:] for l in run([shim, "storage"]).splitlines()}
    pq_storage = {l.split()[0]: l.split()[1:] for l in run([tool, "--storage"]).splitlines()}
    for tid, (name, block, size) in pq_storage.items():
        if tid not in ggml_storage or ggml_storage[tid][1:] != [block, size]:
            failures.append(f"storage of type {tid} ({name}): pq {block}/{size}, ggml {ggml_storage.get(tid)}")
    print(f"storage table: {len(pq_storage)} types agree with ggml" if not failures else failures[-1])

    rng = np.random.default_rng(SEED + 1)
    importance = np.exp(rng.standard_normal(N) * 1.5).astype(np.float32)
    imp_path = os.path.join(work, "importance.f32")
    importance.tofile(imp_path)
    np.save(os.path.join(work, "importance.npy"), importance)
    print(f"{'data':13} {'type':7} {'importance':10} {'pq error':>10} {'ggml error':>10} {'pq/ggml':>8}")
    for label, x in datasets().items():
        d = os.path.join(work, label)
        for sub in ("pq", "ggml_read", "ggml_quant"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        rows_npy, rows_f32 = os.path.join(d, "rows.npy"), os.path.join(d, "rows.f32")
        np.save(rows_npy, x)
        x.tofile(rows_f32)
        gguf = os.path.join(d, "blocks.gguf")
        run([tool, rows_npy, os.path.join(work, "importance.npy"), gguf, os.path.join(d, "pq")])
        run([shim, "decode", gguf, os.path.join(d, "ggml_read")])
        for tname, tid in TYPES.items():
            for mode in ("plain", "imp"):
                name = f"{tname}.{mode}"
                pq_dec = np.fromfile(os.path.join(d, "pq", name + ".f32"), np.float32).reshape(ROWS, N)
                gg_dec = np.fromfile(os.path.join(d, "ggml_read", name + ".f32"), np.float32).reshape(ROWS, N)
                if not np.array_equal(pq_dec.view(np.uint32), gg_dec.view(np.uint32)):
                    bad = int(np.sum(pq_dec.view(np.uint32) != gg_dec.view(np.uint32)))
                    failures.append(f"{label} {name}: ggml decodes pq's bytes differently in {bad} values")
                pq_bytes = open(os.path.join(d, "ggml_read", name + ".bin"), "rb").read()
                out = os.path.join(d, "ggml_quant", name)
                run([shim, "quantize", str(tid), rows_f32, str(ROWS), str(N),
                     imp_path if mode == "imp" else "-", out])
                gg_bytes = open(out + ".bin", "rb").read()
                gg_quant = np.fromfile(out + ".f32", np.float32).reshape(ROWS, N)
                w = importance if mode == "imp" else None
                e_pq, e_gg = error(x, pq_dec, w), error(x, gg_quant, w)
                ratio = e_pq / e_gg if e_gg > 0 else (1.0 if e_pq == 0 else float("inf"))
                print(f"{label:13} {tname:7} {mode:10} {e_pq:10.6f} {e_gg:10.6f} {ratio:8.4f}")
                if mode == "plain" and tname in BYTE_IDENTICAL + ("f32", "f16"):
                    if pq_bytes != gg_bytes:
                        diff = sum(a != b for a, b in zip(pq_bytes, gg_bytes))
                        failures.append(f"{label} {name}: {diff} bytes differ from ggml_quantize_chunk")
                elif e_pq > e_gg * (1 + TOLERANCE):
                    failures.append(f"{label} {name}: pq error {e_pq:.6f} > ggml {e_gg:.6f} * (1 + {TOLERANCE})")
    for f in failures:
        print("FAIL:", f)
    print("ggml layout check:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
