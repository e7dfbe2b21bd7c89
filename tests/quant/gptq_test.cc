// Direct tests of src/quant/gptq.cc and gptq_solver.cc: on fixed-seed
// synthetic layers whose inputs have a few large-variance directions, GPTQ's
// output error tr(D H D^T) (measured here from the written codes, decoded
// independently) is well below round-to-nearest's for nf4, int4-sym and
// int4-asym, with and without act-order; with a diagonal H nothing is passed
// on between columns, so GPTQ writes exactly RTN's bytes; degenerate H falls
// back to RTN saying why; results do not depend on the thread count.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <random>

#include "quant/fourbit_decode.h"
#include "quant/gptq_solver.h"
#include "quant/correlated_hessian.h"
#include "quant/hessian_collector.h"
#include "quant/scheme_bases.h"
#include "quant/weight_rounding.h"

namespace pq::quant {
namespace {

// GPTQ's output error must be at most this share of RTN's on correlated data.
constexpr double kMaxGptqToRtnRatio = 0.8;
constexpr int64_t kN = 48, kK = 128, kRows = 2048;
// Large-variance input directions in the synthetic X, and the noise beside them.
constexpr int kDirections = 6;
constexpr float kNoise = 0.05f;

// X = Z A + noise: inputs strongly correlated, as a transformer's are
// (tests/quant/correlated_hessian.h). Returns X^T X.
InputHessian CorrelatedHessian(uint32_t seed, int64_t k = kK) {
  return SyntheticCorrelatedHessian(seed, k, kRows, kDirections, kNoise);
}

std::vector<float> GaussianWeight(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(n * k));
  for (float& v : w) v = dist(rng);
  return w;
}

std::unique_ptr<Scheme> Make(const std::string& name, int64_t block = 0) {
  SchemeOptions o;
  o.block_size = block;
  return std::move(MakeScheme(name, o)).value();
}

// What the written [n, k] weight reads back, decoded here from its codes.
std::vector<float> Decode(const QuantizedWeight& q, int64_t n, int64_t k) {
  const BlockwisePacked& b = *q.blockwise;
  if (q.storage_type == "nf4") {
    Nf4Weight nf4;
    nf4.packed = b.codes;
    nf4.absmax = b.scales;
    return DecodeNf4(nf4, b.block_size, static_cast<size_t>(n * k));
  }
  Int4Weight int4;
  int4.packed = b.codes;
  int4.scales = b.scales;
  int4.zero_points = q.params.zero_point;
  return DecodeInt4(int4, n, k, b.block_size);
}

// tr(D H D^T) / tr(W H W^T), computed plainly.
double OutputError(const std::vector<float>& w, const std::vector<float>& q, int64_t n, int64_t k,
                   const Eigen::MatrixXd& h) {
  Eigen::MatrixXd wm(n, k), d(n, k);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      wm(r, c) = w[static_cast<size_t>(r * k + c)];
      d(r, c) = wm(r, c) - q[static_cast<size_t>(r * k + c)];
    }
  }
  return (d * h * d.transpose()).trace() / (wm * h * wm.transpose()).trace();
}

RoundingInputs WithHessian(const InputHessian& h) {
  RoundingInputs in;
  in.node = "mm";
  in.op_type = "MatMul";
  in.hessian = &h;
  in.hessian_inputs = {"x"};
  return in;
}

WeightRoundingOptions Options(bool act_order = false, double damp = 0.01, int threads = 0) {
  WeightRoundingOptions o;
  o.gptq_act_order = act_order;
  o.gptq_damp = damp;
  o.threads = threads;
  return o;
}

