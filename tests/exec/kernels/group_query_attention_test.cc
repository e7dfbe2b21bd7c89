// Tests of src/exec/kernels/group_query_attention.cc and gqa_inputs.cc:
// com.microsoft GroupQueryAttention against a naive double reference (the
// semantics of gqa_inputs.h, checked against onnxruntime 1.30 by
// tests/interop) on prompts, decoding with a past, ragged and right-padded
// batches, rotary, windows, softcap, sinks and bias; a hand-computed
// uniform-attention case; thread-count independence; refused inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::MakeTensor;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

constexpr double kTolerance = 1e-5;

Tensor Wave(std::vector<int64_t> shape, float step, float phase) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::sin(step * i + phase);
  return t;
}

Tensor I32(std::vector<int64_t> shape, const std::vector<int>& v) {
  return MakeTensor<int>(kInt32, std::move(shape), v);
}

// One GroupQueryAttention configuration and its data.
struct Gqa {
  int64_t batch = 1, seq = 1, heads = 2, kv_heads = 1, head_size = 4, past = 0;
  std::vector<int> seqlens;
  int total = 1;
  bool rotary = false, interleaved = false, smooth = false;
  int64_t window = -1;
  float scale = 0, softcap = 0;
  std::vector<int64_t> position_ids;  // [B, S] when set
  std::vector<float> sink;            // [N] when set
  std::vector<int64_t> bias_shape;    // [B|1, N|1, S, total] when set
  int64_t cache_rows = 16;
};

struct GqaData {
  Tensor q, k, v, past_k, past_v, cos, sin, bias;
};

GqaData MakeData(const Gqa& g) {
  GqaData d;
  d.q = Wave({g.batch, g.seq, g.heads * g.head_size}, 0.37f, 0.1f);
  d.k = Wave({g.batch, g.seq, g.kv_heads * g.head_size}, 0.53f, 0.7f);
  d.v = Wave({g.batch, g.seq, g.kv_heads * g.head_size}, 0.29f, 1.3f);
  d.past_k = Wave({g.batch, g.kv_heads, g.past, g.head_size}, 0.61f, 0.4f);
  d.past_v = Wave({g.batch, g.kv_heads, g.past, g.head_size}, 0.43f, 2.1f);
  const int64_t half = g.head_size / 2;
  d.cos = Tensor::Allocate(kFloat, {g.cache_rows, half}).value();
  d.sin = Tensor::Allocate(kFloat, {g.cache_rows, half}).value();
  for (int64_t p = 0; p < g.cache_rows; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = p * std::pow(100.0, -static_cast<double>(i) / half);
      d.cos.data<float>()[p * half + i] = static_cast<float>(std::cos(angle));
      d.sin.data<float>()[p * half + i] = static_cast<float>(std::sin(angle));
    }
  }
  if (!g.bias_shape.empty()) d.bias = Wave(g.bias_shape, 0.77f, 0.5f);
  return d;
}

