// Tests of src/exec/kernels/recurrent.cc: RNN, GRU and LSTM against a naive
// reference written from the ONNX equations (scalar loops, double sums) on
// small fixed-seed random cases — every direction, both layouts, B,
// sequence_lens, initial states, peepholes, clip, linear_before_reset,
// input_forget, activations, missing outputs — and refused bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
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

// |pq - reference| <= kRecurrentTolerance: float products and float
// activations against double ones, over a few steps of values in [-1, 1].
constexpr double kRecurrentTolerance = 2e-5;

struct Config {
  std::string op;  // "RNN", "GRU", "LSTM"
  int64_t seq = 3, batch = 2, input = 3, hidden = 4;
  std::string direction = "forward";
  int64_t layout = 0;
  bool bias = false, lens = false, initial = false, peephole = false;
  std::vector<int64_t> lens_values;  // used when lens
  bool linear_before_reset = false, input_forget = false;
  std::vector<std::string> activations;  // empty = the op's defaults
  float clip = 0.0f;  // 0 = no attribute
};

int64_t Gates(const std::string& op) { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }
int64_t Dirs(const Config& c) { return c.direction == "bidirectional" ? 2 : 1; }

Tensor Random(std::vector<int64_t> shape, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(*rng);
  return t;
}

double Act(const std::string& name, double x, double clip) {
  if (clip > 0) x = std::clamp(x, -clip, clip);
  if (name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (name == "Tanh") return std::tanh(x);
  if (name == "Relu") return std::max(0.0, x);
  ADD_FAILURE() << "reference lacks " << name;
  return 0;
}

// The case's tensors, fed as inputs in ONNX input order.
struct Inputs {
  Tensor x, w, r, b, lens, h0, c0, p;
};

Inputs MakeInputs(const Config& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t g = Gates(c.op), dirs = Dirs(c);
  Inputs in;
  in.x = Random(c.layout == 0 ? std::vector<int64_t>{c.seq, c.batch, c.input}
                              : std::vector<int64_t>{c.batch, c.seq, c.input}, &rng);
  in.w = Random({dirs, g * c.hidden, c.input}, &rng);
  in.r = Random({dirs, g * c.hidden, c.hidden}, &rng);
  in.b = Random({dirs, 2 * g * c.hidden}, &rng);
  in.lens = MakeTensor<int64_t>(kInt32, {c.batch}, c.lens_values);
  const std::vector<int64_t> state = c.layout == 0 ? std::vector<int64_t>{dirs, c.batch, c.hidden}
                                                   : std::vector<int64_t>{c.batch, dirs, c.hidden};
  in.h0 = Random(state, &rng);
  in.c0 = Random(state, &rng);
  in.p = Random({dirs, 3 * c.hidden}, &rng);
  return in;
}

// Y, Y_h (and Y_c for LSTM) of the ONNX equations, in double.
std::vector<std::vector<double>> Reference(const Config& c, const Inputs& in) {
  const int64_t g = Gates(c.op), dirs = Dirs(c), hs = c.hidden;
  std::vector<std::string> acts = c.activations;
  if (acts.empty()) {
    acts = c.op == "RNN" ? std::vector<std::string>{"Tanh"}
           : c.op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                           : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  }
  const size_t per_dir = c.op == "RNN" ? 1 : c.op == "GRU" ? 2 : 3;
  if (acts.size() == per_dir && dirs == 2) {
    const std::vector<std::string> forward = acts;
    acts.insert(acts.end(), forward.begin(), forward.end());
  }
  auto x_at = [&](int64_t t, int64_t b, int64_t k) {
    return static_cast<double>(
        in.x.data<float>()[(c.layout == 0 ? t * c.batch + b : b * c.seq + t) * c.input + k]);
  };
  auto state_index = [&](int64_t d, int64_t b) {
    return (c.layout == 0 ? d * c.batch + b : b * dirs + d) * hs;
  };
  auto y_index = [&](int64_t t, int64_t d, int64_t b) {
    return (c.layout == 0 ? (t * dirs + d) * c.batch + b : (b * c.seq + t) * dirs + d) * hs;
  };
  std::vector<double> y(static_cast<size_t>(c.seq * dirs * c.batch * hs), 0.0);
  std::vector<double> y_h(static_cast<size_t>(dirs * c.batch * hs)), y_c(y_h.size());
  const double clip = c.clip;
  for (int64_t d = 0; d < dirs; ++d) {
    const float* w = in.w.data<float>() + d * g * hs * c.input;
    const float* r = in.r.data<float>() + d * g * hs * hs;
    const float* bias = in.b.data<float>() + d * 2 * g * hs;
    const float* p = in.p.data<float>() + d * 3 * hs;
    const std::string* f = acts.data() + d * per_dir;
    const bool reverse = d == 1 || c.direction == "reverse";
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t len = c.lens ? c.lens_values[static_cast<size_t>(b)] : c.seq;
      std::vector<double> h(static_cast<size_t>(hs), 0.0), cell(h);
      if (c.initial) {
        for (int64_t j = 0; j < hs; ++j) {
          h[j] = in.h0.data<float>()[state_index(d, b) + j];
          cell[j] = in.c0.data<float>()[state_index(d, b) + j];
        }
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = reverse ? len - 1 - step : step;
        // x_part[row] = W x + Wb, h_part[row] = R h + Rb, per gate row.
        std::vector<double> x_part(static_cast<size_t>(g * hs)), h_part(x_part.size());
        auto h_product = [&](const std::vector<double>& v, int64_t row) {
          double sum = c.bias ? bias[g * hs + row] : 0.0;
          for (int64_t k = 0; k < hs; ++k) sum += static_cast<double>(r[row * hs + k]) * v[k];
          return sum;
        };
        for (int64_t row = 0; row < g * hs; ++row) {
          double sum = c.bias ? bias[row] : 0.0;
          for (int64_t k = 0; k < c.input; ++k) sum += w[row * c.input + k] * x_at(t, b, k);
          x_part[row] = sum;
          h_part[row] = h_product(h, row);
        }
        std::vector<double> h_next(static_cast<size_t>(hs));
        if (c.op == "RNN") {
          for (int64_t j = 0; j < hs; ++j) h_next[j] = Act(f[0], x_part[j] + h_part[j], clip);
        } else if (c.op == "GRU") {
          std::vector<double> z(static_cast<size_t>(hs)), rr(z.size()), rh(z.size());
          for (int64_t j = 0; j < hs; ++j) {
            z[j] = Act(f[0], x_part[j] + h_part[j], clip);
            rr[j] = Act(f[0], x_part[hs + j] + h_part[hs + j], clip);
            rh[j] = rr[j] * h[j];
          }
          for (int64_t j = 0; j < hs; ++j) {
            const double recurrent = c.linear_before_reset ? rr[j] * h_part[2 * hs + j]
                                                           : h_product(rh, 2 * hs + j);
            const double cand = Act(f[1], x_part[2 * hs + j] + recurrent, clip);
            h_next[j] = (1 - z[j]) * cand + z[j] * h[j];
          }
        } else {
          for (int64_t j = 0; j < hs; ++j) {
            auto pre = [&](int64_t gate) { return x_part[gate * hs + j] + h_part[gate * hs + j]; };
            const double pi = c.peephole ? p[j] : 0.0, po = c.peephole ? p[hs + j] : 0.0;
            const double pf = c.peephole ? p[2 * hs + j] : 0.0;
            const double i = Act(f[0], pre(0) + pi * cell[j], clip);
            const double fg = c.input_forget ? 1 - i : Act(f[0], pre(2) + pf * cell[j], clip);
            const double cand = Act(f[1], pre(3), clip);
            cell[j] = fg * cell[j] + i * cand;
            const double o = Act(f[0], pre(1) + po * cell[j], clip);
            h_next[j] = o * Act(f[2], cell[j], 0.0);
          }
        }
        h = h_next;
        for (int64_t j = 0; j < hs; ++j) y[y_index(t, d, b) + j] = h[j];
      }
      for (int64_t j = 0; j < hs; ++j) {
        y_h[state_index(d, b) + j] = h[j];
        y_c[state_index(d, b) + j] = cell[j];
      }
    }
  }
  if (c.op == "LSTM") return {y, y_h, y_c};
  return {y, y_h};
}