TEST(GptqTest, ErrorWellBelowRoundToNearestOnCorrelatedInputs) {
  const InputHessian h = CorrelatedHessian(1);
  const std::vector<float> w = GaussianWeight(kN, kK, 2);
  const WeightView view{"W", w.data(), {kN, kK}, -1};
  for (const char* name : {"nf4", "int4-sym", "int4-asym"}) {
    for (bool act_order : {false, true}) {
      SCOPED_TRACE(std::string(name) + (act_order ? " act-order" : ""));
      const std::unique_ptr<Scheme> scheme = Make(name);
      Result<QuantizedWeight> g = MakeGptq(Options(act_order))->Round(*scheme, view, WithHessian(h));
      Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
      ASSERT_TRUE(g.ok() && rtn.ok()) << g.status().ToString();
      ASSERT_TRUE(g->rounding.has_value());
      const WeightRoundingRecord& r = *g->rounding;
      EXPECT_EQ(r.requested, "gptq");
      EXPECT_EQ(r.applied, "gptq") << r.fallback;
      EXPECT_TRUE(r.fallback.empty());
      EXPECT_EQ(r.act_order, act_order);
      EXPECT_EQ(r.rows, kRows);
      EXPECT_GT(r.lambda, 0.0);
      const double gptq_error = OutputError(w, Decode(g.value(), kN, kK), kN, kK, h.xtx);
      const double rtn_error = OutputError(w, Decode(rtn.value(), kN, kK), kN, kK, h.xtx);
      EXPECT_LE(gptq_error, kMaxGptqToRtnRatio * rtn_error) << gptq_error << " vs rtn " << rtn_error;
      // The record holds the same figures.
      ASSERT_TRUE(r.output_error && r.output_error_rtn);
      EXPECT_NEAR(*r.output_error, gptq_error, 1e-9 + 1e-6 * gptq_error);
      EXPECT_NEAR(*r.output_error_rtn, rtn_error, 1e-9 + 1e-6 * rtn_error);
      // Its error against the FP32 weight is measured on what is written.
      EXPECT_GT(g->error.mse, 0.0);
    }
  }
}

TEST(GptqTest, DiagonalHessianPassesNothingOnAndWritesRtnsBytes) {
  // Uncorrelated inputs of any scales: U is diagonal, no error moves between
  // columns, every block is fitted from the original weights.
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> scale(0.5, 20.0);
  InputHessian h;
  h.rows = 100;
  h.xtx = Eigen::MatrixXd::Zero(kK, kK);
  for (int64_t j = 0; j < kK; ++j) h.xtx(j, j) = j % 2 == 0 ? 1.0 : scale(rng);
  const std::vector<float> w = GaussianWeight(kN, kK, 5);
  const WeightView view{"W", w.data(), {kN, kK}, -1};
  for (const char* name : {"nf4", "int4-sym", "int4-asym"}) {
    for (bool act_order : {false, true}) {
      SCOPED_TRACE(std::string(name) + (act_order ? " act-order" : ""));
      const std::unique_ptr<Scheme> scheme = Make(name);
      Result<QuantizedWeight> g = MakeGptq(Options(act_order))->Round(*scheme, view, WithHessian(h));
      Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
      ASSERT_TRUE(g.ok() && rtn.ok());
      EXPECT_EQ(g->blockwise->codes, rtn->blockwise->codes);
      EXPECT_EQ(g->blockwise->scales, rtn->blockwise->scales);
      EXPECT_EQ(g->blockwise->zero_points, rtn->blockwise->zero_points);
      EXPECT_EQ(g->error.mse, rtn->error.mse);
      ASSERT_TRUE(g->rounding->output_error && g->rounding->output_error_rtn);
      EXPECT_EQ(*g->rounding->output_error, *g->rounding->output_error_rtn);
      EXPECT_EQ(g->rounding->applied, "gptq");
    }
  }
}

TEST(GptqTest, InverseFactorIsTheUpperCholeskyFactorOfTheDampedInverse) {
  const InputHessian h = CorrelatedHessian(7, 40);
  Result<GptqFactor> f = FactorHessian(h.xtx, 0.01);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_DOUBLE_EQ(f->lambda, 0.01 * h.xtx.diagonal().mean());
  Eigen::MatrixXd damped = h.xtx;
  damped.diagonal().array() += f->lambda;
  const Eigen::MatrixXd inverse = damped.inverse();
  // The reference's route: Cholesky of the inverse, upper.
  const Eigen::MatrixXd direct = Eigen::LLT<Eigen::MatrixXd>(inverse).matrixU();
  const Eigen::MatrixXd u = f->u;
  EXPECT_TRUE(u.isUpperTriangular(0.0));
  EXPECT_LE((u - direct).norm(), 1e-8 * direct.norm());
  EXPECT_LE((u.transpose() * u - inverse).norm(), 1e-8 * inverse.norm());
}

