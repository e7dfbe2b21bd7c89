"""The five torch architectures of models/export_corpus (tools/make_export_corpus.py).

Each is small (<= 300 KB of float32 weights), random-initialized (seeded by the caller) and
shaped like the family it stands for, so that torch.onnx.export writes the ops that family's
real exports hold:

  mobilenetv3  MobileNetV3-style CNN: Hardswish, squeeze-excite (GlobalAveragePool, 1x1 convs,
               Hardsigmoid gate), depthwise 3x3/5x5 convs, BatchNorm (folded by the exporter),
               inverted residuals; input [batch, 3, 32, 32]
  resnet       ResNet-style CNN: conv/BN/ReLU stem, MaxPool, basic blocks with 1x1-conv
               downsampling shortcuts, global average pool, Linear; input [batch, 3, 32, 32]
  bert         BERT-style encoder: word/position/token-type embeddings, LayerNorm,
               2 x [multi-head self-attention with an additive padding mask, GELU FFN],
               tanh pooler; inputs input_ids, attention_mask, token_type_ids [batch, sequence]
  llama        Llama-style decoder (Hugging Face LlamaForCausalLM semantics, no biases):
               RMSNorm, rotary embeddings computed in the graph from position_ids, grouped-query
               attention (4 query heads, 2 KV heads, repeat_kv by Expand), SwiGLU, KV cache
               (past_key_values.N.key/value in, present.N.key/value out, optimum's names and
               dynamic axes); causal mask by torch.triu (Trilu) or, where the exporter refuses
               triu, by comparing positions (Hugging Face's older form); where it refuses
               rotate_half's slice by a traced size (opset 9), with a constant half
  rnn          bidirectional LSTM -> GRU -> Linear over a [batch, sequence, 12] input

Every model class exposes a `Spec` (see below) with what the exporter and the data writer need.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Spec:
    """What make_export_corpus.py needs of an architecture.

    module: the torch module (eval mode); example: the tuple of example inputs for tracing;
    input_names/output_names/dynamic_axes: torch.onnx.export's; sample(rng): one sample per
    input name, as numpy arrays shaped like the model input (batch 1)."""

    def __init__(self, module, example, input_names, output_names, dynamic_axes, sample):
        self.module = module.eval()
        self.example = example
        self.input_names = input_names
        self.output_names = output_names
        self.dynamic_axes = dynamic_axes
        self.sample = sample


# ---------------------------------------------------------------- MobileNetV3-style CNN


def conv_bn(cin, cout, kernel, stride, groups=1):
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout)]


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        scale = F.hardsigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * scale


class InvertedResidual(nn.Module):
    def __init__(self, cin, expanded, cout, kernel, stride, se, hardswish):
        super().__init__()
        act = nn.Hardswish if hardswish else nn.ReLU
        layers = []
        if expanded != cin:
            layers += conv_bn(cin, expanded, 1, 1) + [act()]
        layers += conv_bn(expanded, expanded, kernel, stride, groups=expanded) + [act()]
        if se:
            layers.append(SqueezeExcite(expanded, max(8, expanded // 4)))
        layers += conv_bn(expanded, cout, 1, 1)
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV3(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        # (in, expanded, out, kernel, stride, squeeze-excite, hardswish): MobileNetV3-Small's
        # first rows at reduced width.
        rows = [(16, 16, 16, 3, 2, True, False), (16, 48, 24, 3, 2, False, False),
                (24, 64, 24, 3, 1, False, False), (24, 72, 32, 5, 2, True, True),
                (32, 96, 32, 5, 1, True, True)]
        self.stem = nn.Sequential(*conv_bn(3, 16, 3, 2), nn.Hardswish())
        self.blocks = nn.Sequential(*[InvertedResidual(*row) for row in rows])
        self.last = nn.Sequential(*conv_bn(32, 96, 1, 1), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Linear(96, 64), nn.Hardswish(), nn.Dropout(0.2),
                                  nn.Linear(64, classes))

    def forward(self, x):
        x = self.pool(self.last(self.blocks(self.stem(x))))
        return self.head(torch.flatten(x, 1))


def randomize_batchnorm(module, generator):
    """Non-trivial running statistics, so that the exporter's Conv+BN folding matters."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def image_spec(module):
    def sample(rng):
        return {"input": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}

    return Spec(module, (torch.randn(2, 3, 32, 32),), ["input"], ["logits"],
                {"input": {0: "batch"}, "logits": {0: "batch"}}, sample)


def mobilenetv3(generator):
    model = MobileNetV3()
    randomize_batchnorm(model, generator)
    return image_spec(model)


# ---------------------------------------------------------------- ResNet-style CNN


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + identity)


class ResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 48, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(generator):
    model = ResNet()
    randomize_batchnorm(model, generator)
    return image_spec(model)


# ---------------------------------------------------------------- BERT-style encoder


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, inner):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, inner)
        self.output = nn.Linear(inner, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=1e-12)

    def split(self, x):
        b, s, h = x.shape
        return x.view(b, s, self.heads, h // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, bias):
        b, s, h = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(h // self.heads)
        probs = torch.softmax(scores + bias, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, h)
        x = self.attn_norm(x + self.attn_out(context))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


class Bert(nn.Module):
    def __init__(self, vocab=96, hidden=32, heads=4, inner=64, layers=2, positions=32):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(positions, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(hidden, heads, inner) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :]
        x = self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids)
        x = self.norm(x)
        # Hugging Face's extended attention mask: 0 where attended, -10000 where padded.
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pooler(x[:, 0]))


def bert(generator):
    del generator
    kSeq = 8

    def sample(rng):
        length = int(rng.integers(4, kSeq + 1))
        mask = np.zeros((1, kSeq), np.int64)
        mask[0, :length] = 1
        types = np.zeros((1, kSeq), np.int64)
        types[0, length // 2:length] = 1
        return {"input_ids": rng.integers(0, 96, (1, kSeq)).astype(np.int64),
                "attention_mask": mask, "token_type_ids": types}

    seq_axes = {0: "batch", 1: "sequence"}
    example = (torch.randint(0, 96, (2, 5)), torch.ones(2, 5, dtype=torch.int64),
               torch.zeros(2, 5, dtype=torch.int64))
    return Spec(Bert(), example, ["input_ids", "attention_mask", "token_type_ids"],
                ["last_hidden_state", "pooler_output"],
                {"input_ids": seq_axes, "attention_mask": seq_axes, "token_type_ids": seq_axes,
                 "last_hidden_state": seq_axes, "pooler_output": {0: "batch"}}, sample)


# ---------------------------------------------------------------- Llama-style decoder

kLlama = {"vocab": 128, "hidden": 32, "heads": 4, "kv_heads": 2, "head_dim": 8, "inner": 64,
          "layers": 2, "theta": 10000.0, "eps": 1e-6}


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(dim))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x, half=None):
    """Hugging Face's rotate_half, which takes the half from x's traced shape (a Slice with
    dynamic inputs, which the exporter refuses at opset 9); `half` given: a constant."""
    if half is None:
        half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, rep):
    b, kv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, rep, t, d).reshape(b, kv * rep, t, d)


class LlamaAttention(nn.Module):
    def __init__(self, c, static_half):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], c["head_dim"]
        self.half = c["head_dim"] // 2 if static_half else None
        self.q_proj = nn.Linear(c["hidden"], c["heads"] * c["head_dim"], bias=False)
        self.k_proj = nn.Linear(c["hidden"], c["kv_heads"] * c["head_dim"], bias=False)
        self.v_proj = nn.Linear(c["hidden"], c["kv_heads"] * c["head_dim"], bias=False)
        self.o_proj = nn.Linear(c["heads"] * c["head_dim"], c["hidden"], bias=False)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q, self.half) * sin
        k = k * cos + rotate_half(k, self.half) * sin
        k = torch.cat((past_key, k), dim=2)
        v = torch.cat((past_value, v), dim=2)
        rep = self.heads // self.kv_heads
        scores = torch.matmul(q, repeat_kv(k, rep).transpose(2, 3)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + bias, dim=-1)
        out = torch.matmul(probs, repeat_kv(v, rep)).transpose(1, 2).reshape(b, s, -1)
        return self.o_proj(out), k, v


class LlamaLayer(nn.Module):
    def __init__(self, c, static_half):
        super().__init__()
        self.input_layernorm = RmsNorm(c["hidden"], c["eps"])
        self.self_attn = LlamaAttention(c, static_half)
        self.post_attention_layernorm = RmsNorm(c["hidden"], c["eps"])
        self.gate_proj = nn.Linear(c["hidden"], c["inner"], bias=False)
        self.up_proj = nn.Linear(c["hidden"], c["inner"], bias=False)
        self.down_proj = nn.Linear(c["inner"], c["hidden"], bias=False)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        attn, key, value = self.self_attn(self.input_layernorm(x), cos, sin, bias, past_key,
                                          past_value)
        x = x + attn
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h)), key, value


