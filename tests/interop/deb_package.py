"""The Debian package (issue 20): `cpack -G DEB` in the build directory gives
pq_VERSION_amd64.deb whose Depends dpkg-shlibdeps computed, that holds the
tool, pq(1) and the bash completion (and not libpq's development files), and
whose unpacked tool runs: --version and a quantization of the sample CNN.
Needs no root: the package is unpacked with dpkg-deb -x and installing it is
only simulated (apt-get -s).

usage: deb_package.py BUILD_DIR MODELS_DIR WORK_DIR VERSION
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys

from interop_util import Checks

kTimeout = 600


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kTimeout, **kwargs)


def complete(completion_file, words):
    """What the completion offers for the command line `words` (the last one
    is the word being completed)."""
    script = (f"source {completion_file}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_pq\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    return run(["bash", "-c", script]).stdout.split()


def check_package(checks, deb, version):
    info = run(["dpkg-deb", "-I", deb]).stdout
    field = lambda name: (re.search(rf"^ {name}: (.*)$", info, re.M) or [None, ""])[1]
    checks.check(field("Package") == "pq" and field("Version") == version,
                 f"dpkg-deb -I: Package pq, Version {version} ({field('Package')} {field('Version')})")
    depends = field("Depends")
    checks.check(all(lib in depends for lib in ("libprotobuf", "libonnx", "libc6", "libgomp1")),
                 f"dpkg-deb -I: Depends computed by dpkg-shlibdeps: {depends}")
    listing = run(["dpkg-deb", "-c", deb]).stdout
    files = {line.split()[-1] for line in listing.splitlines() if line.strip()}
    for path in ("./usr/bin/pq", "./usr/share/man/man1/pq.1.gz",
                 "./usr/share/bash-completion/completions/pq", "./usr/share/doc/pq/copyright"):
        checks.check(path in files, f"dpkg-deb -c: {path}")
    dev = [f for f in files if "/include/" in f or f.endswith((".a", ".cmake"))]
    checks.check(not dev, f"dpkg-deb -c: no development files ({dev[:3]})")
    if shutil.which("apt-get"):
        sim = run(["apt-get", "-s", "install", os.path.abspath(deb)])
        checks.check(sim.returncode == 0 and "Inst pq" in sim.stdout,
                     f"apt-get -s install ./{os.path.basename(deb)}: {sim.stderr.strip()[-200:]}")


def check_unpacked(checks, root, models, work, version):
    pq = os.path.join(root, "usr/bin/pq")
    v = run([pq, "--version"])
    lines = v.stdout.splitlines()
    checks.check(v.returncode == 0 and lines and lines[0] == f"pq {version}",
                 f"unpacked pq --version: first line 'pq {version}' ({lines[:1]})")
    for key in ("commit: ", "build type: ", "compiled for: ", "this CPU has: "):
        checks.check(any(line.startswith(key) for line in lines), f"pq --version names '{key.strip()}'")

    out = os.path.join(work, "cnn_int8.onnx")
    q = run([pq, "--quiet", "quantize", os.path.join(models, "fashion_cnn.onnx"), "-o", out,
             "--scheme", "int8-sym", "--calib", os.path.join(models, "calib_images.npy"), "--force"])
    checks.check(q.returncode == 0 and os.path.getsize(out) > 0, f"unpacked pq quantize: {q.stderr.strip()}")
    report = os.path.join(work, "cnn_int8.report.json")
    if os.path.exists(report):
        with open(report) as f:
            doc = json.load(f)
        checks.check(doc["tool"]["version"] == version and doc["summary"]["nodes_quantized"] > 0,
                     "the report names the packaged version and quantized nodes")
    else:
        checks.check(False, "report written")

    with gzip.open(os.path.join(root, "usr/share/man/man1/pq.1.gz"), "rt") as f:
        man = f.read()
    checks.check(man.startswith(".TH PQ 1") and f'"pq {version}"' in man, "pq.1: title line with the version")
    checks.check(all(f'.SS "pq {sub}' in man for sub in ("quantize", "compare", "report", "schemes")),
                 "pq.1: a section per subcommand")
    checks.check(all(f in man for f in ("\\-\\-calib\\-method", "\\-\\-attestation", "EXIT STATUS")),
                 "pq.1: options and exit status")
    if shutil.which("groff"):
        render = run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=man)
        checks.check(render.returncode == 0 and not render.stderr.strip(),
                     f"pq.1 renders without groff warnings: {render.stderr.strip()[:200]}")

    completion = os.path.join(root, "usr/share/bash-completion/completions/pq")
    subs = complete(completion, ["pq", ""])
    checks.check({"quantize", "compare", "report"} <= set(subs), f"completion: subcommands ({subs})")
    flags = complete(completion, ["pq", "quantize", "--sch"])
    checks.check(flags == ["--scheme"], f"completion: pq quantize --sch -> {flags}")
    values = complete(completion, ["pq", "quantize", "m.onnx", "--scheme", "int8-"])
    checks.check(values == ["int8-sym", "int8-asym", "int8-dynamic"], f"completion: --scheme int8- -> {values}")
    methods = complete(completion, ["pq", "compare", "--task", ""])
    checks.check("lm" in methods and "classification" in methods, f"completion: compare --task -> {methods}")


def main():
    build, models, work, version = sys.argv[1:5]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    checks = Checks()
    # cpack packages the tree as built: its preinstall step compiles nothing
    # (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY in CMakeLists.txt).
    pack = run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", work])
    deb = os.path.join(work, f"pq_{version}_amd64.deb")
    checks.check(pack.returncode == 0 and os.path.exists(deb),
                 f"cpack -G DEB gives {os.path.basename(deb)}: {pack.stderr.strip()[-300:]}")
    if not os.path.exists(deb):
        return checks.close()
    check_package(checks, deb, version)
    root = os.path.join(work, "root")
    x = run(["dpkg-deb", "-x", deb, root])
    checks.check(x.returncode == 0, f"dpkg-deb -x: {x.stderr.strip()}")
    check_unpacked(checks, root, models, work, version)
    return checks.close()


if __name__ == "__main__":
    sys.exit(main())