OneNodeCase MakeCase(const Gqa& g, const GqaData& d) {
  OneNodeCase c;
  std::vector<std::string> ins = {
      "q", "k", "v", g.past > 0 ? "pk" : "", g.past > 0 ? "pv" : "", "seqlens", "total"};
  if (g.rotary) ins.insert(ins.end(), {"cos", "sin"});
  if (!g.position_ids.empty() || !g.bias_shape.empty() || !g.sink.empty()) {
    ins.resize(9);
    ins.push_back(g.position_ids.empty() ? "" : "pos");
    ins.push_back(g.bias_shape.empty() ? "" : "bias");
    ins.push_back(g.sink.empty() ? "" : "sink");
  }
  c.node = MakeNode("GroupQueryAttention", ins, {"out", "present_k", "present_v"}, "com.microsoft");
  SetAttr(&c.node, "num_heads", g.heads);
  SetAttr(&c.node, "kv_num_heads", g.kv_heads);
  if (g.rotary) SetAttr(&c.node, "do_rotary", int64_t{1});
  if (g.interleaved) SetAttr(&c.node, "rotary_interleaved", int64_t{1});
  if (g.smooth) SetAttr(&c.node, "smooth_softmax", int64_t{1});
  if (g.window > 0) SetAttr(&c.node, "local_window_size", g.window);
  if (g.scale != 0) SetAttr(&c.node, "scale", g.scale);
  if (g.softcap != 0) SetAttr(&c.node, "softcap", g.softcap);
  c.inputs = {{"q", d.q}, {"k", d.k}, {"v", d.v}};
  if (g.past > 0) c.inputs.insert({{"pk", d.past_k}, {"pv", d.past_v}});
  c.constants = {{"seqlens", I32({g.batch}, g.seqlens)}, {"total", I32({}, {g.total})}};
  if (g.rotary) c.constants.insert({{"cos", d.cos}, {"sin", d.sin}});
  if (!g.position_ids.empty()) c.constants["pos"] = Int64s({g.batch, g.seq}, g.position_ids);
  if (!g.bias_shape.empty()) c.constants["bias"] = d.bias;
  if (!g.sink.empty()) c.constants["sink"] = Floats({g.heads}, g.sink);
  return c;
}

// Rotates head vector x (H values) to position `pos` in place.
void Rotate(const Gqa& g, const GqaData& d, int64_t pos, double* x) {
  const int64_t half = g.head_size / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = g.interleaved ? 2 * i : i, b = g.interleaved ? 2 * i + 1 : i + half;
    const double c = d.cos.data<float>()[pos * half + i], s = d.sin.data<float>()[pos * half + i];
    const double xa = x[a], xb = x[b];
    x[a] = xa * c - xb * s;
    x[b] = xa * s + xb * c;
  }
}

// The naive reference: output [B, S, N H] and present [B, Nkv, T, H].
void Reference(const Gqa& g, const GqaData& d, std::vector<double>* out,
               std::vector<double>* present_k, std::vector<double>* present_v) {
  const int64_t h = g.head_size, t_len = std::max<int64_t>(g.total, g.past);
  const bool first = g.seq == g.total;
  out->assign(static_cast<size_t>(g.batch * g.seq * g.heads * h), 0.0);
  present_k->assign(static_cast<size_t>(g.batch * g.kv_heads * t_len * h), 0.0);
  *present_v = *present_k;
  const std::vector<double> q = Values(d.q), k = Values(d.k), v = Values(d.v);
  const std::vector<double> pk = Values(d.past_k), pv = Values(d.past_v);
  for (int64_t b = 0; b < g.batch; ++b) {
    const int64_t valid = g.seqlens[b] + 1, past = first ? 0 : valid - g.seq;
    auto pos_of = [&](int64_t s) {
      if (first) return (g.position_ids.empty() ? 0 : g.position_ids[0]) + s;
      return g.position_ids.empty() ? past + s : g.position_ids[b * g.seq + s];
    };
    for (int64_t kh = 0; kh < g.kv_heads; ++kh) {
      const int64_t base = (b * g.kv_heads + kh) * t_len * h;
      for (int64_t j = 0; j < past * h; ++j) {
        (*present_k)[base + j] = pk[(b * g.kv_heads + kh) * g.past * h + j];
        (*present_v)[base + j] = pv[(b * g.kv_heads + kh) * g.past * h + j];
      }
      for (int64_t s = 0; s < g.seq; ++s) {
        double* dk = &(*present_k)[base + (past + s) * h];
        for (int64_t e = 0; e < h; ++e) {
          dk[e] = k[((b * g.seq + s) * g.kv_heads + kh) * h + e];
          (*present_v)[base + (past + s) * h + e] = v[((b * g.seq + s) * g.kv_heads + kh) * h + e];
        }
        if (g.rotary) Rotate(g, d, pos_of(s), dk);
      }
    }
    for (int64_t n = 0; n < g.heads; ++n) {
      const int64_t kh = n / (g.heads / g.kv_heads);
      const int64_t base = (b * g.kv_heads + kh) * t_len * h;
      for (int64_t s = 0; s < g.seq; ++s) {
        std::vector<double> qs(q.begin() + ((b * g.seq + s) * g.heads + n) * h,
                               q.begin() + ((b * g.seq + s) * g.heads + n + 1) * h);
        if (g.rotary) Rotate(g, d, pos_of(s), qs.data());
        const int64_t end = std::min(past + s + 1, valid);
        const int64_t start = g.window > 0 && end > g.window ? end - g.window : 0;
        const double scale = g.scale != 0 ? g.scale : 1.0 / std::sqrt(static_cast<double>(h));
        std::vector<double> x;
        for (int64_t j = start; j < end; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < h; ++e) dot += qs[e] * (*present_k)[base + j * h + e];
          dot *= scale;
          if (g.softcap > 0) dot = g.softcap * std::tanh(dot / g.softcap);
          if (!g.bias_shape.empty()) {
            const int64_t bb = g.bias_shape[0] == 1 ? 0 : b, bn = g.bias_shape[1] == 1 ? 0 : n;
            dot += d.bias.data<float>()[((bb * g.bias_shape[1] + bn) * g.seq + s) * g.total + j];
          }
          x.push_back(dot);
        }
        const bool with_sink = g.smooth || !g.sink.empty();
        const double sink = g.sink.empty() ? 0.0 : g.sink[n];
        double max = with_sink ? sink : -1e300;
        for (double e : x) max = std::max(max, e);
        double sum = with_sink ? std::exp(sink - max) : 0.0;
        for (double& e : x) sum += (e = std::exp(e - max));
        for (int64_t j = start; j < end; ++j) {
          for (int64_t e = 0; e < h; ++e) {
            (*out)[((b * g.seq + s) * g.heads + n) * h + e] +=
                x[j - start] / sum * (*present_v)[base + j * h + e];
          }
        }
      }
    }
  }
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTolerance) << what << " " << i;
}