class Llama(nn.Module):
    """forward(input_ids [B,S], attention_mask [B,P+S], position_ids [B,S], past_key_values.0.key,
    .0.value, ... [B,kv_heads,P,head_dim]) -> (logits [B,S,vocab], present.0.key, ...)."""

    def __init__(self, c, use_triu, static_half):
        super().__init__()
        self.use_triu = use_triu
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList([LlamaLayer(c, static_half) for _ in range(c["layers"])])
        self.norm = RmsNorm(c["hidden"], c["eps"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)
        inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, c["head_dim"], 2).float() / c["head_dim"]))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def causal_mask(self, s, past, dtype):
        """[S, P+S]: 0 where query i (absolute index P+i) may see key j, finfo.min elsewhere."""
        low = torch.finfo(dtype).min
        if self.use_triu:  # Hugging Face 4.3x _make_causal_mask, with torch.triu
            causal = torch.triu(torch.full((s, s), low, dtype=dtype), diagonal=1)
            return torch.cat((torch.zeros(s, past, dtype=dtype), causal), dim=-1)
        keys = torch.arange(past + s)
        queries = torch.arange(s) + past
        hidden = keys[None, :] > queries[:, None]
        return torch.zeros(s, past + s, dtype=dtype).masked_fill(hidden, low)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        b, s = input_ids.shape
        x = self.embed_tokens(input_ids)
        freqs = position_ids[:, :, None].to(x.dtype) * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B,1,S,head_dim]
        causal = self.causal_mask(s, past[0].shape[2], x.dtype)
        padded = attention_mask[:, None, None, :] == 0
        bias = causal[None, None].masked_fill(padded, torch.finfo(x.dtype).min)
        presents = []
        for i, layer in enumerate(self.layers):
            x, key, value = layer(x, cos, sin, bias, past[2 * i], past[2 * i + 1])
            presents += [key, value]
        return (self.lm_head(self.norm(x)),) + tuple(presents)


def llama(generator, use_triu, static_half):
    del generator
    c = kLlama
    kPast, kSeq = 3, 4
    kv_shape = (c["kv_heads"], c["head_dim"])
    past_names = ["past_key_values.%d.%s" % (i, kv) for i in range(c["layers"])
                  for kv in ("key", "value")]
    present_names = ["present.%d.%s" % (i, kv) for i in range(c["layers"])
                     for kv in ("key", "value")]

    def sample(rng):
        mask = np.ones((1, kPast + kSeq), np.int64)
        if rng.random() < 0.5:  # a left-padded sequence: the first cached position is padding
            mask[0, 0] = 0
        arrays = {"input_ids": rng.integers(0, c["vocab"], (1, kSeq)).astype(np.int64),
                  "attention_mask": mask,
                  "position_ids": np.arange(kPast, kPast + kSeq, dtype=np.int64)[None, :]}
        for name in past_names:
            arrays[name] = rng.standard_normal((1,) + kv_shape[:1] + (kPast,) + kv_shape[1:]
                                               ).astype(np.float32)
        return arrays

    example = (torch.randint(0, c["vocab"], (2, 3)), torch.ones(2, 7, dtype=torch.int64),
               torch.arange(4, 7)[None, :].expand(2, 3).contiguous())
    example += tuple(torch.randn(2, c["kv_heads"], 4, c["head_dim"]) for _ in past_names)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    axes.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in past_names})
    axes.update({n: {0: "batch_size", 2: "total_sequence_length"} for n in present_names})
    return Spec(Llama(c, use_triu, static_half), example,
                ["input_ids", "attention_mask", "position_ids"] + past_names,
                ["logits"] + present_names, axes, sample)


# ---------------------------------------------------------------- LSTM/GRU model


class Recurrent(nn.Module):
    def __init__(self, features=12, hidden=16, outputs=6):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, h = self.gru(y)
        return self.head(y), h.transpose(0, 1)


def rnn(generator):
    del generator
    kSeq = 6

    def sample(rng):
        return {"features": rng.standard_normal((1, kSeq, 12)).astype(np.float32)}

    seq_axes = {0: "batch", 1: "sequence"}
    return Spec(Recurrent(), (torch.randn(2, 5, 12),), ["features"], ["output", "last_hidden"],
                {"features": seq_axes, "output": seq_axes, "last_hidden": {0: "batch"}}, sample)


# name -> list of (variant, builder(generator)); the exporter tries the variants in order and
# the corpus keeps the first it accepts (the manifest records each refusal).
kArchitectures = {
    "mobilenetv3": [("", mobilenetv3)],
    "resnet": [("", resnet)],
    "bert": [("", bert)],
    "llama": [("triu", lambda g: llama(g, True, False)),
              ("compare", lambda g: llama(g, False, False)),
              ("compare, static rotate_half", lambda g: llama(g, False, True))],
    "rnn": [("", rnn)],
}
