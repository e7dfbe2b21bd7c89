#!/usr/bin/python3
"""Train and export the pq sample models and data (Fashion-MNIST).

Produces, in the output directory (default: <repo>/models):

  fashion_cnn.onnx   small CNN (Conv/BatchNormalization/Relu/MaxPool x2, Gemm), opset 13
  fashion_vit.onnx   small vision transformer (hand-written MHSA, LayerNorm, GELU), opset 17
  calib_images.npy   float32 [256,1,28,28]  fixed-seed random subset of the 60k training set
  val_images.npy     float32 [1000,1,28,28] first 1000 images of the t10k test set
  val_labels.npy     int64   [1000]         their labels
  model_facts.json   per model: file, opset, params, test_accuracy_10k, val_accuracy_1000,
                     threads, train_seconds
  README.md          description of all of the above (generated, numbers filled in)

Preprocessing (identical for training, evaluation and every .npy file):
  x = (uint8_pixel / 255.0 - 0.2860) / 0.3530, float32, layout NCHW [N,1,28,28].

Must be run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-numpy,
python3-onnx) and reads Debian's dataset-fashion-mnist package:

  /usr/bin/python3 tools/train_sample_models.py --out models             # everything
  /usr/bin/python3 tools/train_sample_models.py --out models --only vit  # the ViT alone

--only cnn|vit retrains and exports that one model only: the other model's .onnx and the
.npy data files are left untouched, and its figures for model_facts.json and README.md are
read from the existing <out>/model_facts.json and <out>/<model>.onnx. --readme-only trains
nothing and rewrites README.md from those files (after a change to the README template).

Everything is seeded and torch uses deterministic algorithms with a fixed thread count
per model (CNN 1 thread, ViT 2 threads; the count is part of the recipe because it can
change floating-point summation order), so a re-run with the same torch/numpy versions on
the same machine reproduces the same weights.
"""

import argparse
import gzip
import json
import os
import sys
import time
import warnings

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 20240601
MEAN = 0.2860
STD = 0.3530
BATCH = 128
VIT_EPOCHS = 10
VIT_LR = 2e-3
N_CALIB = 256
N_VAL = 1000
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

_T0 = time.time()