void ExpectMatchesReference(const Gqa& g) {
  const GqaData d = MakeData(g);
  auto out = RunOneNode(MakeCase(g, d));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want, want_k, want_v;
  Reference(g, d, &want, &want_k, &want_v);
  const int64_t t_len = std::max<int64_t>(g.total, g.past);
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{g.batch, g.seq, g.heads * g.head_size}));
  EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{g.batch, g.kv_heads, t_len, g.head_size}));
  ExpectNear(Values((*out)[0]), want, "output");
  ExpectNear(Values((*out)[1]), want_k, "present_key");
  ExpectNear(Values((*out)[2]), want_v, "present_value");
}

TEST(GroupQueryAttentionTest, ZeroQueriesAverageTheVisibleValues) {
  // q = 0: every visible key scores alike, so output s is the mean of v[0..s].
  OneNodeCase c;
  c.node = MakeNode("GroupQueryAttention", {"q", "k", "v", "", "", "seqlens", "total"},
                    {"out", "pk", "pv"}, "com.microsoft");
  SetAttr(&c.node, "num_heads", int64_t{1});
  SetAttr(&c.node, "kv_num_heads", int64_t{1});
  c.inputs = {{"q", Floats({1, 3, 2}, {0, 0, 0, 0, 0, 0})},
              {"k", Floats({1, 3, 2}, {1, 2, 3, 4, 5, 6})},
              {"v", Floats({1, 3, 2}, {3, 0, 1, 6, 2, 0})}};
  c.constants = {{"seqlens", I32({1}, {2})}, {"total", I32({}, {3})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), {3, 0, 2, 3, 2, 2}, "output");
  ExpectNear(Values((*out)[1]), {1, 2, 3, 4, 5, 6}, "present_key");
}

TEST(GroupQueryAttentionTest, PromptWithRotaryAndGroupedHeads) {
  Gqa g;
  g.batch = 2, g.seq = 5, g.heads = 4, g.kv_heads = 2, g.head_size = 8;
  g.seqlens = {4, 4}, g.total = 5, g.rotary = true;
  ExpectMatchesReference(g);
  g.interleaved = true;
  ExpectMatchesReference(g);
}