TEST(GptqTest, DeadInputsAreRoundedToNearestAndKeepTheirWeights) {
  InputHessian h = CorrelatedHessian(8);
  for (int64_t j : {3, 50, 127}) {
    h.xtx.row(j).setZero();
    h.xtx.col(j).setZero();
  }
  const std::vector<float> w = GaussianWeight(kN, kK, 9);
  const std::unique_ptr<Scheme> scheme = Make("int4-sym");
  Result<QuantizedWeight> g = MakeGptq()->Round(*scheme, {"W", w.data(), {kN, kK}, -1}, WithHessian(h));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->rounding->dead_inputs, 3);
  EXPECT_EQ(g->rounding->applied, "gptq");
  const std::vector<float> q = Decode(g.value(), kN, kK);
  // Column 3 lies in block 0, fitted from weights no error has reached:
  // exactly its nearest grid value, not 0.
  const BlockwiseWeightScheme& grid = *scheme->AsBlockwise();
  int64_t nonzero = 0;
  for (int64_t r = 0; r < kN; ++r) {
    const BlockParams p = grid.FitBlock(w.data() + r * kK, 32);
    EXPECT_EQ(q[static_cast<size_t>(r * kK + 3)], grid.RoundToGrid(w[static_cast<size_t>(r * kK + 3)], p));
    nonzero += q[static_cast<size_t>(r * kK + 3)] != 0.0f ? 1 : 0;
  }
  EXPECT_GT(nonzero, kN / 2);
}

TEST(GptqTest, DegenerateHessiansFallBackToRoundToNearestSayingWhy) {
  const std::vector<float> w = GaussianWeight(kN, kK, 10);
  const WeightView view{"W", w.data(), {kN, kK}, -1};
  const std::unique_ptr<Scheme> scheme = Make("nf4");
  Result<QuantizedWeight> rtn = scheme->QuantizeWeight(view);
  ASSERT_TRUE(rtn.ok());
  struct Case {
    const char* what;
    Eigen::MatrixXd xtx;
    double damp;
    const char* says;
  };
  Eigen::MatrixXd with_nan = CorrelatedHessian(11).xtx;
  with_nan(5, 7) = std::nan("");
  const Case cases[] = {
      {"inputs all 0", Eigen::MatrixXd::Zero(kK, kK), 0.01, "0 on every calibration row"},
      // Every input the same: rank 1, exactly singular without dampening.
      {"singular, no damping", Eigen::MatrixXd::Ones(kK, kK), 0.0, "still singular after dampening"},
      {"NaN", with_nan, 0.01, "non-finite"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    InputHessian h;
    h.rows = 10;
    h.xtx = c.xtx;
    Result<QuantizedWeight> g = MakeGptq(Options(false, c.damp))->Round(*scheme, view, WithHessian(h));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->rounding->applied, "rtn");
    EXPECT_NE(g->rounding->fallback.find(c.says), std::string::npos) << g->rounding->fallback;
    EXPECT_FALSE(g->rounding->output_error.has_value());
    EXPECT_EQ(g->blockwise->codes, rtn->blockwise->codes);
  }
  // No X^T X at all (an input that is a constant): the given reason.
  RoundingInputs none;
  none.no_hessian = "the data input 'c' is a constant";
  Result<QuantizedWeight> g = MakeGptq()->Round(*scheme, view, none);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->rounding->fallback, none.no_hessian);
}

TEST(GptqTest, Nf4BlocksAcrossRowsTakeStaticGroups) {
  constexpr int64_t kOddK = 96;  // not a multiple of nf4's 64: blocks cross rows
  const InputHessian h = CorrelatedHessian(12, kOddK);
  const std::vector<float> w = GaussianWeight(kN, kOddK, 13);
  const std::unique_ptr<Scheme> nf4 = Make("nf4");
  Result<QuantizedWeight> g = MakeGptq()->Round(*nf4, {"Wodd", w.data(), {kN, kOddK}, -1}, WithHessian(h));
  Result<QuantizedWeight> rtn = nf4->QuantizeWeight({"Wodd", w.data(), {kN, kOddK}, -1});
  ASSERT_TRUE(g.ok() && rtn.ok());
  EXPECT_EQ(g->rounding->applied, "gptq") << g->rounding->fallback;
  EXPECT_TRUE(g->rounding->static_groups);
  // Static groups: the absmax values are RTN's.
  EXPECT_EQ(g->blockwise->scales, rtn->blockwise->scales);
  const double gptq_error = OutputError(w, Decode(g.value(), kN, kOddK), kN, kOddK, h.xtx);
  const double rtn_error = OutputError(w, Decode(rtn.value(), kN, kOddK), kN, kOddK, h.xtx);
  EXPECT_LE(gptq_error, kMaxGptqToRtnRatio * rtn_error) << gptq_error << " vs rtn " << rtn_error;
  // int4 blocks follow the rows whatever K is (a partial block ends each row).
  Result<QuantizedWeight> int4 =
      MakeGptq()->Round(*Make("int4-asym"), {"Wodd", w.data(), {kN, kOddK}, -1}, WithHessian(h));
  ASSERT_TRUE(int4.ok());
  EXPECT_EQ(int4->rounding->applied, "gptq") << int4->rounding->fallback;
  EXPECT_FALSE(int4->rounding->static_groups);
}

