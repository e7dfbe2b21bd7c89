#!/usr/bin/python3
"""Train the pq sample LLM (models/tiny_llm) and export it in Hugging Face optimum's layout.

A Llama-architecture decoder (RMSNorm, rotary embeddings, SwiGLU MLP, grouped-query
attention, untied lm_head; see tools/tiny_llm_model.py) trained on the fortunes of
Debian's `fortunes` and `fortunes-min` packages (/usr/share/games/fortunes), with a
SentencePiece BPE tokenizer trained by Debian's `spm_train` (package `sentencepiece`).

Produces, in the output directory (default: <repo>/models/tiny_llm):

  tokenizer.model           SentencePiece model (BPE, byte fallback, 1536 pieces)
  tiny_llm_optimum.onnx     float32, layout of optimum's decoder exports (opset 17)
  heldout_tokens.npy        int64 [32, 64] held-out windows (fortunes never trained on)
  calib_tokens.npy          int64 [32, 64] windows of training text (for calibration)
  config.json               hyper-parameters, training record, torch held-out perplexity

Then run tools/make_tiny_llm_genai.py (layout of onnxruntime-genai's model builder) and
tools/check_tiny_llm.py (ONNX Runtime against torch); see models/tiny_llm/README.md.

Takes 13.5 minutes on the shared 2-core machine with one torch thread (training 796 s
of it; 15.0 minutes when the other core's load spilled over; config.json's
pq.training.train_seconds records the committed run's figure). Must be
run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-numpy,
python3-onnx, python3-sentencepiece):

  /usr/bin/python3 tools/train_tiny_llm.py                 # everything
  /usr/bin/python3 tools/train_tiny_llm.py --steps 20      # smoke test (poor model)

Everything is seeded: the held-out split is a fixed rule on the fortune index, spm_train
runs with one thread and a fixed seed on unshuffled input, batches are drawn from a seeded
numpy generator, torch uses deterministic algorithms and a fixed thread count (part of
the recipe: it can change float summation order). A re-run with the same package
versions on the same machine reproduces the same tokenizer, weights and figures (two
full runs wrote byte-identical files; only train_seconds in config.json differs).
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tiny_llm_model import TinyLlm, mean_nll  # noqa: E402

FORTUNE_DIR = "/usr/share/games/fortunes"
SKIPPED_FILES = {"ascii-art"}  # drawings, not text
SEED = 20240611
HELDOUT_EVERY = 20   # fortune k (in sorted file order) is held out when k % 20 == HELDOUT_PHASE
HELDOUT_PHASE = 7
OPSET = 17

MODEL = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 1536,
    "hidden_size": 128,
    "intermediate_size": 352,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "hidden_act": "silu",
    "max_position_embeddings": 128,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
    "unk_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 3,
    "torch_dtype": "float32",
}

TRAIN = {
    "threads": 1,
    "batch_size": 16,
    "context": 128,
    "steps": 1200,
    "lr": 3e-3,
    "min_lr_fraction": 0.1,
    "warmup_steps": 100,
    "weight_decay": 0.1,
    "betas": [0.9, 0.95],
    "grad_clip": 1.0,
}

EVAL_ROWS = 32
EVAL_LEN = 64

_T0 = time.time()


def log(msg):
    print("[%7.1fs] %s" % (time.time() - _T0, msg), file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- corpus

def read_fortunes():
    """Every fortune of every plain-text file (sorted by name), cleaned: overstrike
    sequences ("_\\bX", "X\\bX") reduced to the struck character, tabs expanded, trailing
    spaces and blank edge lines removed, other control characters dropped."""
    fortunes = []
    for name in sorted(os.listdir(FORTUNE_DIR)):
        path = os.path.join(FORTUNE_DIR, name)
        if "." in name or name in SKIPPED_FILES or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        text = re.sub(r".\x08", "", text).expandtabs(8)
        text = re.sub(r"[\x00-\x09\x0b-\x1f\x7f]", "", text)
        for chunk in re.split(r"^%\n", text, flags=re.M):
            lines = [line.rstrip() for line in chunk.split("\n")]
            body = "\n".join(lines).strip("\n")
            if body.strip():
                fortunes.append(body)
    return fortunes


def split_fortunes(fortunes):
    train = [f for k, f in enumerate(fortunes) if k % HELDOUT_EVERY != HELDOUT_PHASE]
    heldout = [f for k, f in enumerate(fortunes) if k % HELDOUT_EVERY == HELDOUT_PHASE]
    return train, heldout


def train_tokenizer(train_fortunes, out_path, vocab_size, work_dir):
    """Runs spm_train on the training fortunes, one line per sentence; writes out_path.
    Runs in work_dir with relative file names: the model records its trainer's input
    and prefix, which must not carry a temporary directory's name."""
    with open(os.path.join(work_dir, "fortunes_train.txt"), "w", encoding="utf-8") as f:
        for fortune in train_fortunes:
            for line in fortune.split("\n"):
                if line.strip():
                    f.write(line + "\n")
    cmd = [
        "spm_train",
        "--input=fortunes_train.txt",
        "--model_prefix=tokenizer",
        "--model_type=bpe",
        "--vocab_size=%d" % vocab_size,
        "--character_coverage=0.9999",
        "--byte_fallback=true",
        "--normalization_rule_name=identity",
        "--remove_extra_whitespaces=false",
        "--add_dummy_prefix=true",
        "--split_digits=true",
        "--allow_whitespace_only_pieces=true",
        "--unk_id=%d" % MODEL["unk_token_id"],
        "--bos_id=%d" % MODEL["bos_token_id"],
        "--eos_id=%d" % MODEL["eos_token_id"],
        "--pad_id=%d" % MODEL["pad_token_id"],
        "--input_sentence_size=0",
        "--shuffle_input_sentence=false",
        "--num_threads=1",
        "--random_seed=%d" % SEED,
        "--minloglevel=2",
    ]
    subprocess.run(cmd, check=True, cwd=work_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(os.path.join(work_dir, "tokenizer.model"), "rb") as src, open(out_path, "wb") as dst:
        dst.write(src.read())


def encode_stream(sp, fortunes):
    """One int64 stream: BOS, pieces of the fortune (newline = byte piece <0x0A>), EOS, ..."""
    ids = []
    for fortune in fortunes:
        pieces = sp.encode(fortune)
        if sp.decode(pieces) != fortune:
            raise RuntimeError("tokenizer does not round-trip fortune %r" % fortune[:60])
        ids.append(MODEL["bos_token_id"])
        ids.extend(pieces)
        ids.append(MODEL["eos_token_id"])
    return np.array(ids, dtype=np.int64)


def bos_windows(stream, rows, length):
    """rows windows of `length` tokens, each starting at the first BOS at or after an
    evenly spaced offset, so every row is the start of a fortune."""
    bos = np.flatnonzero(stream == MODEL["bos_token_id"])
    out = []
    for i in range(rows):
        offset = i * (len(stream) - 2 * length) // rows
        start = int(bos[np.searchsorted(bos, offset)])
        out.append(stream[start:start + length])
    return np.stack(out).astype(np.int64)


# ----------------------------------------------------------------------------- training

def lr_at(step, cfg):
    if step < cfg["warmup_steps"]:
        return cfg["lr"] * (step + 1) / cfg["warmup_steps"]
    frac = (step - cfg["warmup_steps"]) / max(1, cfg["steps"] - cfg["warmup_steps"])
    floor = cfg["min_lr_fraction"]
    return cfg["lr"] * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def stream_nll(model, stream, length):
    """Mean NLL over a token stream cut into non-overlapping windows of `length`
    (a progress figure: runs with the projections as they are, fast or exact)."""
    n = (len(stream) // length) * length
    windows = torch.from_numpy(stream[:n].reshape(-1, length))
    total, count = 0.0, 0
    for i in range(0, windows.shape[0], 32):
        rows = windows[i:i + 32]
        total += mean_nll(model.prefill_logits(rows), rows) * rows.shape[0] * (length - 1)
        count += rows.shape[0] * (length - 1)
    return total / count


def train(model, stream, heldout_stream, cfg):
    rng = np.random.default_rng(SEED)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg["lr"], betas=tuple(cfg["betas"]))
    b, t = cfg["batch_size"], cfg["context"]
    mask = torch.ones(b, t, dtype=torch.int64)
    pos = torch.arange(t, dtype=torch.int64)[None, :].expand(b, t)
    past = model.empty_past(b)
    model.set_fast_projections(True)
    model.train()
    t0, loss_sum = time.time(), 0.0
    for step in range(cfg["steps"]):
        starts = rng.integers(0, len(stream) - t, size=b)
        batch = torch.from_numpy(np.stack([stream[s:s + t] for s in starts]))
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        logits = model(batch, mask, pos, *past)[0]
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        loss_sum += float(loss)
        if (step + 1) % 100 == 0 or step + 1 == cfg["steps"]:
            msg = "step %d/%d  train loss %.4f  lr %.2e  (%.0f tok/s)" % (
                step + 1, cfg["steps"], loss_sum / ((step % 100) + 1), lr_at(step, cfg),
                (step + 1) * b * t / (time.time() - t0))
            if (step + 1) % 400 == 0 or step + 1 == cfg["steps"]:
                model.eval()
                msg += "  held-out nll %.4f" % stream_nll(model, heldout_stream[:8192], t)
                model.train()
            log(msg)
            loss_sum = 0.0
    model.set_fast_projections(False)
    model.eval()
    return time.time() - t0


@torch.no_grad()
def sample_text(model, sp, prompt, tokens):
    """Greedy continuation of prompt (BOS + pieces), for the log and the README."""
    ids = [MODEL["bos_token_id"]] + sp.encode(prompt)
    for _ in range(tokens):
        logits = model.prefill_logits(torch.tensor([ids]))
        nxt = int(logits[0, -1].argmax())
        if nxt == MODEL["eos_token_id"]:
            break
        ids.append(nxt)
    return sp.decode(ids[1:])


# ----------------------------------------------------------------------------- export

def export_optimum(model, path, meta):
    n = model.cfg["num_hidden_layers"]
    kv_shape = (2, model.cfg["num_key_value_heads"], 4, model.cfg["head_dim"])
    args = (torch.ones(2, 3, dtype=torch.int64), torch.ones(2, 7, dtype=torch.int64),
            torch.arange(4, 7, dtype=torch.int64)[None, :].expand(2, 3).contiguous())
    args += tuple(torch.zeros(kv_shape) for _ in range(2 * n))
    past_names = ["past_key_values.%d.%s" % (i, kv) for i in range(n) for kv in ("key", "value")]
    present_names = ["present.%d.%s" % (i, kv) for i in range(n) for kv in ("key", "value")]
    axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    axes.update({name: {0: "batch_size", 2: "past_sequence_length"} for name in past_names})
    axes.update({name: {0: "batch_size", 2: "total_sequence_length"} for name in present_names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, args, path,
            input_names=["input_ids", "attention_mask", "position_ids"] + past_names,
            output_names=["logits"] + present_names,
            dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    name_cache_tables(m, model)
    m.doc_string = meta["doc"]
    for key, value in meta["props"].items():
        prop = m.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    params = dict(model.named_parameters())
    inits = {i.name for i in m.graph.initializer}
    missing = sorted(set(params) - inits)
    if missing:
        raise RuntimeError("%s: parameters not exported under their names: %s" % (path, missing))
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    log("exported %s (%d nodes, %d initializers, %d bytes)"
        % (path, len(m.graph.node), len(m.graph.initializer), os.path.getsize(path)))
    log("  op types: " + ", ".join("%s=%d" % kv for kv in sorted(ops.items())))
    return ops


def name_cache_tables(m, model):
    """Turns the rotary cos/sin tables, which torch writes as Constant nodes, into
    initializers named model.rotary_emb.cos_cached / sin_cached (one table each, shared
    by every layer), so reports and the genai conversion can find them by name."""
    tables = {"model.rotary_emb.cos_cached": model.model.cos_cached.numpy(),
              "model.rotary_emb.sin_cached": model.model.sin_cached.numpy()}
    renames, keep = {}, []
    for node in m.graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            value = numpy_helper.to_array(node.attribute[0].t)
            found = [n for n, t in tables.items() if value.shape == t.shape and np.array_equal(value, t)]
            if found:
                renames[node.output[0]] = found[0]
                continue
        keep.append(node)
    if sorted(set(renames.values())) != sorted(tables):
        raise RuntimeError("rotary tables not found as Constant nodes (found %s)" % sorted(renames.values()))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    for node in m.graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
    for name, table in tables.items():
        m.graph.initializer.append(numpy_helper.from_array(table, name))


# ----------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "models", "tiny_llm")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--steps", type=int, default=TRAIN["steps"])
    args = parser.parse_args()
    cfg_train = dict(TRAIN, steps=args.steps)
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(cfg_train["threads"])

    fortunes = read_fortunes()
    train_f, heldout_f = split_fortunes(fortunes)
    log("%d fortunes: %d for training, %d held out (k %% %d == %d)"
        % (len(fortunes), len(train_f), len(heldout_f), HELDOUT_EVERY, HELDOUT_PHASE))

    tok_path = os.path.join(args.out, "tokenizer.model")
    with tempfile.TemporaryDirectory() as work:
        train_tokenizer(train_f, tok_path, MODEL["vocab_size"], work)
    sp = spm.SentencePieceProcessor(model_file=tok_path)
    if sp.get_piece_size() != MODEL["vocab_size"]:
        raise RuntimeError("tokenizer has %d pieces" % sp.get_piece_size())
    stream = encode_stream(sp, train_f)
    heldout_stream = encode_stream(sp, heldout_f)
    chars = sum(len(f) for f in train_f)
    log("tokenizer: %d pieces; training stream %d tokens (%.2f chars/token), held-out %d"
        % (sp.get_piece_size(), len(stream), chars / len(stream), len(heldout_stream)))

    heldout = bos_windows(heldout_stream, EVAL_ROWS, EVAL_LEN)
    calib = bos_windows(stream, EVAL_ROWS, EVAL_LEN)

    model = TinyLlm(MODEL)
    model.init_weights()
    params = sum(p.numel() for p in model.parameters())
    log("model: %d parameters; training %d steps x %d x %d tokens, %d threads"
        % (params, cfg_train["steps"], cfg_train["batch_size"], cfg_train["context"],
           cfg_train["threads"]))
    train_seconds = train(model, stream, heldout_stream, cfg_train)
    log("training took %.1f s" % train_seconds)

    with torch.no_grad():
        logits = model.prefill_logits(torch.from_numpy(heldout))
        nll = mean_nll(logits, heldout)
        model.set_fast_projections(True)
        full_nll = stream_nll(model, heldout_stream, cfg_train["context"])
        model.set_fast_projections(False)
    ppl = math.exp(nll)
    log("held-out perplexity (heldout_tokens.npy, %dx%d): %.9f  (mean nll %.9f)"
        % (EVAL_ROWS, EVAL_LEN, ppl, nll))
    log("held-out perplexity (all %d held-out tokens, windows of %d): %.4f"
        % (len(heldout_stream), cfg_train["context"], math.exp(full_nll)))
    sample = sample_text(model, sp, "The", 40)
    log("greedy sample: %r" % sample)

    onnx_name = "tiny_llm_optimum.onnx"
    meta = {
        "doc": "pq sample LLM: Llama-architecture decoder trained on Debian fortunes "
               "(tools/train_tiny_llm.py), layout of Hugging Face optimum decoder exports.",
        "props": {"heldout_perplexity_torch": "%.9f" % ppl, "tokenizer": "tokenizer.model"},
    }
    ops = export_optimum(model, os.path.join(args.out, onnx_name), meta)

    np.save(os.path.join(args.out, "heldout_tokens.npy"), heldout, allow_pickle=False)
    np.save(os.path.join(args.out, "calib_tokens.npy"), calib, allow_pickle=False)

    config = dict(MODEL)
    config["pq"] = {
        "tokenizer": "tokenizer.model",
        "files": {
            "optimum": onnx_name,
            "genai": "tiny_llm_genai.onnx",
            "heldout_tokens": "heldout_tokens.npy",
            "calib_tokens": "calib_tokens.npy",
        },
        "matmul_weight_layout": "[in_features, out_features] (ONNX MatMul B; HF Linear.weight transposed)",
        "rotary": "cos/sin tables [max_position_embeddings, head_dim] gathered by position_ids",
        "parameters": params,
        "opset": OPSET,
        "op_types": dict(sorted(ops.items())),
        "heldout": {
            "file": "heldout_tokens.npy",
            "rows": EVAL_ROWS,
            "length": EVAL_LEN,
            "rule": "every %dth fortune (k %% %d == %d, k over sorted files) is held out; "
                    "each row starts at a BOS" % (HELDOUT_EVERY, HELDOUT_EVERY, HELDOUT_PHASE),
            "perplexity_definition": "exp(mean over rows r and t = 0..length-2 of "
                                     "-log softmax(logits[r, t])[tokens[r, t + 1]]), natural log, "
                                     "each row a fresh prefill at positions 0..length-1",
            "mean_nll_torch": float("%.12g" % nll),
            "perplexity_torch": float("%.12g" % ppl),
            "perplexity_all_heldout_tokens_torch": float("%.6g" % math.exp(full_nll)),
        },
        "training": dict(cfg_train, seed=SEED, train_seconds=round(train_seconds, 1),
                         corpus="Debian fortunes + fortunes-min, %s" % FORTUNE_DIR,
                         skipped_files=sorted(SKIPPED_FILES),
                         fortunes_train=len(train_f), fortunes_heldout=len(heldout_f),
                         train_stream_tokens=int(len(stream)),
                         heldout_stream_tokens=int(len(heldout_stream)),
                         torch=torch.__version__, greedy_sample_after_The=sample),
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    log("wrote %s" % os.path.join(args.out, "config.json"))


if __name__ == "__main__":
    main()