def log(msg):
    print("[%7.1fs] %s" % (time.time() - _T0, msg), file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data

def read_idx(path):
    """Read a (gzipped) IDX file into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0:
        raise ValueError("%s: bad IDX magic" % path)
    type_code, ndim = data[2], data[3]
    if type_code != 0x08:  # unsigned byte
        raise ValueError("%s: unsupported IDX element type 0x%02x" % (path, type_code))
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) != offset + count:
        raise ValueError("%s: size mismatch" % path)
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def preprocess(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], (x/255 - MEAN)/STD."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(x[:, None, :, :], dtype=np.float32)


def load_split(prefix):
    images = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % prefix))
    labels = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % prefix))
    assert images.shape[0] == labels.shape[0] and images.shape[1:] == (28, 28)
    return preprocess(images), labels.astype(np.int64)


# ----------------------------------------------------------------------------- models

class FashionCNN(nn.Module):
    def __init__(self, c1=32, c2=64, fc=128):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * 7 * 7, fc)
        self.fc2 = nn.Linear(fc, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # [B,c1,14,14]
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # [B,c2,7,7]
        x = torch.flatten(x, 1)                                # [B,c2*49]
        x = F.relu(self.fc1(x))
        return self.fc2(x)


class TokenLinear(nn.Linear):
    """nn.Linear on the token tensor [B,N,C]; exports as MatMul + Add like nn.Linear.

    Debian's torch uses the reference (netlib) BLAS, which makes the MatMul of F.linear
    ~15x slower than oneDNN's convolution. For training, fast=True computes the same
    product as a 1x1 convolution (oneDNN). Before the final evaluation and the export,
    use_exact_linear() switches every TokenLinear back to F.linear, so the reported
    accuracies come from exactly the computation the ONNX graph describes.
    """

    fast = True

    def forward(self, x):
        if not self.fast:
            return F.linear(x, self.weight, self.bias)
        b, n, c = x.shape
        y = F.conv2d(x.transpose(1, 2).reshape(b, c, n, 1),
                     self.weight[:, :, None, None], self.bias)   # [B,out,N,1]
        return y.reshape(b, self.out_features, n).transpose(1, 2)


def use_exact_linear(model):
    for m in model.modules():
        if isinstance(m, TokenLinear):
            m.fast = False


class Attention(nn.Module):
    """Multi-head self-attention written out explicitly (no nn.MultiheadAttention)."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.dim, self.heads, self.tokens = dim, heads, tokens
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.q = TokenLinear(dim, dim)
        self.k = TokenLinear(dim, dim)
        self.v = TokenLinear(dim, dim)
        self.proj = TokenLinear(dim, dim)

    def _split(self, t):
        # [B,N,C] -> [B,H,N,D]; batch is -1 so every Reshape shape is a constant.
        return t.reshape(-1, self.tokens, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        att = torch.matmul(q, k.transpose(-2, -1)) * self.scale  # [B,H,N,N]
        att = torch.softmax(att, dim=-1)
        out = torch.matmul(att, v)                                # [B,H,N,D]
        out = out.transpose(1, 2).reshape(-1, self.tokens, self.dim)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads, tokens, mlp_dim):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = TokenLinear(dim, mlp_dim)
        self.act = nn.GELU()  # exact (erf) GELU
        self.fc2 = TokenLinear(mlp_dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.fc2(self.act(self.fc1(self.ln2(x))))
        return x


class FashionViT(nn.Module):
    def __init__(self, dim=128, heads=4, depth=2, mlp_dim=512, patch=7):
        super().__init__()
        self.dim = dim
        self.grid = 28 // patch
        self.tokens = self.grid * self.grid  # 16
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.tokens, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList(
            [Block(dim, heads, self.tokens, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch_embed(x)                                       # [B,C,4,4]
        x = x.reshape(-1, self.dim, self.tokens).transpose(1, 2)      # [B,16,C]
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        x = x.mean(dim=1)                                             # mean pooling
        return self.head(x)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        pred = model(x[i:i + bs]).argmax(dim=1)
        correct += int((pred == y[i:i + bs]).sum())
    return correct, x.shape[0]


def train(model, name, x, y, x_test, y_test, epochs, lr, weight_decay, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = x.shape[0]
    steps_per_epoch = (n + BATCH - 1) // BATCH
    total = epochs * steps_per_epoch
    warmup = steps_per_epoch // 2
    # linear warm-up for half an epoch, then cosine decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1.0 + np.cos(np.pi * (s - warmup) / max(1, total - warmup))))
    for ep in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        loss_sum, seen = 0.0, 0
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * idx.numel()
            seen += idx.numel()
        c, t = evaluate(model, x_test, y_test)
        log("%s epoch %d/%d  loss %.4f  test acc %.4f  (%.1fs)"
            % (name, ep + 1, epochs, loss_sum / seen, c / t, time.time() - t0))
    model.eval()
    return model


# ----------------------------------------------------------------------------- export

def export(model, path, opset, preserve_bn, required_ops, meta):
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    kwargs = {}
    if preserve_bn:
        # In EVAL mode the exporter folds BatchNorm into the preceding Conv. PRESERVE
        # skips that peephole pass; the module is in eval() so BatchNormalization is
        # exported in inference form (running mean/var as initializers).
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    with warnings.catch_warnings():
        # torch 1.13 warns about constant folding for any PRESERVE export, even when the
        # module is in eval() mode (our case); folding cannot touch the BN parameters
        # here because every BatchNormalization has a non-constant data input.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(
            model, dummy, path,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=opset, do_constant_folding=True, export_params=True,
            **kwargs)
    m = onnx.load(path)
    m.doc_string = meta["doc"]
    for k, v in meta["props"].items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    m = onnx.load(path)
    onnx.checker.check_model(path)

    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    missing = [o for o in required_ops if not any(o_alt in ops for o_alt in o.split("|"))]
    if missing:
        raise RuntimeError("%s: missing op types %s (have %s)" % (path, missing, ops))
    inits = {i.name for i in m.graph.initializer}
    graph_inputs = [i.name for i in m.graph.input if i.name not in inits]
    if graph_inputs != ["input"] or [o.name for o in m.graph.output] != ["logits"]:
        raise RuntimeError("%s: unexpected graph inputs/outputs" % path)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    if [d.dim_param or d.dim_value for d in dims] != ["batch", 1, 28, 28]:
        raise RuntimeError("%s: unexpected input shape %s" % (path, dims))
    odims = m.graph.output[0].type.tensor_type.shape.dim
    if [d.dim_param or d.dim_value for d in odims] != ["batch", 10]:
        raise RuntimeError("%s: unexpected output shape %s" % (path, odims))
    n_init = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
    log("exported %s  (opset %d, %d nodes, %d initializers / %d values, %d bytes)"
        % (path, opset, len(m.graph.node), len(m.graph.initializer), n_init,
           os.path.getsize(path)))
    log("  op types: " + ", ".join("%s=%d" % kv for kv in sorted(ops.items())))
    return ops


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
    log("wrote %s  %s %s" % (path, arr.dtype, list(arr.shape)))


# ----------------------------------------------------------------------------- README

README = """\
# pq sample models and data

Generated by `tools/train_sample_models.py` (do not edit by hand; re-run the script).
This file covers the two image models. The sample decoder LLM in `tiny_llm/` (a
Llama-architecture decoder trained on Debian's fortunes by `tools/train_tiny_llm.py`, in
Hugging Face optimum's and onnxruntime-genai's ONNX layouts) has its own
`tiny_llm/README.md`.

Both models are trained on Fashion-MNIST (Debian package `dataset-fashion-mnist`,
`/usr/share/datasets/fashion-mnist`) with torch {torch_version} on CPU.

Regenerate (from the repository root):

    /usr/bin/python3 tools/train_sample_models.py --out models             # everything
    /usr/bin/python3 tools/train_sample_models.py --out models --only vit  # ViT only

`--only cnn|vit` retrains one model and leaves the other model's file and the `.npy`
data files untouched (their figures are read back from `model_facts.json`).
Training wall time when each model was last trained (shared 2-core machine): CNN
{cnn_time} ({cnn_threads} thread), ViT {vit_time} ({vit_threads} threads).

Requires Debian's `python3-torch`, `python3-numpy`, `python3-onnx`. All randomness is
seeded (seed {seed}), torch uses `torch.use_deterministic_algorithms(True)` and a fixed
thread count per model (part of the recipe: it can change the summation order), so a
re-run with the same torch/numpy versions reproduces the same weights and accuracies;
other versions or CPUs may differ slightly. Debian's torch uses the reference BLAS, so
the ViT's token Linears are trained as 1x1 convolutions (oneDNN, ~15x faster) and
switched back to MatMul for the final evaluation and the export.

## Input / output (both models)

* input `input`: float32 `[batch, 1, 28, 28]` (NCHW, first axis dynamic, named `batch`)
* output `logits`: float32 `[batch, 10]` (unnormalised class scores; argmax = class)
* weights are graph initializers; exported with `do_constant_folding=True`,
  `onnx.checker.check_model` passes.

Preprocessing (used for training, evaluation and every `.npy` file below):

    x = (pixel_uint8 / 255.0 - {mean}) / {std}      # float32

Class names, index 0..9:
{classes}

## fashion_cnn.onnx

Small CNN, ONNX opset 13, {cnn_params} trainable parameters.

    Conv(1->{c1}, 3x3, pad 1) -> BatchNormalization -> Relu -> MaxPool(2x2)
    Conv({c1}->{c2}, 3x3, pad 1) -> BatchNormalization -> Relu -> MaxPool(2x2)
    Flatten -> Gemm({flat}->{fc}) -> Relu -> Gemm({fc}->10)

BatchNormalization is deliberately *not* folded into the Conv weights (exported with
`training=TrainingMode.PRESERVE` while the module is in `eval()`), so the graph contains
explicit inference-mode BatchNormalization nodes.
Training: {cnn_epochs} epochs, batch {batch}, AdamW lr {cnn_lr}, weight decay {cnn_wd},
half-epoch warm-up + cosine decay.

Node op types: {cnn_ops}

FP32 accuracy (torch): **{cnn_acc10k:.2%}** on the full 10k test set,
**{cnn_acc1k:.2%}** on the 1000-image validation subset (`val_images.npy`).

## fashion_vit.onnx

Small vision transformer, ONNX opset 17, {vit_params} trainable parameters
(`dim` {dim}, {heads} heads, depth {depth}, MLP {mlp}, patch 7).

    patch embedding: Conv(1->{dim}, kernel 7, stride 7) -> 4x4 = 16 patch tokens
    Reshape/Transpose to [batch, 16, {dim}] + learned position embedding (Add)
    {depth} x pre-LN transformer block:
        x = x + Proj(MHSA(LayerNorm(x)))        # {heads} heads, head dim {head_dim}
        x = x + Linear({mlp}->{dim})(GELU(Linear({dim}->{mlp})(LayerNorm(x))))
    final LayerNorm -> mean over tokens (ReduceMean) -> Linear({dim}->10)

MHSA is written out by hand: separate q/k/v Linear (MatMul+Add), Reshape to
[batch, 16, heads, head_dim], Transpose, MatMul(q, k^T), Mul by 1/sqrt(head_dim),
Softmax, MatMul with v, Transpose, Reshape, output Linear. All Reshape shapes are
constants (batch given as -1). LayerNorm exports as LayerNormalization (opset 17);
GELU is exact (`nn.GELU()`), exported as Div/Erf/Add/Mul/Mul.
Training: {vit_epochs} epochs, batch {batch}, AdamW lr {vit_lr}, weight decay {vit_wd},
half-epoch warm-up + cosine decay.

Node op types: {vit_ops}

FP32 accuracy (torch): **{vit_acc10k:.2%}** on the full 10k test set,
**{vit_acc1k:.2%}** on the 1000-image validation subset (`val_images.npy`).

## Graph details worth knowing (both files as exported by torch {torch_version})

* `fashion_cnn.onnx` has IR version 7, `fashion_vit.onnx` IR version 8; default ONNX
  domain only. Node and tensor names are torch's (`/conv1/Conv_output_0`, ...).
* `params` counts trainable parameters only; the CNN additionally stores the
  BatchNormalization running mean/var ({bn_stats} values) as initializers. The
  BatchNormalization nodes (opset 13) have one output and carry `epsilon` and
  `momentum` attributes.
* A Linear on a 2-D tensor is a `Gemm` (`transB=1`, weight `[out, in]`). A Linear on
  the 3-D token tensor `[batch, 16, {dim}]` is `MatMul` with a pre-transposed weight
  initializer `[in, out]` (named `onnx::MatMul_NNN`) followed by an `Add` whose *first*
  input is the bias initializer and second the MatMul output.
* Reshape target shapes and scalar constants (attention scale {scale:.6g}, GELU's sqrt(2),
  1.0, 0.5) are `Constant` nodes, not initializers. No Shape/Gather/Concat/Expand ops.
* Both models carry `metadata_props` `preprocessing`, `classes`,
  `fp32_test_accuracy_10k` and a `doc_string`.

## Data files

Saved with `numpy.save` (`.npy` format 1.0, little-endian, C order, no pickle).

| file | dtype | shape | content |
|---|---|---|---|
| `calib_images.npy` | float32 | [256, 1, 28, 28] | calibration set: 256 distinct training images chosen with `numpy.random.default_rng({seed}).choice(60000, 256, replace=False)` (in that order), preprocessed as above |
| `val_images.npy` | float32 | [1000, 1, 28, 28] | the first 1000 images of the t10k test set, preprocessed as above |
| `val_labels.npy` | int64 | [1000] | their labels (0..9) |

## model_facts.json

Per model (`fashion_cnn`, `fashion_vit`): `file`, `opset`, `params` (trainable
parameters), `test_accuracy_10k` and `val_accuracy_1000` (FP32 torch accuracy as a
fraction in [0, 1]), `threads` (torch threads used for training) and `train_seconds`
(wall time of training, machine-dependent). Intended for tests that compare quantized
accuracy against FP32.
"""


def fmt_ops(ops):
    return ", ".join("%s=%d" % kv for kv in sorted(ops.items()))


# ----------------------------------------------------------------------------- main

def count_ops(path):
    ops = {}
    for node in onnx.load(path).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops


def main():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(repo_root, "models"),
                    help="output directory (default: <repo>/models)")
    ap.add_argument("--only", choices=["cnn", "vit"],
                    help="retrain and export only this model; the other model's files and "
                         "the .npy data files are left untouched and its figures are read "
                         "from <out>/model_facts.json")
    ap.add_argument("--readme-only", action="store_true",
                    help="train nothing: rewrite README.md from <out>/model_facts.json and "
                         "the existing .onnx files")
    ap.add_argument("--cnn-epochs", type=int, default=3)
    ap.add_argument("--vit-epochs", type=int, default=VIT_EPOCHS)
    ap.add_argument("--train-limit", type=int, default=0,
                    help="use only the first N training images (debugging only)")
    args = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    os.makedirs(args.out, exist_ok=True)
    log("torch %s, numpy %s, onnx %s, out=%s, only=%s"
        % (torch.__version__, np.__version__, onnx.__version__, args.out, args.only or "all"))

    facts_path = os.path.join(args.out, "model_facts.json")
    old_facts = {}
    if args.only or args.readme_only:
        with open(facts_path) as f:
            old_facts = json.load(f)

    def keep(key):
        return args.readme_only or (args.only is not None and args.only != key)

    x_train = np.zeros((0, 1, 28, 28), np.float32)
    y_train = np.zeros((0,), np.int64)
    x_test, y_test = x_train, y_train
    if not args.readme_only:
        x_train, y_train = load_split("train")
        x_test, y_test = load_split("t10k")
        log("loaded train %s, test %s" % (x_train.shape, x_test.shape))

    # ---- data files (only when everything is regenerated)
    if not args.only and not args.readme_only:
        calib_idx = np.random.default_rng(SEED).choice(x_train.shape[0], N_CALIB,
                                                       replace=False)
        save_npy(os.path.join(args.out, "calib_images.npy"), x_train[calib_idx])
        save_npy(os.path.join(args.out, "val_images.npy"), x_test[:N_VAL])
        save_npy(os.path.join(args.out, "val_labels.npy"), y_test[:N_VAL])

    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    if args.train_limit:
        xt, yt = xt[:args.train_limit], yt[:args.train_limit]
    xe, ye = torch.from_numpy(x_test), torch.from_numpy(y_test)

    # threads is part of each model's recipe (it can change float summation order)
    cfg = {
        "cnn": dict(epochs=args.cnn_epochs, lr=2e-3, weight_decay=1e-4, threads=1),
        "vit": dict(epochs=args.vit_epochs, lr=VIT_LR, weight_decay=0.05, threads=2),
    }
    cnn_arch = dict(c1=32, c2=64, fc=128)
    vit_arch = dict(dim=128, heads=4, depth=2, mlp_dim=512, patch=7)

    facts, ops, params, accs = {}, {}, {}, {}
    specs = [
        ("fashion_cnn", "cnn", FashionCNN, cnn_arch, 13, True,
         ["Conv", "BatchNormalization", "Relu", "MaxPool", "Gemm|MatMul"],
         "Fashion-MNIST small CNN (pq sample model)"),
        ("fashion_vit", "vit", FashionViT, vit_arch, 17, False,
         ["Conv", "MatMul", "Softmax", "LayerNormalization", "Erf", "Add", "Transpose",
          "Reshape"],
         "Fashion-MNIST small vision transformer (pq sample model)"),
    ]
    for i, (name, key, cls, kw, opset, preserve_bn, req, doc) in enumerate(specs):
        path = os.path.join(args.out, name + ".onnx")
        if keep(key):
            # keep this model as it is; take its figures from the existing files
            f_ = old_facts[name]
            facts[name] = f_
            params[key] = f_["params"]
            accs[key] = (f_["test_accuracy_10k"], f_["val_accuracy_1000"])
            ops[key] = count_ops(path)
            log("%s: kept as is (%s)" % (name, path))
            continue
        torch.set_num_threads(cfg[key]["threads"])
        torch.manual_seed(SEED + i)
        model = cls(**kw)
        params[key] = count_params(model)
        log("%s: %d trainable parameters, %d thread(s)"
            % (name, params[key], cfg[key]["threads"]))
        t_train = time.time()
        train(model, name, xt, yt, xe, ye, seed=SEED + 100 + i,
              epochs=cfg[key]["epochs"], lr=cfg[key]["lr"],
              weight_decay=cfg[key]["weight_decay"])
        train_seconds = time.time() - t_train
        use_exact_linear(model)
        c10k, t10k = evaluate(model, xe, ye)
        c1k, t1k = evaluate(model, xe[:N_VAL], ye[:N_VAL])
        accs[key] = (c10k / t10k, c1k / t1k)
        log("%s FP32 accuracy: test(10k) %.4f (%d/%d)  val(1000) %.4f (%d/%d)"
            % (name, c10k / t10k, c10k, t10k, c1k / t1k, c1k, t1k))
        meta = {"doc": doc, "props": {
            "preprocessing": "x = (pixel_uint8 / 255.0 - %s) / %s, NCHW float32" % (MEAN, STD),
            "classes": ",".join(CLASSES),
            "fp32_test_accuracy_10k": "%.4f" % accs[key][0],
        }}
        ops[key] = export(model, path, opset, preserve_bn, req, meta)
        facts[name] = {
            "file": name + ".onnx",
            "opset": opset,
            "params": params[key],
            "test_accuracy_10k": round(accs[key][0], 6),
            "val_accuracy_1000": round(accs[key][1], 6),
            "threads": cfg[key]["threads"],
            "train_seconds": round(train_seconds),
        }

    if not args.readme_only:
        with open(facts_path, "w") as f:
            json.dump(facts, f, indent=2)
            f.write("\n")
        log("wrote model_facts.json")

    def train_time(name):
        if "train_seconds" not in facts[name]:
            return "not recorded"
        return "~%.0f min" % max(1.0, facts[name]["train_seconds"] / 60.0)

    readme = README.format(
        torch_version=torch.__version__.split("+")[0], seed=SEED,
        cnn_time=train_time("fashion_cnn"), vit_time=train_time("fashion_vit"),
        cnn_threads=facts["fashion_cnn"].get("threads", cfg["cnn"]["threads"]),
        vit_threads=facts["fashion_vit"].get("threads", cfg["vit"]["threads"]),
        mean=MEAN, std=STD, batch=BATCH,
        classes="\n".join("* %d: %s" % (i, c) for i, c in enumerate(CLASSES)),
        cnn_params=params["cnn"], vit_params=params["vit"],
        cnn_epochs=cfg["cnn"]["epochs"], cnn_lr=cfg["cnn"]["lr"],
        cnn_wd=cfg["cnn"]["weight_decay"],
        vit_epochs=cfg["vit"]["epochs"], vit_lr=cfg["vit"]["lr"],
        vit_wd=cfg["vit"]["weight_decay"],
        c1=cnn_arch["c1"], c2=cnn_arch["c2"], fc=cnn_arch["fc"], flat=cnn_arch["c2"] * 49,
        bn_stats=2 * (cnn_arch["c1"] + cnn_arch["c2"]),
        dim=vit_arch["dim"], heads=vit_arch["heads"], depth=vit_arch["depth"],
        mlp=vit_arch["mlp_dim"], head_dim=vit_arch["dim"] // vit_arch["heads"],
        scale=(vit_arch["dim"] // vit_arch["heads"]) ** -0.5,
        cnn_ops=fmt_ops(ops["cnn"]), vit_ops=fmt_ops(ops["vit"]),
        cnn_acc10k=accs["cnn"][0], cnn_acc1k=accs["cnn"][1],
        vit_acc10k=accs["vit"][0], vit_acc1k=accs["vit"][1])
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(readme)
    log("wrote README.md")

    print("\nFINAL FP32 ACCURACY", file=sys.stderr)
    for name, f_ in facts.items():
        print("  %-12s params %7d  test(10k) %.4f  val(1000) %.4f"
              % (name, f_["params"], f_["test_accuracy_10k"], f_["val_accuracy_1000"]),
              file=sys.stderr)
    log("done")


if __name__ == "__main__":
    main()
