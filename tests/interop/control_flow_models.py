#!/usr/bin/python3
"""pq runs torch exports with control flow (If, Loop) as ONNX Runtime does.

Usage: control_flow_models.py PQ_BINARY WORK_DIR

Exports, with torch.jit.script and torch.onnx.export at opset 13, a module
whose `if` depends on data (an If whose branches read the outer graph's
values) and whose `for` runs a trip count given as an input (a Loop carrying
a tensor), and a module with a data-dependent `while` (a Loop ended by its
condition). Each runs on kSamples samples chosen so that both branches are
taken and the loops run 0 to 4 times; `pq run` and onnxruntime-node
(ort_run.js, batch 1) must agree within kMaxRelL2, and pq with the scripted
torch module itself within kMaxRelL2Torch.
Prints one line per check, then `N passed, M failed`.
"""
import os
import sys

import numpy as np

from interop_util import Checks, has_onnxruntime, run

kHere = os.path.dirname(os.path.abspath(__file__))
kMaxRelL2 = 1e-5   # float32 both sides, the same ops in the same order
kMaxRelL2Torch = 1e-5  # torch's own Linear (another GEMM), same float32 ops otherwise
kSamples = 6
kTimeout = 300


def export_models(work_dir):
    """Writes branch_loop.onnx and while_loop.onnx; returns [(path, scripted module)]."""
    import torch

    class BranchLoop(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x, n: int):
            y = self.lin(x)
            if y.sum() > 0:
                y = y * 2.0
            else:
                y = y - 1.0
            for _ in range(n):
                y = torch.relu(y) + x
            return y

    class WhileLoop(torch.nn.Module):
        def forward(self, x):
            y = x
            while y.abs().sum() < 100.0:
                y = y * 1.5 + 1.0
            return y

    torch.manual_seed(0)
    exported = []
    for name, module, example, inputs in (
            ("branch_loop", BranchLoop(), (torch.randn(2, 4), 3), ["x", "n"]),
            ("while_loop", WhileLoop(), (torch.randn(2, 4),), ["x"])):
        path = os.path.join(work_dir, f"{name}.onnx")
        scripted = torch.jit.script(module)
        torch.onnx.export(scripted, example, path, opset_version=13,
                          input_names=inputs, output_names=["y"])
        exported.append((path, scripted))
    return exported


def torch_outputs(module, arrays):
    """The scripted module itself on every sample: a reference independent of ONNX."""
    import torch
    outs = []
    for i in range(kSamples):
        args = [torch.from_numpy(arrays["x"][i])]
        if "n" in arrays:
            args.append(int(arrays["n"][i]))
        outs.append(module(*args).detach().numpy())
    return np.concatenate(outs, axis=0)


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} PQ_BINARY WORK_DIR")
    pq, work = argv[1], argv[2]
    if not has_onnxruntime():
        print("SKIP: onnxruntime-node is not installed in tests/interop/node_modules")
        return 0
    os.makedirs(work, exist_ok=True)
    checks = Checks()
    (branch_loop, branch_module), (while_loop, while_module) = export_models(work)
    rng = np.random.default_rng(7)
    # Signs alternate so that the If takes both branches; n runs 0..4 loops.
    x = rng.standard_normal((kSamples, 2, 4)).astype(np.float32)
    x *= np.where(np.arange(kSamples) % 2 == 0, 1.0, -1.0).reshape(-1, 1, 1).astype(np.float32)
    cases = [("branch_loop", branch_loop, branch_module, {"x": x, "n": np.arange(kSamples, dtype=np.int64) % 5}),
             ("while_loop", while_loop, while_module, {"x": x * np.float32(10.0) ** (np.arange(kSamples) % 3 - 1)
                                         .reshape(-1, 1, 1).astype(np.float32)})]
    for name, model, module, arrays in cases:
        data = os.path.join(work, f"{name}.npz")
        np.savez(data, **arrays)
        pq_out, ort_dir = os.path.join(work, f"{name}.pq.npz"), os.path.join(work, f"{name}.ort")
        proc = run([pq, "--quiet", "run", model, "--data", data, "--batch", "1", "-o", pq_out,
                    "--force"], kTimeout)
        checks.check(proc.returncode == 0, f"{name}: pq run exit {proc.returncode} "
                     f"{proc.stderr.strip()[-300:]}")
        proc = run(["node", os.path.join(kHere, "ort_run.js"), model, data, ort_dir, "--batch", "1"],
                   kTimeout)
        checks.check(proc.returncode == 0, f"{name}: ort_run.js exit {proc.returncode} "
                     f"{proc.stderr.strip()[-300:]}")
        if not os.path.exists(pq_out) or not os.path.exists(os.path.join(ort_dir, "y.npy")):
            continue
        ours, theirs = np.load(pq_out)["y"], np.load(os.path.join(ort_dir, "y.npy"))
        if ours.shape != theirs.shape:
            checks.check(False, f"{name}: shape pq {ours.shape} vs ort {theirs.shape}")
            continue
        err = np.linalg.norm((ours - theirs).ravel()) / max(np.linalg.norm(theirs.ravel()), 1e-12)
        checks.check(err <= kMaxRelL2, f"{name}: pq vs ORT rel L2 {err:.3e} "
                     f"(limit {kMaxRelL2:.0e}) over {kSamples} samples")
        reference = torch_outputs(module, arrays)
        err = np.linalg.norm((ours - reference).ravel()) / np.linalg.norm(reference.ravel())
        checks.check(err <= kMaxRelL2Torch, f"{name}: pq vs torch rel L2 {err:.3e} "
                     f"(limit {kMaxRelL2Torch:.0e})")
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
