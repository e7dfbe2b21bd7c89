#!/usr/bin/python3
"""pq's float16 MatMul against ONNX Runtime's, bit for bit.

Usage: float16_matmul_order.py PQ WORK

ONNX Runtime computes a float16 MatMul in float32 (its MLAS GEMM) and rounds the
result to float16; pq sums such products in MLAS's order
(src/exec/kernels/sgemm_ort_order.h). For one-MatMul float16 models covering every
order pq reproduces -- B a constant (packed by ORT) or a graph input, one row or
many, n below and above k (the k-block length changes with n), k not a multiple
of the blocks -- `pq run` must give exactly ORT's float16 outputs at ORT's default
graph optimizations, and, for B a graph input, with them disabled too (without
them ORT keeps the Cast after a constant B and sums that product as for a computed
B: printed, not held). A float32 copy of each model is run too: pq's float32
products are not held to ORT's order, and the share of float32 outputs that differ
in the last bit is printed for comparison.
Prints one line per check and `N passed, M failed`; exits 1 if any check failed.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import interop_util  # noqa: E402

# (rows of A, k, n): one row; n >= k (one k-block); n < k with n > 64, <= 64,
# <= 32, <= 16 (blocks of 128, 256, 512, 1024); k around the block lengths.
kShapes = [(1, 352, 128), (1, 43, 33), (5, 96, 200), (64, 352, 128), (64, 1100, 48), (33, 600, 40),
           (16, 1100, 24), (9, 2100, 8), (64, 128, 1536), (3, 257, 100)]
kTimeout = 300


def matmul_model(m, k, n, constant_b, elem, b_value):
    """y = a @ b: a [1, m, k]; b a [k, n] initializer or a [1, k, n] graph input."""
    a = helper.make_tensor_value_info("a", elem, [1, m, k])
    if constant_b:
        inputs, inits = [a], [numpy_helper.from_array(b_value, "b")]
    else:
        inputs, inits = [a, helper.make_tensor_value_info("b", elem, [1, k, n])], []
    y = helper.make_tensor_value_info("y", elem, [1, m, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "matmul", inputs, [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run_pq(pq, model, feeds, work, tag):
    data = os.path.join(work, tag + ".npz")
    out = os.path.join(work, tag + ".pq.npz")
    np.savez(data, **feeds)
    proc = interop_util.run([pq, "--quiet", "run", model, "--data", data, "-o", out, "--threads", "1",
                             "--force"], kTimeout)
    if proc.returncode != 0:
        raise RuntimeError("pq run %s: %s" % (model, proc.stderr.strip()))
    return np.load(out)["y"]


def run_ort(model, feeds, work, tag, opt_level):
    data = os.path.join(work, tag + ".npz")
    out_dir = os.path.join(work, tag + "." + opt_level)
    np.savez(data, **feeds)
    proc = interop_util.run(["node", os.path.join(interop_util.kHere, "ort_run.js"), model, data, out_dir,
                             "--threads", "1", "--opt-level", opt_level], kTimeout)
    if proc.returncode != 0:
        raise RuntimeError("ort_run.js %s: %s" % (model, proc.stderr.strip()))
    return np.load(os.path.join(out_dir, "y.npy"))


def main():
    pq, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    checks = interop_util.Checks()
    if not interop_util.has_onnxruntime():
        print("onnxruntime-node is not installed (tests/interop: npm ci)")
        return 1
    rng = np.random.default_rng(20261130)
    for m, k, n in kShapes:
        a32 = rng.standard_normal((1, m, k)).astype(np.float32)
        b32 = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        for constant_b in (True, False):
            kind = "constant B" if constant_b else "B input"
            for elem, dtype in ((TensorProto.FLOAT16, np.float16), (TensorProto.FLOAT, np.float32)):
                a, b = a32.astype(dtype), b32.astype(dtype)
                tag = "m%d_k%d_n%d_%s_%s" % (m, k, n, "const" if constant_b else "input", dtype.__name__)
                path = os.path.join(work, tag + ".onnx")
                onnx.save(matmul_model(m, k, n, constant_b, elem, b), path)
                feeds = {"a": a} if constant_b else {"a": a, "b": b[None]}
                # pq run writes float16 outputs as float32 (exactly: they were rounded).
                ours = run_pq(pq, path, feeds, work, tag).astype(dtype)
                for level in ("all", "disabled"):
                    ref = run_ort(path, feeds, work, tag, level)
                    differ = int((ours.view(np.uint16 if dtype == np.float16 else np.uint32) !=
                                  ref.view(np.uint16 if dtype == np.float16 else np.uint32)).sum())
                    # Without graph optimizations ORT does not fold the Cast it puts
                    # after a float16 constant B, so it sums that product as for a
                    # computed B; pq, like ORT's default, as for a constant.
                    held = dtype == np.float16 and not (constant_b and level == "disabled")
                    if held:
                        checks.check(ours.shape == ref.shape and differ == 0,
                                     "float16 %dx%dx%d, %s, ORT optimizations %s: %d of %d outputs differ "
                                     "from ORT's" % (m, k, n, kind, level, differ, ref.size))
                    else:
                        print("info %s %dx%dx%d, %s, ORT optimizations %s: %d of %d outputs differ "
                              "from ORT's (not held to its order)" % (dtype.__name__, m, k, n, kind, level, differ,
                                                                      ref.size))
    return checks.close()


if __name__ == "__main__":
    sys.exit(main())