OneNodeCase MakeCase(const Config& c, const Inputs& in, std::vector<std::string> outputs = {}) {
  const bool lstm = c.op == "LSTM";
  std::vector<std::string> names = {"X", "W", "R", c.bias ? "B" : "", c.lens ? "L" : "",
                                    c.initial ? "H0" : ""};
  if (lstm) {
    names.push_back(c.initial ? "C0" : "");
    names.push_back(c.peephole ? "P" : "");
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (outputs.empty()) {
    outputs = {"Y", "Y_h"};
    if (lstm) outputs.push_back("Y_c");
  }
  OneNodeCase run;
  run.node = MakeNode(c.op, names, outputs);
  SetAttr(&run.node, "hidden_size", c.hidden);
  SetAttr(&run.node, "direction", c.direction);
  if (c.layout != 0) SetAttr(&run.node, "layout", c.layout);
  if (c.linear_before_reset) SetAttr(&run.node, "linear_before_reset", int64_t{1});
  if (c.input_forget) SetAttr(&run.node, "input_forget", int64_t{1});
  if (c.clip > 0) SetAttr(&run.node, "clip", c.clip);
  if (!c.activations.empty()) {
    onnx::AttributeProto* a = run.node.add_attribute();
    a->set_name("activations");
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const std::string& s : c.activations) a->add_strings(s);
  }
  run.opset = 14;
  run.inputs = {{"X", in.x}};
  run.constants = {{"W", in.w}, {"R", in.r}};
  if (c.bias) run.constants["B"] = in.b;
  if (c.lens) run.inputs["L"] = in.lens;
  if (c.initial) run.inputs["H0"] = in.h0;
  if (c.initial && lstm) run.inputs["C0"] = in.c0;
  if (c.peephole && lstm) run.constants["P"] = in.p;
  return run;
}