TEST(GroupQueryAttentionTest, RightPaddedPromptRowsAttendTheValidKeys) {
  Gqa g;
  g.batch = 2, g.seq = 4, g.heads = 2, g.kv_heads = 2, g.head_size = 4;
  g.seqlens = {3, 1}, g.total = 4, g.rotary = true;
  ExpectMatchesReference(g);
}

TEST(GroupQueryAttentionTest, DecodeWithRaggedPastAndLongerBuffer) {
  Gqa g;
  g.batch = 2, g.seq = 1, g.heads = 4, g.kv_heads = 1, g.head_size = 8, g.past = 7;
  g.seqlens = {5, 2}, g.total = 6, g.rotary = true;  // present T = max(6, 7) = 7
  ExpectMatchesReference(g);
}

TEST(GroupQueryAttentionTest, SubsequentPromptContinuesFromThePast) {
  Gqa g;
  g.batch = 1, g.seq = 3, g.heads = 2, g.kv_heads = 1, g.head_size = 4, g.past = 4;
  g.seqlens = {6}, g.total = 7, g.rotary = true;
  ExpectMatchesReference(g);
}

TEST(GroupQueryAttentionTest, WindowSoftcapScaleAndSmoothSoftmax) {
  Gqa g;
  g.batch = 1, g.seq = 6, g.heads = 2, g.kv_heads = 1, g.head_size = 4;
  g.seqlens = {5}, g.total = 6, g.window = 2, g.softcap = 0.5f, g.scale = 0.7f;
  ExpectMatchesReference(g);
  g.smooth = true;
  ExpectMatchesReference(g);
}

TEST(GroupQueryAttentionTest, PositionIdsBiasAndHeadSink) {
  Gqa g;
  g.batch = 2, g.seq = 1, g.heads = 2, g.kv_heads = 1, g.head_size = 4, g.past = 5;
  g.seqlens = {5, 3}, g.total = 6, g.rotary = true;
  g.position_ids = {9, 2};
  g.bias_shape = {2, 1, 1, 6};
  g.sink = {0.5f, -1.0f};
  g.softcap = 0.8f;
  ExpectMatchesReference(g);
  // On the first prompt only position_ids[0, 0] counts: rows from 3 on.
  Gqa p;
  p.seq = 3, p.seqlens = {2}, p.total = 3, p.rotary = true, p.position_ids = {3, 0, 0};
  p.bias_shape = {1, 2, 3, 3};
  ExpectMatchesReference(p);
}

TEST(GroupQueryAttentionTest, PackedQkvEqualsSeparateInputs) {
  Gqa g;
  g.batch = 1, g.seq = 3, g.heads = 2, g.kv_heads = 1, g.head_size = 4;
  g.seqlens = {2}, g.total = 3, g.rotary = true;
  const GqaData d = MakeData(g);
  auto separate = RunOneNode(MakeCase(g, d));
  ASSERT_TRUE(separate.ok()) << separate.status().ToString();
  const std::vector<double> q = Values(d.q), k = Values(d.k), v = Values(d.v);
  std::vector<double> qkv;
  for (int64_t s = 0; s < g.seq; ++s) {
    qkv.insert(qkv.end(), q.begin() + s * 8, q.begin() + (s + 1) * 8);
    qkv.insert(qkv.end(), k.begin() + s * 4, k.begin() + (s + 1) * 4);
    qkv.insert(qkv.end(), v.begin() + s * 4, v.begin() + (s + 1) * 4);
  }
  OneNodeCase c = MakeCase(g, d);
  c.node.set_input(1, "");
  c.node.set_input(2, "");
  c.inputs = {{"q", MakeTensor<double>(kFloat, {1, 3, 16}, qkv)}};
  auto packed = RunOneNode(c);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  for (int i = 0; i < 3; ++i) ExpectNear(Values((*packed)[i]), Values((*separate)[i]), "output");
}

