// Tests of src/quant/linear_grid.cc, the int8 schemes' grid for GPTQ and
// AWQ: it is the grid the schemes' own round-to-nearest uses (same codes and
// parameters, in the stored layout, for [K, N] and [N, K] weights, per
// channel and per tensor); symmetric grids keep zero point 0 and asymmetric
// ones keep their zero points in range; on fixed-seed synthetic layers with
// correlated inputs GPTQ on the int8 grid gives the layer a lower output
// error than round-to-nearest (never a higher one), and AWQ's search is
// never worse than round-to-nearest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "quant/awq_search.h"
#include "quant/gptq_solver.h"
#include "quant/correlated_hessian.h"
#include "quant/hessian_collector.h"
#include "quant/weight_grid.h"
#include "quant/weight_rounding.h"

namespace pq::quant {
namespace {

constexpr int64_t kN = 40, kK = 96, kRows = 1024;
constexpr int kDirections = 5;
constexpr double kNoise = 0.05;
// GPTQ on the int8 grid must at least keep round-to-nearest's output error
// (it is kept when GPTQ loses); on correlated inputs it must clearly win.
constexpr double kMaxGptqToRtnRatio = 0.9;

// X^T X of X = Z A + noise (tests/quant/correlated_hessian.h).
InputHessian CorrelatedHessian(uint32_t seed) {
  return SyntheticCorrelatedHessian(seed, kK, kRows, kDirections, kNoise);
}

// [n, k] Gaussian weights with a shifted mean per row (so that asymmetric
// grids get zero points away from the middle).
std::vector<float> RowWeights(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(kN * kK));
  for (int64_t r = 0; r < kN; ++r) {
    const float shift = 0.01f * static_cast<float>(r % 5);
    for (int64_t c = 0; c < kK; ++c) w[static_cast<size_t>(r * kK + c)] = normal(rng) + shift;
  }
  return w;
}

// [n, k] -> [k, n].
std::vector<float> Transposed(const std::vector<float>& w) {
  std::vector<float> t(w.size());
  for (int64_t r = 0; r < kN; ++r) {
    for (int64_t c = 0; c < kK; ++c) t[static_cast<size_t>(c * kN + r)] = w[static_cast<size_t>(r * kK + c)];
  }
  return t;
}

std::unique_ptr<Scheme> Make(const std::string& name, bool asymmetric_weights = false) {
  SchemeOptions o;
  o.asymmetric_weights = asymmetric_weights;
  return std::move(MakeScheme(name, o)).value();
}

// What DequantizeLinear reads back from the written int8 weight, as [n, k].
std::vector<float> DecodeRows(const QuantizedWeight& q, bool transposed) {
  std::vector<float> out(static_cast<size_t>(kN * kK));
  for (int64_t r = 0; r < kN; ++r) {
    const size_t ch = q.params.axis >= 0 ? static_cast<size_t>(r) : 0;
    for (int64_t c = 0; c < kK; ++c) {
      const size_t at = static_cast<size_t>(transposed ? c * kN + r : r * kK + c);
      const int code = static_cast<int8_t>(q.data[at]);
      out[static_cast<size_t>(r * kK + c)] =
          static_cast<float>(code - q.params.zero_point[ch]) * q.params.scale[ch];
    }
  }
  return out;
}

double OutputError(const std::vector<float>& w, const std::vector<float>& q, const Eigen::MatrixXd& h) {
  Eigen::MatrixXd wm(kN, kK), d(kN, kK);
  for (int64_t r = 0; r < kN; ++r) {
    for (int64_t c = 0; c < kK; ++c) {
      wm(r, c) = w[static_cast<size_t>(r * kK + c)];
      d(r, c) = wm(r, c) - q[static_cast<size_t>(r * kK + c)];
    }
  }
  return (d * h * d.transpose()).trace() / (wm * h * wm.transpose()).trace();
}

struct Case {
  const char* scheme;
  bool asymmetric_weights;
};
constexpr Case kCases[] = {{"int8-sym", false}, {"int8-asym", false}, {"int8-asym", true}, {"int8-dynamic", false}};

TEST(LinearGridTest, IsTheSchemesOwnRoundToNearestInEveryLayout) {
  const std::vector<float> nk = RowWeights(1);
  const std::vector<float> kn = Transposed(nk);
  for (const Case& c : kCases) {
    for (bool transposed : {false, true}) {
      for (bool per_channel : {true, false}) {
        SCOPED_TRACE(std::string(c.scheme) + (c.asymmetric_weights ? " asym" : "") + (transposed ? " [K,N]" : " [N,K]") +
                     (per_channel ? " per-channel" : " per-tensor"));
        const std::unique_ptr<Scheme> scheme = Make(c.scheme, c.asymmetric_weights);
        const std::shared_ptr<const WeightGrid> grid = scheme->Grid(per_channel, transposed);
        ASSERT_NE(grid, nullptr);
        const int64_t axis = per_channel ? (transposed ? 1 : 0) : -1;
        const WeightView view = transposed ? WeightView{"W", kn.data(), {kK, kN}, axis}
                                           : WeightView{"W", nk.data(), {kN, kK}, axis};
        std::vector<float> storage;
        int64_t n = 0, k = 0;
        const float* rows = grid->Rows(view, &n, &k, &storage);
        ASSERT_EQ(n, kN);
        ASSERT_EQ(k, kK);
        EXPECT_EQ(std::vector<float>(rows, rows + n * k), nk);
        ASSERT_EQ(grid->BlockCount(n, k), per_channel ? kN : 1);
        EXPECT_EQ(grid->RowBlockLength(k), per_channel ? kK : 0);
        std::vector<float> dq;
        Result<QuantizedWeight> g = grid->QuantizeWithParams(view, rows, grid->FitBlocks(rows, n, k), &dq);
        Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
        ASSERT_TRUE(g.ok() && rtn.ok()) << g.status().ToString();
        EXPECT_EQ(g->data, rtn->data);
        EXPECT_EQ(g->params.dtype, rtn->params.dtype);
        EXPECT_EQ(g->params.axis, rtn->params.axis);
        EXPECT_EQ(g->params.scale, rtn->params.scale);
        EXPECT_EQ(g->params.zero_point, rtn->params.zero_point);
        EXPECT_NEAR(g->error.mse, rtn->error.mse, 1e-12);
        EXPECT_EQ(dq, DecodeRows(rtn.value(), transposed));
      }
    }
  }
}

TEST(LinearGridTest, GptqNeverWorseThanRoundToNearestAndClearlyBetterOnCorrelatedInputs) {
  const InputHessian h = CorrelatedHessian(2);
  const std::vector<float> nk = RowWeights(3);
  const std::vector<float> kn = Transposed(nk);
  for (const Case& c : kCases) {
    for (bool act_order : {false, true}) {
      SCOPED_TRACE(std::string(c.scheme) + (c.asymmetric_weights ? " asym" : "") + (act_order ? " act-order" : ""));
      const std::unique_ptr<Scheme> scheme = Make(c.scheme, c.asymmetric_weights);
      // A MatMul weight: stored [K, N], channel axis 1.
      const WeightView view{"W", kn.data(), {kK, kN}, 1};
      RoundingInputs inputs;
      inputs.hessian = &h;
      inputs.grid = scheme->Grid(true, true);
      WeightRoundingOptions options;
      options.gptq_act_order = act_order;
      Result<QuantizedWeight> g = MakeGptq(options)->Round(*scheme, view, inputs);
      Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
      ASSERT_TRUE(g.ok() && rtn.ok()) << g.status().ToString();
      ASSERT_TRUE(g->rounding.has_value());
      EXPECT_EQ(g->rounding->applied, "gptq") << g->rounding->fallback;
      EXPECT_TRUE(g->rounding->static_groups);  // one block per row: fitted before any update
      EXPECT_EQ(g->params.axis, 1);
      const double gptq_error = OutputError(nk, DecodeRows(g.value(), true), h.xtx);
      const double rtn_error = OutputError(nk, DecodeRows(rtn.value(), true), h.xtx);
      EXPECT_LE(gptq_error, rtn_error);
      EXPECT_LE(gptq_error, kMaxGptqToRtnRatio * rtn_error) << gptq_error << " vs rtn " << rtn_error;
      ASSERT_TRUE(g->rounding->output_error && g->rounding->output_error_rtn);
      EXPECT_NEAR(*g->rounding->output_error, gptq_error, 1e-9 + 1e-6 * gptq_error);
      EXPECT_NEAR(*g->rounding->output_error_rtn, rtn_error, 1e-9 + 1e-6 * rtn_error);
      // The scheme's zero points: 0 when symmetric, in int8's range otherwise
      // (and not all 0 for these shifted rows).
      const bool symmetric = scheme->SymmetricWeights();
      bool any_nonzero = false;
      for (int64_t zp : g->params.zero_point) {
        if (symmetric) {
          EXPECT_EQ(zp, 0);
        }
        EXPECT_GE(zp, -128);
        EXPECT_LE(zp, 127);
        any_nonzero |= zp != 0;
      }
      EXPECT_EQ(any_nonzero, !symmetric);
      // Symmetric codes stay on [-127, 127].
      if (symmetric) {
        for (char code : g->data) EXPECT_NE(static_cast<int8_t>(code), -128);
      }
    }
  }
}

TEST(LinearGridTest, GptqOnAPerTensorGridAndAGemmTransBWeight) {
  const InputHessian h = CorrelatedHessian(4);
  const std::vector<float> nk = RowWeights(5);
  const std::unique_ptr<Scheme> scheme = Make("int8-sym");
  for (int64_t axis : {0, -1}) {  // Gemm transB = 1: [N, K], channel axis 0
    SCOPED_TRACE(axis);
    const WeightView view{"W", nk.data(), {kN, kK}, axis};
    RoundingInputs inputs;
    inputs.hessian = &h;
    inputs.grid = scheme->Grid(axis >= 0, false);
    Result<QuantizedWeight> g = MakeGptq()->Round(*scheme, view, inputs);
    Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
    ASSERT_TRUE(g.ok() && rtn.ok());
    EXPECT_EQ(g->rounding->applied, "gptq") << g->rounding->fallback;
    EXPECT_EQ(g->params.scale.size(), axis >= 0 ? static_cast<size_t>(kN) : 1u);
    EXPECT_EQ(g->params.scale, rtn->params.scale);  // static: the original weights' parameters
    EXPECT_LE(OutputError(nk, DecodeRows(g.value(), false), h.xtx),
              kMaxGptqToRtnRatio * OutputError(nk, DecodeRows(rtn.value(), false), h.xtx));
  }
}

TEST(LinearGridTest, AwqSearchNeverWorseThanRoundToNearest) {
  const InputHessian h = CorrelatedHessian(6);
  Eigen::VectorXd mean_abs = h.xtx.diagonal().cwiseSqrt() / std::sqrt(static_cast<double>(kRows));
  for (int64_t c = 0; c < 4; ++c) mean_abs[c] *= 20;  // a few large features
  const std::vector<float> w1 = RowWeights(7), w2 = RowWeights(8);
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.scheme) + (c.asymmetric_weights ? " asym" : ""));
    const std::unique_ptr<Scheme> scheme = Make(c.scheme, c.asymmetric_weights);
    const std::shared_ptr<const WeightGrid> grid = scheme->Grid(true, false);
    const AwqChoice choice = AwqSearch({{w1.data(), kN, grid.get()}, {w2.data(), kN, grid.get()}}, kK, h.xtx,
                                       mean_abs, 2);
    const double best = *std::min_element(choice.error_by_alpha.begin(), choice.error_by_alpha.end());
    EXPECT_EQ(best, choice.error_by_alpha[static_cast<size_t>(std::lround(choice.alpha * kAwqGridSteps))]);
    EXPECT_LE(best, choice.error_by_alpha.front());
    for (size_t i = 0; i < 2; ++i) EXPECT_LE(choice.error_awq[i] + choice.error_awq[1 - i],
                                             choice.error_rtn[i] + choice.error_rtn[1 - i] + 1e-12);
  }
}

TEST(LinearGridTest, EverySchemeHasAGridSoNoneIsRefused) {
  for (const SchemeEntry& entry : SchemeTable()) {
    SCOPED_TRACE(entry.name);
    std::string reason;
    EXPECT_NE(entry.create({})->Grid(true, true), nullptr);
    EXPECT_TRUE(MakeGptq()->TakesScheme(*entry.create({}), &reason)) << reason;
    EXPECT_TRUE(MakeAwq()->TakesScheme(*entry.create({}), &reason)) << reason;
  }
}

}  // namespace
}  // namespace pq::quant
