#!/usr/bin/python3
"""A wider sibling of the sample LLM (models/tiny_llm) whose every matrix row is a
multiple of 256 values, so that GGUF's 256-value super-block types (q4_k) apply to every
tensor instead of falling back (the sample's rows are 128 and 352 wide).

Usage: make_wide_llm.py OUT_DIR [--seed N]

Writes OUT_DIR/wide_llm_optimum.onnx (optimum layout, exported by
tools/train_tiny_llm.py's export_optimum) and OUT_DIR/config.json (the sample's config
with the new widths). It shares the sample's tokenizer and token files.

Training a model in a test is too slow, so this one is derived from the trained sample
in three seeded steps that take a few seconds:
  1. widening that keeps the function: hidden 128 -> 256 by repeating the residual
     stream ([x, x] has the same RMS, so the norms, weights [w, w], give [n, n]);
     4 -> 8 query heads and 2 -> 4 key/value heads by repeating heads (query head h + 4
     is a copy of head h and reads kv head h // 2 + 2, a copy of kv head h // 2); the
     MLP 352 -> 704 by repeating units; every matrix that reads the repeated stream is
     stacked twice and halved, so x' W' = x W;
  2. 64 more MLP units (704 -> 768) with weights drawn like the sample's gate, up and
     down weights (same standard deviations);
  3. Gaussian noise on every weight, kNoise times that tensor's standard deviation, so
     that no two rows are exact copies and quantization sees distinct values.
The result predicts the held-out text about as well as the sample does (its
distributions are the sample's, slightly perturbed: far from uniform), which is what a
quantization comparison needs. Its figures are not a trained model's.
"""

import argparse
import copy
import json
import os
import sys

sys.dont_write_bytecode = True
kTools = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, kTools)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

from tiny_llm_model import TinyLlm, load_from_onnx  # noqa: E402
from train_tiny_llm import export_optimum  # noqa: E402

kSample = os.path.join(os.path.dirname(kTools), "models", "tiny_llm")
kSeed = 20250118
kNoise = 0.05
kInner = 768


def twice_rows(w):
    """[in, out] -> [2 in, out]: reads [x, x] as w read x."""
    return np.concatenate([w, w], axis=0) / 2


def twice_cols(w):
    """[in, out] -> [in, 2 out]: writes [y, y]."""
    return np.concatenate([w, w], axis=1)


def widen(state, cfg, rng):
    """The sample's parameters (name -> [in, out] numpy) widened per the module doc."""
    out = {}
    for name, w in state.items():
        if name == "model.embed_tokens.weight" or name.endswith("norm.weight"):
            out[name] = np.concatenate([w, w], axis=-1)
        elif name == "lm_head.weight":
            out[name] = twice_rows(w)
        elif name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight")):
            out[name] = twice_cols(twice_rows(w))
        elif name.endswith(("gate_proj.weight", "up_proj.weight")):
            wide = twice_cols(twice_rows(w))
            extra = rng.normal(0.0, w.std(), size=(wide.shape[0], kInner - wide.shape[1]))
            out[name] = np.concatenate([wide, extra], axis=1)
        elif name.endswith("down_proj.weight"):
            wide = twice_cols(twice_rows(w))
            extra = rng.normal(0.0, w.std(), size=(kInner - wide.shape[0], wide.shape[1]))
            out[name] = np.concatenate([wide, extra], axis=0)
        else:
            raise KeyError("no widening rule for %s" % name)
    for name, w in out.items():
        if not name.endswith("norm.weight"):
            out[name] = w + rng.normal(0.0, kNoise * w.std(), size=w.shape)
    return {name: w.astype(np.float32) for name, w in out.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=kSeed)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    with open(os.path.join(kSample, "config.json")) as f:
        cfg = json.load(f)
    sample = load_from_onnx(onnx.load(os.path.join(kSample, cfg["pq"]["files"]["optimum"])), cfg)
    state = {name: p.detach().numpy() for name, p in sample.named_parameters()}

    wide_cfg = copy.deepcopy(cfg)
    wide_cfg.update(hidden_size=256, intermediate_size=kInner, num_attention_heads=8, num_key_value_heads=4)
    params = widen(state, cfg, np.random.default_rng(args.seed))
    wide_cfg["pq"] = {
        "derived_from": "models/tiny_llm by tools/make_wide_llm.py (not trained)",
        "seed": args.seed,
        "noise": kNoise,
        "tokenizer": os.path.join("models", "tiny_llm", cfg["pq"]["tokenizer"]),
        "files": {"optimum": "wide_llm_optimum.onnx"},
        "parameters": int(sum(w.size for w in params.values())),
    }
    model = TinyLlm(wide_cfg)
    model.load_state_dict({name: torch.from_numpy(w) for name, w in params.items()})
    model.eval()
    meta = {"doc": "pq test model: the sample LLM widened to hidden 256 / MLP 768 with seeded noise "
                   "(tools/make_wide_llm.py), layout of Hugging Face optimum decoder exports.",
            "props": {"tokenizer": "tokenizer.model"}}
    export_optimum(model, os.path.join(args.out_dir, "wide_llm_optimum.onnx"), meta)
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(wide_cfg, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
