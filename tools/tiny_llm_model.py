"""The tiny Llama-architecture decoder of models/tiny_llm, in torch.

Shared by tools/train_tiny_llm.py (training, export of the optimum layout) and
tools/check_tiny_llm.py (torch reference rebuilt from the exported ONNX file).

Architecture (Hugging Face LlamaForCausalLM semantics, no biases anywhere):
  embed_tokens -> N x [RMSNorm -> GQA self-attention (rotary) -> residual add,
                       RMSNorm -> SwiGLU MLP -> residual add] -> RMSNorm -> lm_head
  * RMSNorm: w * x / sqrt(mean(x^2) + eps)
  * rotary embedding, half-split rotation (HF `rotate_half`), theta `rope_theta`,
    cos/sin tables [max_position_embeddings, head_dim] computed in float64 then
    rounded to float32 and indexed by position_ids
  * grouped-query attention: num_heads query heads share num_kv_heads key/value heads
    (query head h reads kv head h // (num_heads / num_kv_heads)); scores / sqrt(head_dim)
  * SwiGLU MLP: down(silu(gate(x)) * up(x))
  * lm_head is untied from embed_tokens

Parameter names are Hugging Face's (model.layers.0.self_attn.q_proj.weight, ...), but
every projection weight is stored as [in_features, out_features] -- the ONNX MatMul B
operand, i.e. the transpose of HF's Linear.weight -- so the export needs no Transpose.

Requires torch (Debian's python3-torch 1.13) and numpy.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def rope_tables(max_positions, head_dim, theta):
    """Returns (cos, sin) float32 [max_positions, head_dim], HF layout cat(freqs, freqs)."""
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = np.outer(np.arange(max_positions, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


class Projection(nn.Module):
    """y = x @ weight, weight [in, out]. With `fast` set (training only) the product runs
    as a 1x1 convolution over the flattened tokens: Debian's torch has the reference
    BLAS (~5 GFLOP/s) while oneDNN's convolution is ~10x faster; the math is the same."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.fast = False

    def forward(self, x):
        if not self.fast:
            return torch.matmul(x, self.weight)
        n_in, n_out = self.weight.shape
        y = F.conv2d(x.reshape(-1, n_in, 1, 1), self.weight.t()[:, :, None, None])
        return y.reshape(*x.shape[:-1], n_out)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x, half):
    """HF rotate_half for a last axis of 2 * half: cat(-x[half:], x[:half])."""
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.num_heads = cfg["num_attention_heads"]
        self.num_kv_heads = cfg["num_key_value_heads"]
        self.head_dim = cfg["head_dim"]
        hidden = cfg["hidden_size"]
        self.q_proj = Projection(hidden, self.num_heads * self.head_dim)
        self.k_proj = Projection(hidden, self.num_kv_heads * self.head_dim)
        self.v_proj = Projection(hidden, self.num_kv_heads * self.head_dim)
        self.o_proj = Projection(self.num_heads * self.head_dim, hidden)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        """x [B,S,hidden]; cos/sin [B,1,S,head_dim]; bias [B,1,S,P+S] additive mask;
        past_key/value [B,kv_heads,P,head_dim]. Returns (out, present_key, present_value),
        presents [B,kv_heads,P+S,head_dim] holding rotated keys."""
        b, s = x.shape[0], x.shape[1]
        q = self.q_proj(x).view(b, s, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        half = self.head_dim // 2
        q = q * cos + rotate_half(q, half) * sin
        k = k * cos + rotate_half(k, half) * sin
        k = torch.cat((past_key, k), dim=2)
        v = torch.cat((past_value, v), dim=2)
        present_key, present_value = k, v
        rep = self.num_heads // self.num_kv_heads
        if rep > 1:
            t = k.shape[2]
            k = k[:, :, None].expand(b, self.num_kv_heads, rep, t, self.head_dim)
            k = k.reshape(b, self.num_heads, t, self.head_dim)
            v = v[:, :, None].expand(b, self.num_kv_heads, rep, t, self.head_dim)
            v = v.reshape(b, self.num_heads, t, self.head_dim)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + bias, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, self.num_heads * self.head_dim)
        return self.o_proj(out), present_key, present_value


class Mlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hidden, inner = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = Projection(hidden, inner)
        self.up_proj = Projection(hidden, inner)
        self.down_proj = Projection(inner, hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["rms_norm_eps"]
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.mlp = Mlp(cfg)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        attn, present_key, present_value = self.self_attn(
            self.input_layernorm(x), cos, sin, bias, past_key, past_value)
        x = x + attn
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present_key, present_value


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        cos, sin = rope_tables(cfg["max_position_embeddings"], cfg["head_dim"], cfg["rope_theta"])
        self.register_buffer("cos_cached", torch.from_numpy(cos), persistent=False)
        self.register_buffer("sin_cached", torch.from_numpy(sin), persistent=False)


class TinyLlm(nn.Module):
    """forward(input_ids [B,S] int64, attention_mask [B,P+S] int64 (1 = attend),
    position_ids [B,S] int64, past_key_0, past_value_0, past_key_1, ... [B,kv_heads,P,head_dim])
    -> (logits [B,S,vocab], present_key_0, present_value_0, ... [B,kv_heads,P+S,head_dim]).
    The flat signature is that of an optimum decoder export, so torch.onnx.export can
    trace this module directly (node names /model/layers.0/self_attn/...)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        self.model = Decoder(cfg)
        self.lm_head = Projection(cfg["hidden_size"], cfg["vocab_size"])

    def init_weights(self, std=0.02):
        """GPT-2/Llama style init: normal(0, std), residual outputs scaled by 1/sqrt(2N)."""
        depth_scale = 1.0 / math.sqrt(2 * self.cfg["num_hidden_layers"])
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                nn.init.ones_(p)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, 0.0, std * depth_scale)
            else:
                nn.init.normal_(p, 0.0, std)

    def set_fast_projections(self, fast):
        for m in self.modules():
            if isinstance(m, Projection):
                m.fast = fast

    def forward(self, input_ids, attention_mask, position_ids, *past):
        s = input_ids.shape[1]
        p = past[0].shape[2]
        x = self.model.embed_tokens(input_ids)
        cos = self.model.cos_cached[position_ids].unsqueeze(1)  # [B,1,S,head_dim]
        sin = self.model.sin_cached[position_ids].unsqueeze(1)
        # Query i (absolute index p + i) may see key j when j <= p + i and the mask keeps j.
        total = attention_mask.shape[1]
        key_index = torch.arange(total, device=input_ids.device)
        query_index = torch.arange(s, device=input_ids.device) + p
        causal = key_index[None, :] <= query_index[:, None]                 # [S,T]
        keep = causal[None, None, :, :] & (attention_mask[:, None, None, :] != 0)
        bias = torch.where(keep, torch.zeros((), dtype=x.dtype),
                           torch.full((), torch.finfo(x.dtype).min, dtype=x.dtype))
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, present_key, present_value = layer(x, cos, sin, bias, past[2 * i], past[2 * i + 1])
            presents += [present_key, present_value]
        logits = self.lm_head(self.model.norm(x))
        return (logits, *presents)

    def empty_past(self, batch):
        """Flat list of 2 * num_hidden_layers empty caches [batch, kv_heads, 0, head_dim]."""
        shape = (batch, self.cfg["num_key_value_heads"], 0, self.cfg["head_dim"])
        return [torch.zeros(shape) for _ in range(2 * self.cfg["num_hidden_layers"])]

    def prefill_logits(self, input_ids):
        """Logits [B,S,vocab] of a full, unpadded prefill (positions 0..S-1)."""
        b, s = input_ids.shape
        mask = torch.ones(b, s, dtype=torch.int64)
        pos = torch.arange(s, dtype=torch.int64)[None, :].expand(b, s)
        return self(input_ids, mask, pos, *self.empty_past(b))[0]


def mean_nll(logits, tokens):
    """Mean negative log-likelihood (natural log, float64) of tokens[:, t+1] given
    logits[:, t], over every row and position t = 0..T-2."""
    logits = torch.as_tensor(logits)[:, :-1].double()
    target = torch.as_tensor(tokens)[:, 1:]
    logp = torch.log_softmax(logits, dim=-1)
    return float(-logp.gather(-1, target[..., None]).mean())


def perplexity(logits, tokens):
    return math.exp(mean_nll(logits, tokens))


def load_from_onnx(model_proto, cfg):
    """TinyLlm whose parameters are the initializers of a layout-(a) export (same names)."""
    from onnx import numpy_helper

    model = TinyLlm(cfg)
    inits = {t.name: t for t in model_proto.graph.initializer}
    state = {}
    for name, param in model.named_parameters():
        if name not in inits:
            raise KeyError("initializer %r missing from the ONNX model" % name)
        value = numpy_helper.to_array(inits[name]).astype(np.float32)
        if tuple(value.shape) != tuple(param.shape):
            raise ValueError("initializer %r has shape %s, expected %s"
                             % (name, list(value.shape), list(param.shape)))
        state[name] = torch.from_numpy(value.copy())
    model.load_state_dict(state)
    model.eval()
    return model