void ExpectMatches(const Config& c, uint32_t seed) {
  SCOPED_TRACE(c.op + " " + c.direction + " layout " + std::to_string(c.layout));
  const Inputs in = MakeInputs(c, seed);
  Result<std::vector<Tensor>> out = RunOneNode(MakeCase(c, in));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<std::vector<double>> want = Reference(c, in);
  ASSERT_EQ(out->size(), want.size());
  for (size_t o = 0; o < want.size(); ++o) {
    const std::vector<double> got = Values((*out)[o]);
    ASSERT_EQ(got.size(), want[o].size()) << "output " << o;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[o][i], kRecurrentTolerance) << "output " << o << " element " << i;
    }
  }
}

// Every optional feature on: both directions, lens below seq, initial states.
Config Full(const std::string& op) {
  Config c;
  c.op = op;
  c.seq = 4;
  c.batch = 3;
  c.direction = "bidirectional";
  c.bias = c.lens = c.initial = c.peephole = true;
  c.lens_values = {4, 2, 3};
  return c;
}

TEST(RecurrentKernels, RnnMatchesReference) {
  Config plain;
  plain.op = "RNN";
  ExpectMatches(plain, 1);
  Config reverse = plain;
  reverse.direction = "reverse";
  reverse.bias = true;
  ExpectMatches(reverse, 2);
  ExpectMatches(Full("RNN"), 3);
  Config relu = Full("RNN");
  relu.layout = 1;
  relu.activations = {"Relu", "Tanh"};
  ExpectMatches(relu, 4);
}

TEST(RecurrentKernels, GruMatchesReference) {
  Config plain;
  plain.op = "GRU";
  ExpectMatches(plain, 5);
  ExpectMatches(Full("GRU"), 6);
  Config before_reset = Full("GRU");
  before_reset.linear_before_reset = true;
  ExpectMatches(before_reset, 7);
  Config batch_major = Full("GRU");
  batch_major.layout = 1;
  batch_major.direction = "reverse";
  batch_major.clip = 0.5f;
  ExpectMatches(batch_major, 8);
}

TEST(RecurrentKernels, LstmMatchesReference) {
  Config plain;
  plain.op = "LSTM";
  ExpectMatches(plain, 9);
  ExpectMatches(Full("LSTM"), 10);
  Config batch_major = Full("LSTM");
  batch_major.layout = 1;
  batch_major.clip = 0.7f;
  ExpectMatches(batch_major, 11);
  Config coupled = Full("LSTM");
  coupled.input_forget = true;
  coupled.activations = {"Sigmoid", "Tanh", "Relu", "Sigmoid", "Relu", "Tanh"};
  ExpectMatches(coupled, 12);
}

// A batch entry of length 0 keeps its initial states and zeros in Y.
TEST(RecurrentKernels, EmptySequencesKeepInitialStates) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    Config c = Full(op);
    c.lens_values = {0, 4, 1};
    ExpectMatches(c, 18);
  }
}

