#!/usr/bin/python3
"""The audit report is exactly true of the model it describes.

Usage: report_checks.py PQ_BINARY MODELS_DIR WORK_DIR SCHEMA

For several quantizations of the sample models (every INT8 scheme, static and
weights-only, several calibration methods; nf4 and int4 with GPTQ rounding,
whose numbers fourbit_models.py checks):
- the report validates against docs/report.schema.json (draft 2020-12);
- every scale, zero point, dtype, axis and block size in `tensors` equals what
  the model holds (read back through the names in `written_as`);
- every sha256 equals the file's real hash;
- `pq report` renders it as Markdown and HTML; the HTML has no script and no
  external reference, and headless Chromium renders it to a PNG.
And reproducibility: the same quantization run twice (SOURCE_DATE_EPOCH set,
--threads 1 vs 2, same relative command in two folders) gives byte-identical
models and reports.
Closes with `N passed, M failed`.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import numpy as np
import onnx
from onnx import numpy_helper

from interop_util import Checks

kTimeoutSeconds = 600
kChromiumFlags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
kMinPngBytes = 10000


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_numbers(checks, tag, model_path, report):
    model = onnx.load(model_path)
    inits = {i.name: i for i in model.graph.initializer}
    dq_by_output = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
    problems = []
    for t in report["tensors"]:
        w = t["written_as"]
        if w["scale"] not in inits or w["zero_point"] not in inits:
            problems.append(f"{t['name']}: scale/zero point initializers not found")
            continue
        scale = numpy_helper.to_array(inits[w["scale"]]).ravel()
        zp = numpy_helper.to_array(inits[w["zero_point"]]).ravel()
        if isinstance(t["scale"], dict):  # --report-detail summary: count and digest
            digest = hashlib.sha256(scale.astype("<f4").tobytes()).hexdigest()
            if digest != t["scale"]["sha256"] or scale.size != t["scale"]["count"]:
                problems.append(f"{t['name']}: scale digest differs")
        elif not np.array_equal(scale, np.array(t["scale"], dtype=np.float32)):
            problems.append(f"{t['name']}: scale differs")
        if isinstance(t["zero_point"], dict):
            digest = hashlib.sha256(zp.astype("<i8").tobytes()).hexdigest()
            if digest != t["zero_point"]["sha256"] or zp.size != t["zero_point"]["count"]:
                problems.append(f"{t['name']}: zero point digest differs")
        elif not np.array_equal(zp.astype(np.int64), np.array(t["zero_point"], dtype=np.int64)):
            problems.append(f"{t['name']}: zero point differs")
        to_dtype = onnx.TensorProto.DataType.Name(inits[w["zero_point"]].data_type).lower()
        if to_dtype != t["to_dtype"]:
            problems.append(f"{t['name']}: to_dtype {t['to_dtype']} but model holds {to_dtype}")
        if t["role"] != "activation":
            q = inits.get(w["quantized"])
            if q is None or list(q.dims) != t["shape"]:
                problems.append(f"{t['name']}: quantized initializer missing or of another shape")
        dq = dq_by_output.get(w["dequantized"])
        if dq is None:
            problems.append(f"{t['name']}: no DequantizeLinear writes {w['dequantized']}")
            continue
        attrs = {a.name: a.i for a in dq.attribute}
        count = t["scale"]["count"] if isinstance(t["scale"], dict) else len(t["scale"])
        axis = attrs.get("axis") if count > 1 else None
        if axis != t["axis"] and not (t["axis"] is None and count == 1):
            problems.append(f"{t['name']}: axis {t['axis']} but DequantizeLinear has {axis}")
        if attrs.get("block_size") != t["block_size"]:
            problems.append(f"{t['name']}: block_size differs")
    checks.check(not problems, f"{tag}: {len(report['tensors'])} tensors match the model "
                 + ("; ".join(problems[:3]) if problems else ""))


def check_hashes(checks, tag, report, cwd):
    files = [report["input_model"], report["output_model"]]
    files += report["input_model"]["external_data"] + report["output_model"]["external_data"]
    if report["calibration"]:
        files += [f for f in report["calibration"]["files"] if f["sha256"]]
    bad = [f["path"] for f in files if sha256(os.path.join(cwd, f["path"])) != f["sha256"]]
    checks.check(not bad, f"{tag}: {len(files)} sha256 values equal the files' hashes {bad}")


def check_rendering(checks, tag, pq, report_path, work_dir):
    md = subprocess.run([pq, "report", report_path], capture_output=True, text=True)
    checks.check(md.returncode == 0 and "## Quantized tensors" in md.stdout,
                 f"{tag}: pq report (markdown) exit {md.returncode}")
    html_path = report_path + ".html"
    html = subprocess.run([pq, "report", report_path, "--format", "html", "-o", html_path, "--force"],
                          capture_output=True, text=True)
    ok = html.returncode == 0 and os.path.exists(html_path)
    text = open(html_path).read() if ok else ""
    clean = ok and "<script" not in text.lower() and " src=" not in text and " href=" not in text
    checks.check(clean and "<svg" in text, f"{tag}: HTML written, with an SVG chart, no script, "
                 "no external reference")
    chromium = shutil.which("chromium")
    if chromium is None:
        checks.check(False, f"{tag}: chromium is not installed (tools/test.sh installs it)")
        return
    png = html_path + ".png"
    profile = os.path.join(work_dir, "chromium-profile")
    proc = subprocess.run([chromium] + kChromiumFlags + [f"--user-data-dir={profile}",
                          f"--screenshot={png}", "--window-size=1200,1600", "file://" + html_path],
                          capture_output=True, text=True, timeout=120)
    size = os.path.getsize(png) if os.path.exists(png) else 0
    checks.check(proc.returncode == 0 and size >= kMinPngBytes,
                 f"{tag}: headless Chromium rendered the HTML ({size} bytes of PNG)")


def main(argv):
    pq, models_dir, work_dir, schema_path = (os.path.abspath(a) for a in argv[1:5])
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    calib = os.path.join(models_dir, "calib_images.npy")
    runs = [
        ("cnn-sym-minmax", "fashion_cnn", ["--scheme", "int8-sym", "--calib", calib]),
        ("cnn-asym-entropy", "fashion_cnn", ["--scheme", "int8-asym", "--calib", calib,
                                             "--calib-method", "entropy", "--symmetric-weights"]),
        ("cnn-asym-pertensor", "fashion_cnn", ["--scheme", "int8-asym", "--calib", calib,
                                               "--granularity", "per-tensor", "--calib-samples", "64"]),
        ("cnn-weights-only", "fashion_cnn", ["--scheme", "int8-sym", "--weights-only"]),
        ("vit-asym-percentile", "fashion_vit", ["--scheme", "int8-asym", "--calib", calib,
                                                "--calib-method", "percentile", "--calib-batch", "16"]),
        ("vit-sym-mse", "fashion_vit", ["--scheme", "int8-sym", "--calib", calib, "--calib-method", "mse"]),
        ("vit-weights-only", "fashion_vit", ["--scheme", "int8-asym", "--weights-only"]),
        ("vit-sym-smoothquant", "fashion_vit", ["--scheme", "int8-sym", "--calib", calib, "--smoothquant", "0.75"]),
        ("cnn-asym-equalize-bias-correction", "fashion_cnn", ["--scheme", "int8-asym", "--calib", calib,
                                                              "--equalize", "--bias-correction"]),
        ("vit-summary-detail", "fashion_vit", ["--scheme", "int8-sym", "--calib", calib,
                                               "--report-detail", "summary"]),
    ]
    # 4-bit schemes write no DequantizeLinear scales for check_numbers to read
    # back (fourbit_models.py checks those models against ONNX Runtime): their
    # reports are checked against the schema, the hashes and the renderers.
    fourbit_runs = [
        ("vit-nf4-gptq", "fashion_vit", ["--scheme", "nf4", "--weight-algo", "gptq", "--calib", calib]),
        ("vit-int4-asym-gptq-act-order", "fashion_vit", ["--scheme", "int4-asym", "--weight-algo", "gptq",
                                                         "--gptq-act-order", "--calib", calib]),
    ]
    checks = Checks()
    for tag, model, args in runs + fourbit_runs:
        out = os.path.join(work_dir, f"{tag}.onnx")
        proc = subprocess.run([pq, "--quiet", "quantize", os.path.join(models_dir, f"{model}.onnx"),
                               "-o", out] + args, capture_output=True, text=True, timeout=kTimeoutSeconds)
        checks.check(proc.returncode == 0, f"{tag}: pq quantize exit {proc.returncode} {proc.stderr.strip()}")
        if proc.returncode != 0:
            continue
        report_path = os.path.join(work_dir, f"{tag}.report.json")
        with open(report_path) as f:
            report = json.load(f)
        errors = [e.message for e in validator.iter_errors(report)]
        checks.check(not errors, f"{tag}: report validates against the schema {errors[:2]}")
        if (tag, model, args) in runs:
            check_numbers(checks, tag, out, report)
        check_hashes(checks, tag, report, os.getcwd())
        check_rendering(checks, tag, pq, report_path, work_dir)

    # Reproducibility: same relative command in two folders, different threads.
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    outputs = []
    for threads in ("1", "2"):
        folder = os.path.join(work_dir, f"repro_threads_{threads}")
        os.makedirs(folder)
        cmd = [pq, "--quiet", "quantize", os.path.join(models_dir, "fashion_vit.onnx"), "-o", "q.onnx",
               "--scheme", "int8-asym", "--calib", calib, "--calib-method", "entropy",
               "--calib-batch", "8", "--threads", threads]
        proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=kTimeoutSeconds)
        checks.check(proc.returncode == 0, f"reproducibility run (--threads {threads}) exit {proc.returncode}")
        outputs.append(folder)
    same_model = sha256(os.path.join(outputs[0], "q.onnx")) == sha256(os.path.join(outputs[1], "q.onnx"))
    same_report = (sha256(os.path.join(outputs[0], "q.report.json"))
                   == sha256(os.path.join(outputs[1], "q.report.json")))
    checks.check(same_model, "reproducibility: byte-identical models for --threads 1 and 2")
    checks.check(same_report, "reproducibility: byte-identical reports (SOURCE_DATE_EPOCH set)")
    with open(os.path.join(outputs[0], "q.report.json")) as f:
        created = json.load(f)["created_at"]
    checks.check(created == "2023-11-14T22:13:20Z", f"created_at follows SOURCE_DATE_EPOCH ({created})")
    return checks.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
