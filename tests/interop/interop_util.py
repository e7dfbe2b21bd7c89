"""Shared by the interop test programs: running pq and ONNX Runtime on the
same data, and counting checks (closing with `N passed, M failed`)."""
import os
import subprocess

import numpy as np
import onnx

kHere = os.path.dirname(os.path.abspath(__file__))


def run(cmd, timeout):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def pq_logits(pq, model, data, out, batch, timeout):
    """`pq run` on `data` (.npz keyed by input name); the `logits` output."""
    proc = run([pq, "--quiet", "run", model, "--data", data, "--batch", str(batch), "-o", out,
                "--force"], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"pq run {model}: {proc.stderr.strip()}")
    return np.load(out)["logits"]


def ort_logits(model, data, out_dir, batch, timeout):
    """ONNX Runtime (ort_run.js) on the same data, batched the same way."""
    proc = run(["node", os.path.join(kHere, "ort_run.js"), model, data, out_dir,
                "--batch", str(batch)], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"ort_run.js {model}: {proc.stderr.strip()}")
    return np.load(os.path.join(out_dir, "logits.npy"))


def has_onnxruntime():
    return os.path.isdir(os.path.join(kHere, "node_modules", "onnxruntime-node"))


class Checks:
    """Counts checks and prints one line per check."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, text):
        print(("ok   " if ok else "FAIL ") + text)
        self.passed += bool(ok)
        self.failed += not ok

    def check_model(self, path, tag):
        """One check: onnx.checker.check_model(full_check=True) passes on the
        model at `path` (any checker failure fails it, with the reason)."""
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
            self.check(True, f"{tag}: onnx.checker")
        except Exception as e:  # noqa: BLE001 - any checker failure fails the check
            self.check(False, f"{tag}: onnx.checker: {e}")

    def close(self):
        """Prints the closing line; returns the exit code."""
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