// A model may ask for Y_h alone; the states match the full run's.
TEST(RecurrentKernels, MissingOutputsAreSkipped) {
  const Config c = Full("LSTM");
  const Inputs in = MakeInputs(c, 13);
  Result<std::vector<Tensor>> out = RunOneNode(MakeCase(c, in, {"", "Y_h"}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::vector<double> want = Reference(c, in)[1];
  const std::vector<double> got = Values((*out)[0]);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kRecurrentTolerance);
}

// Sets attribute `name` of `node` to `value`, dropping the one MakeCase set.
template <typename T>
void ReplaceAttr(onnx::NodeProto* node, const std::string& name, const T& value) {
  auto* attrs = node->mutable_attribute();
  attrs->erase(std::remove_if(attrs->begin(), attrs->end(),
                              [&](const onnx::AttributeProto& a) { return a.name() == name; }),
               attrs->end());
  SetAttr(node, name, value);
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void ExpectRefused(OneNodeCase run, const std::string& what) {
  Result<std::vector<Tensor>> out = RunOneNode(run);
  ASSERT_FALSE(out.ok()) << what;
  EXPECT_TRUE(Contains(out.status().message(), run.node.name())) << out.status().ToString();
  EXPECT_TRUE(Contains(out.status().message(), what)) << out.status().ToString();
}

TEST(RecurrentKernels, RefusesBadInputs) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    SCOPED_TRACE(op);
    const Config c = Full(op);
    const Inputs in = MakeInputs(c, 14);
    OneNodeCase wrong_w = MakeCase(c, in);
    wrong_w.constants["W"] = Floats({2, Gates(op) * c.hidden, c.input + 1}, {});
    ExpectRefused(wrong_w, "W has shape");
    OneNodeCase hidden = MakeCase(c, in);
    ReplaceAttr(&hidden.node, "hidden_size", c.hidden + 1);
    ExpectRefused(hidden, "hidden_size");
    OneNodeCase long_lens = MakeCase(c, in);
    long_lens.inputs["L"] = MakeTensor<int64_t>(kInt32, {c.batch}, {1, c.seq + 1, 2});
    ExpectRefused(long_lens, "sequence_lens[1]");
    OneNodeCase lens_shape = MakeCase(c, in);
    lens_shape.inputs["L"] = MakeTensor<int64_t>(kInt32, {c.batch + 1}, {1, 1, 1, 1});
    ExpectRefused(lens_shape, "sequence_lens has shape");
    OneNodeCase bad_h0 = MakeCase(c, in);
    bad_h0.inputs["H0"] = Floats({1, c.batch, c.hidden}, {});
    ExpectRefused(bad_h0, "initial_h has shape");
    OneNodeCase bad_b = MakeCase(c, in);
    bad_b.constants["B"] = Floats({2, Gates(op) * c.hidden}, {});
    ExpectRefused(bad_b, "B has shape");
    OneNodeCase one_direction = MakeCase(c, in);
    ReplaceAttr(&one_direction.node, "direction", std::string("forward"));
    ExpectRefused(one_direction, "W has shape");  // W holds two directions
  }
  Config c = Full("LSTM");
  c.activations = {"Sigmoid", "Tanh", "LeakyRelu", "Sigmoid", "Tanh", "Tanh"};
  ExpectRefused(MakeCase(c, MakeInputs(c, 15)), "activation 'LeakyRelu'");
  Config p = Full("LSTM");
  OneNodeCase bad_p = MakeCase(p, MakeInputs(p, 16));
  bad_p.constants["P"] = Floats({2, 4 * p.hidden}, {});
  ExpectRefused(bad_p, "P has shape");
  // A zero dim lets R claim any hidden size without holding data.
  OneNodeCase huge_hidden = MakeCase(p, MakeInputs(p, 19));
  huge_hidden.constants["R"] = Floats({2, 0, int64_t{1} << 50}, {});
  ReplaceAttr(&huge_hidden.node, "hidden_size", int64_t{1} << 50);
  ExpectRefused(huge_hidden, "too large");
  OneNodeCase rank2 = MakeCase(p, MakeInputs(p, 17));
  rank2.inputs["X"] = Floats({p.seq, p.input}, {});
  ExpectRefused(rank2, "must be 3-D");
}

}  // namespace
}  // namespace pq
