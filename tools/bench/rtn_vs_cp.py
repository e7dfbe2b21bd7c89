#!/usr/bin/python3
"""Benchmark: round-to-nearest quantization against copying the same files.

Usage: rtn_vs_cp.py PQ_BINARY MODEL.onnx [SCHEME ...] [--runs N] [--threads N] [--cold]

For each scheme (default nf4 int4-sym int8-sym): `cp MODEL MODEL.data DIR/` and
`pq quantize MODEL --scheme SCHEME --weights-only --external-data`, each N times
(default 2), alternating. Warm (default): the files are read once first, so both
read from the page cache. --cold (root only): `sync` and
`echo 3 > /proc/sys/vm/drop_caches` before every run, so both read from disk.
Either way the time of writing ends when the command exits (cp does not fsync;
pq fsyncs what it writes before renaming it into place). Prints each wall time,
the best of each, their ratio, and pq's peak RSS. Outputs go to a temporary
directory beside MODEL and are deleted.
"""
import argparse
import os
import subprocess
import tempfile
import time


def drop_caches():
    """Writes back dirty pages and empties the page cache (root only)."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(cmd, cold=False):
    """Wall seconds and peak RSS (MiB) of `cmd` run in a fresh child."""
    if cold:
        drop_caches()
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/python3", "-c",
                           "import resource,subprocess,sys;"
                           "r=subprocess.run(sys.argv[1:]).returncode;"
                           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,file=sys.stderr);"
                           "sys.exit(r)"] + cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(cmd), proc.stderr.strip()[-500:]))
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pq")
    parser.add_argument("model")
    parser.add_argument("schemes", nargs="*", default=["nf4", "int4-sym", "int8-sym"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before every run (root)")
    args = parser.parse_args()
    files = [args.model] + ([args.model + ".data"] if os.path.exists(args.model + ".data") else [])
    size = sum(os.path.getsize(f) for f in files)
    for f in files if not args.cold else []:  # warm the page cache
        with open(f, "rb") as src:
            while src.read(1 << 24):
                pass
    print("model %s: %.0f MiB on disk; %d CPUs; page cache %s" % (args.model, size / 2**20, os.cpu_count(),
                                                                 "dropped before each run" if args.cold else "warm"))
    print("%-10s %-28s %-28s %6s %9s" % ("scheme", "cp seconds", "pq seconds", "ratio", "pq RSS MiB"))
    for scheme in args.schemes:
        cp_times, pq_times, rss = [], [], 0.0
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.model))) as out:
                cp_times.append(timed(["cp"] + files + [out], args.cold)[0])
            with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.model))) as out:
                cmd = [args.pq, "-q", "quantize", args.model, "-o", os.path.join(out, "q.onnx"), "--scheme", scheme,
                       "--weights-only", "--external-data"]
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                seconds, peak = timed(cmd, args.cold)
                pq_times.append(seconds)
                rss = max(rss, peak)
        print("%-10s %-28s %-28s %6.2f %9.0f" % (scheme, " ".join("%.2f" % t for t in cp_times),
                                                 " ".join("%.2f" % t for t in pq_times),
                                                 min(pq_times) / min(cp_times), rss))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