TEST(GptqTest, TakesEverySchemeWithAGrid) {
  const std::unique_ptr<WeightRounding> gptq = MakeGptq();
  std::string reason;
  EXPECT_TRUE(gptq->TakesScheme(*Make("int8-sym"), &reason)) << reason;
  EXPECT_TRUE(gptq->TakesScheme(*Make("int4-sym"), &reason)) << reason;
  EXPECT_TRUE(gptq->NeedsCalibrationData());
  EXPECT_FALSE(MakeRoundToNearest()->NeedsCalibrationData());
}

TEST(GptqTest, SameBytesForEveryThreadCount) {
  const InputHessian h = CorrelatedHessian(14);
  constexpr int64_t kManyRows = 200;  // several row tasks
  const std::vector<float> w = GaussianWeight(kManyRows, kK, 15);
  const WeightView view{"W", w.data(), {kManyRows, kK}, -1};
  for (bool act_order : {false, true}) {
    const std::unique_ptr<Scheme> scheme = Make("int4-asym");
    Result<QuantizedWeight> one = MakeGptq(Options(act_order, 0.01, 1))->Round(*scheme, view, WithHessian(h));
    Result<QuantizedWeight> three = MakeGptq(Options(act_order, 0.01, 3))->Round(*scheme, view, WithHessian(h));
    ASSERT_TRUE(one.ok() && three.ok());
    EXPECT_EQ(one->blockwise->codes, three->blockwise->codes);
    EXPECT_EQ(one->blockwise->scales, three->blockwise->scales);
    EXPECT_EQ(one->blockwise->zero_points, three->blockwise->zero_points);
    EXPECT_EQ(*one->rounding->output_error, *three->rounding->output_error);
  }
}

// GPTQ's values lie on the grid, and coding them gives them back bit for bit:
// the rounding reports its output error from them without a dequantized copy.
TEST(GptqTest, ItsValuesAreWhatTheWrittenModelReadsBack) {
  const InputHessian h = CorrelatedHessian(16);
  const std::vector<float> w = GaussianWeight(kN, kK, 17);
  Result<GptqFactor> factor = FactorHessian(h.xtx, 0.01);
  ASSERT_TRUE(factor.ok()) << factor.status().ToString();
  for (const std::string& name : {"nf4", "int4-sym", "int4-asym", "int8-sym", "int8-asym"}) {
    const std::unique_ptr<Scheme> scheme = Make(name);
    for (bool act_order : {false, true}) {
      const std::shared_ptr<const WeightGrid> grid = scheme->Grid(/*per_channel=*/true, /*transposed=*/false);
      ASSERT_NE(grid, nullptr) << name;
      const std::vector<int64_t> order = act_order ? ActOrder(h.xtx) : std::vector<int64_t>{};
      Result<GptqFactor> used = act_order ? FactorHessian(Permuted(h.xtx, order), 0.01) : factor;
      ASSERT_TRUE(used.ok());
      GptqSettings settings;
      settings.act_order = act_order;
      const GptqRounded rounded = GptqRound(*grid, w.data(), kN, kK, used.value(), order, settings);
      const WeightView view{"W", w.data(), {kN, kK}, 0};
      std::vector<float> read_back;
      Result<QuantizedWeight> q = grid->QuantizeWithParams(view, rounded.values.data(), rounded.params, &read_back);
      ASSERT_TRUE(q.ok()) << name << ": " << q.status().ToString();
      ASSERT_EQ(read_back.size(), rounded.values.size());
      for (size_t i = 0; i < read_back.size(); ++i) {
        ASSERT_EQ(read_back[i], rounded.values[i]) << name << (act_order ? " act-order" : "") << " at " << i;
      }
    }
  }
}

TEST(GptqTest, NanWeightIsRefusedNamingTheTensor) {
  const InputHessian h = CorrelatedHessian(16);
  std::vector<float> w = GaussianWeight(kN, kK, 17);
  w[9] = std::nanf("");
  Result<QuantizedWeight> g = MakeGptq()->Round(*Make("nf4"), {"Wnan", w.data(), {kN, kK}, -1}, WithHessian(h));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(g.status().message().find("Wnan"), std::string::npos);
}

}  // namespace
}  // namespace pq::quant
