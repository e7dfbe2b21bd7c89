#!/usr/bin/python3
"""Train and export a MobileNetV3-style Fashion-MNIST classifier (issue 16, item 5).

Writes <out>/fashion_mnv3.onnx and <out>/fashion_mnv3.json (default <out>:
models/fashion_mnv3; its facts: accuracy on the 10k test set and on the sample models'
models/val_images.npy, parameters, op counts, training time).

The model is what converters export of MobileNetV3-small-style networks: depthwise
separable inverted-residual blocks with squeeze-and-excite gates, HardSwish and
HardSigmoid written out as Add/Clip/Div/Mul (x * clip(x + 3, 0, 6) / 6, as TF and
Paddle converters emit them, instead of ONNX's HardSwish op), BatchNormalization folded
into the convolutions, exported at opset 11. Input `input` float32 [batch, 1, 28, 28]
with the sample models' preprocessing, output `logits` [batch, 10].

Must run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-onnx) and
reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist); it reuses the
data, training and export code of tools/train_sample_models.py. Seeded, deterministic
algorithms, 1 thread (part of the recipe), so a re-run with the same torch reproduces
the weights:

  /usr/bin/python3 tools/train_mobilenetv3_fashion.py [--out models/fashion_mnv3] [--epochs 6]

Last trained on the shared 2-core development machine (1 thread, with a CI run and four
fuzzers beside it): 2,317 s for 6 epochs; test accuracy 0.9006, validation 0.8990.
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import train_sample_models as tsm  # noqa: E402

SEED = 20261130
LR = 4e-3
WEIGHT_DECAY = 1e-4


def hard_sigmoid(x):
    """clip(x + 3, 0, 6) / 6, exported as Add, Clip, Div."""
    return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


def hard_swish(x):
    """x * clip(x + 3, 0, 6) / 6, exported as Add, Clip, Mul, Div."""
    return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


class ConvBn(nn.Module):
    """Conv (no bias) + BatchNorm + activation ('relu', 'hswish' or None)."""

    def __init__(self, cin, cout, k, stride=1, groups=1, act="relu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act == "relu":
            return F.relu(x)
        if self.act == "hswish":
            return hard_swish(x)
        return x


class SqueezeExcite(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.reduce = nn.Conv2d(c, max(8, c // 4), 1)
        self.expand = nn.Conv2d(max(8, c // 4), c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * hard_sigmoid(self.expand(F.relu(self.reduce(s))))


class InvertedResidual(nn.Module):
    def __init__(self, cin, exp, cout, k, stride, se, act):
        super().__init__()
        self.expand = ConvBn(cin, exp, 1, act=act) if exp != cin else None
        self.depthwise = ConvBn(exp, exp, k, stride, groups=exp, act=act)
        self.se = SqueezeExcite(exp) if se else None
        self.project = ConvBn(exp, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class FashionMobileNetV3(nn.Module):
    # (expansion, out, kernel, stride, squeeze-excite, activation), MobileNetV3-small's
    # pattern on 28x28 inputs (28 -> 14 -> 7 -> 4).
    BLOCKS = [(16, 16, 3, 2, True, "relu"),
              (64, 24, 3, 1, False, "relu"),
              (72, 24, 3, 1, False, "relu"),
              (96, 40, 5, 2, True, "hswish"),
              (120, 40, 5, 1, True, "hswish"),
              (120, 48, 5, 1, True, "hswish")]

    def __init__(self):
        super().__init__()
        self.stem = ConvBn(1, 16, 3, 2, act="hswish")
        blocks, cin = [], 16
        for exp, cout, k, stride, se, act in self.BLOCKS:
            blocks.append(InvertedResidual(cin, exp, cout, k, stride, se, act))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBn(cin, 144, 1, act="hswish")
        self.fc1 = nn.Linear(144, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc2(hard_swish(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    models_dir = os.path.join(os.path.dirname(os.path.abspath(tsm.__file__)), "..", "models")
    parser.add_argument("--out", default=os.path.join(models_dir, "fashion_mnv3"))
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    x_train, y_train = tsm.load_split("train")
    x_test, y_test = tsm.load_split("t10k")
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    model = FashionMobileNetV3()
    t0 = time.time()
    tsm.train(model, "fashion_mnv3", x_train, y_train, x_test, y_test, args.epochs, LR, WEIGHT_DECAY, SEED)
    train_seconds = time.time() - t0
    correct, total = tsm.evaluate(model, x_test, y_test)
    val_x = np.load(os.path.join(models_dir, "val_images.npy"))
    val_y = np.load(os.path.join(models_dir, "val_labels.npy"))
    val_correct, val_total = tsm.evaluate(model, torch.from_numpy(val_x), torch.from_numpy(val_y))
    path = os.path.join(args.out, "fashion_mnv3.onnx")
    meta = {"doc": "MobileNetV3-style Fashion-MNIST classifier (tools/train_mobilenetv3_fashion.py); "
                   "HardSwish/HardSigmoid decomposed into Add/Clip/Div/Mul, BatchNorm folded, opset 11.",
            "props": {"test_accuracy_10k": "%.4f" % (correct / total), "seed": str(SEED)}}
    ops = tsm.export(model, path, 11, False, ["Conv", "Clip", "Div", "GlobalAveragePool|ReduceMean", "Gemm"], meta)
    facts = {"file": "fashion_mnv3.onnx", "opset": 11, "params": tsm.count_params(model),
             "test_accuracy_10k": correct / total, "val_accuracy_1000": val_correct / val_total,
             "epochs": args.epochs, "threads": 1, "train_seconds": round(train_seconds, 1),
             "torch": torch.__version__, "op_types": ops}
    with open(os.path.join(args.out, "fashion_mnv3.json"), "w") as f:
        json.dump(facts, f, indent=2, sort_keys=True)
        f.write("\n")
    tsm.log("test accuracy %.4f, val %.4f, %d parameters, trained in %.0f s"
            % (correct / total, val_correct / val_total, facts["params"], train_seconds))


if __name__ == "__main__":
    main()