TEST(GroupQueryAttentionTest, ResultsDoNotDependOnThreadCount) {
  Gqa g;
  g.batch = 2, g.seq = 16, g.heads = 4, g.kv_heads = 2, g.head_size = 32;
  g.seqlens = {15, 15}, g.total = 16, g.rotary = true, g.cache_rows = 32;
  const GqaData d = MakeData(g);
  OneNodeCase c = MakeCase(g, d);
  c.threads = 1;
  auto one = RunOneNode(c);
  c.threads = 4;
  auto four = RunOneNode(c);
  ASSERT_TRUE(one.ok() && four.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Values((*one)[i]), Values((*four)[i]));
}

// Runs `g` with `edit` applied and expects an error naming the node and
// containing `fragment`, of `code`.
template <typename Edit>
void ExpectRefused(Gqa g, Edit edit, const std::string& fragment,
                   Status::Code code = Status::Code::kInvalidInput) {
  const GqaData d = MakeData(g);
  OneNodeCase c = MakeCase(g, d);
  edit(&c);
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok()) << fragment;
  EXPECT_EQ(out.status().code(), code) << out.status().ToString();
  EXPECT_NE(out.status().message().find("GroupQueryAttention_node"), std::string::npos)
      << out.status().ToString();
  EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().ToString();
}

TEST(GroupQueryAttentionTest, RefusesMalformedInputsAndAttributes) {
  Gqa g;
  g.batch = 1, g.seq = 2, g.heads = 2, g.kv_heads = 1, g.head_size = 4, g.past = 3;
  g.seqlens = {4}, g.total = 5, g.rotary = true;
  auto none = [](OneNodeCase*) {};
  ExpectRefused(
      g,
      [](OneNodeCase* c) {
        c->inputs["q"] = Wave({2, 8}, 0.1f, 0.0f);
      },
      "expected rank 3");
  ExpectRefused(
      g, [](OneNodeCase* c) { c->node.set_input(5, ""); }, "seqlens_k");
  ExpectRefused(
      g, [](OneNodeCase* c) { c->constants["seqlens"] = I32({1}, {5}); },
      "seqlens_k[0] = 5 must be in [0, total_sequence_length - 1 = 4]");
  ExpectRefused(
      g, [](OneNodeCase* c) { c->constants["seqlens"] = I32({1}, {0}); }, "leaves -1 past keys");
  ExpectRefused(
      g,
      [](OneNodeCase* c) {
        c->inputs["pk"] = Wave({1, 2, 3, 4}, 0.1f, 0.0f);
      },
      "past_key [1, 2, 3, 4]");
  ExpectRefused(
      g, [](OneNodeCase* c) { c->node.set_input(7, ""); }, "do_rotary = 1 needs");
  ExpectRefused(
      g, [](OneNodeCase* c) { SetAttr(&c->node, "local_window_size", int64_t{0}); },
      "local_window_size");
  ExpectRefused(
      g, [](OneNodeCase* c) { c->node.mutable_attribute(1)->set_i(3); },
      "multiple of kv_num_heads");
  Gqa short_cache = g;
  short_cache.cache_rows = 4;
  ExpectRefused(short_cache, none, "position 4 of token [0, 1] is outside");
  ExpectRefused(
      g, [](OneNodeCase* c) { SetAttr(&c->node, "qk_output", int64_t{1}); }, "output_qk",
      Status::Code::kNotSupported);
  ExpectRefused(
      g, [](OneNodeCase* c) { SetAttr(&c->node, "k_quant_type", std::string("PER_TENSOR")); },
      "k_quant_type", Status::Code::kNotSupported);
  Gqa sink = g;
  sink.sink = {0.1f, 0.2f};
  sink.smooth = true;
  ExpectRefused(sink, none, "head_sink must not be given with smooth_softmax");
}

}  // namespace
}  // namespace pq
