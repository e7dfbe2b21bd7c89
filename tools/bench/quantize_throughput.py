#!/usr/bin/python3
"""Benchmark: quantization throughput and peak memory on a large model.

Usage: quantize_throughput.py PQ_BINARY MODEL.onnx [SCHEME ...]
Runs `pq quantize MODEL --weights-only --external-data` once per scheme (default
int8-sym) in a child process and prints the MB/s of FP32 weights quantized
(wall time of the whole command: load, quantize, write) and the child's peak
RSS as a multiple of the model's size on disk (model + external data).
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def main(argv):
    pq, model = argv[1], argv[2]
    schemes = argv[3:] or ["int8-sym"]
    size = os.path.getsize(model)
    data = model + ".data"
    if os.path.exists(data):
        size += os.path.getsize(data)
    print(f"model {model}: {size / 2**20:.0f} MiB on disk")
    print(f"{'scheme':<12} {'seconds':>8} {'MB/s':>8} {'peak RSS MiB':>13} {'x model':>8}")
    for scheme in schemes:
        with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(model))) as out_dir:
            out = os.path.join(out_dir, "q.onnx")
            cmd = [pq, "--quiet", "quantize", model, "-o", out, "--scheme", scheme, "--weights-only",
                   "--external-data", "--json"]
            start = time.monotonic()
            # A fresh child per run: RUSAGE_CHILDREN's peak covers only it.
            proc = subprocess.run(["/usr/bin/python3", "-c",
                                   "import resource,subprocess,sys;"
                                   "r=subprocess.run(sys.argv[1:]).returncode;"
                                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
                                   " file=sys.stderr);sys.exit(r)"] + cmd,
                                  capture_output=True, text=True)
            seconds = time.monotonic() - start
            if proc.returncode != 0:
                print(f"{scheme}: pq failed: {proc.stderr.strip()}")
                return 1
            peak_kib = int(proc.stderr.strip().splitlines()[-1])
            summary = json.loads(proc.stdout)
            weights_mb = summary["bytes_before"] / 1e6
            print(f"{scheme:<12} {seconds:8.2f} {weights_mb / seconds:8.0f} {peak_kib / 1024:13.0f} "
                  f"{peak_kib * 1024 / size:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
