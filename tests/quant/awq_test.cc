// AWQ's parts (src/quant/awq_search.cc, awq_fold.cc): the scales and their
// normalisation, the search (never worse than round-to-nearest on the data it
// is measured on; a clear gain on inputs with a few large features), and the
// rewrite, which must leave the FP32 model's outputs unchanged (within
// float rounding) wherever 1/s goes: into a Mul by a constant, a
// SimplifiedLayerNormalization's scale, a preceding MatMul's columns, or an
// inserted Mul; on a small graph and on the sample LLM. In exact-only form
// (--smoothquant) a scaling with no exact fold is left out, its weights untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/kernel_test_util.h"
#include "pq/executor.h"
#include "quant/awq_fold.h"
#include "quant/awq_search.h"
#include "quant/scheme_bases.h"
#include "quant/stage_fixtures.h"
#include "testutil/temp_dir.h"

namespace pq::quant {
namespace {

// Outputs of the rewritten FP32 model may differ from the original's by float
// rounding only: relative to the largest output value.
constexpr double kMaxRewriteError = 1e-5;
// On inputs with a few large features, AWQ must bring the summed output error
// at least this far below round-to-nearest's.
constexpr double kMaxAwqToRtnRatio = 0.9;

std::vector<float> RandomScales(int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.25f, 4.0f);
  std::vector<float> s(static_cast<size_t>(k));
  for (float& v : s) v = u(rng);
  return s;
}

double MaxRelativeDifference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const std::vector<double> x = testing::Values(a[i]), y = testing::Values(b[i]);
    EXPECT_EQ(x.size(), y.size());
    double top = 0, diff = 0;
    for (size_t j = 0; j < x.size() && j < y.size(); ++j) {
      top = std::max(top, std::abs(x[j]));
      diff = std::max(diff, std::abs(x[j] - y[j]));
    }
    worst = std::max(worst, top > 0 ? diff / top : diff);
  }
  return worst;
}

std::vector<Tensor> RunModel(const Model& model, const std::map<std::string, Tensor>& feeds) {
  auto executor = Executor::Create(model);
  EXPECT_TRUE(executor.ok()) << executor.status().ToString();
  auto out = executor.value()->Run(feeds);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>{};
}

// X[-1, 16] -> Mul(g) -> N -> MatMul(Wq) -> Q -> SimplifiedLayerNormalization(gq) -> L -> MatMul(W2) -> Y1
//                         \-> MatMul(Wk) -> K -> MatMul(W3) -> Y2        (Shape(N) -> S -> unused by outputs)
// X -> MatMul(Wp) -> P -> MatMul(W4) -> Y3;  X -> Relu -> Y4
onnx::ModelProto FoldProto() {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 16}).Output("Y1", {-1, 4}).Output("Y2", {-1, 4}).Output("Y3", {-1, 4}).Output("Y4", {-1, 16});
  b.Weight("g", {16}, 1).Weight("Wq", {16, 8}, 2).Weight("Wk", {16, 8}, 3).Weight("gq", {8}, 4);
  b.Weight("W2", {8, 4}, 5).Weight("W3", {8, 4}, 6).Weight("Wp", {16, 8}, 7).Weight("W4", {8, 4}, 8);
  b.Node("Mul", {"X", "g"}, {"N"}, "norm_mul");
  b.Node("Shape", {"N"}, {"S"}, "shape");
  b.Node("MatMul", {"N", "Wq"}, {"Q"}, "q");
  b.Node("MatMul", {"N", "Wk"}, {"K"}, "k");
  b.Node("SimplifiedLayerNormalization", {"Q", "gq"}, {"L"}, "norm_q");
  b.Node("MatMul", {"L", "W2"}, {"Y1"}, "mm2");
  b.Node("MatMul", {"K", "W3"}, {"Y2"}, "mm3");
  b.Node("MatMul", {"X", "Wp"}, {"P"}, "p");
  b.Node("MatMul", {"P", "W4"}, {"Y3"}, "mm4");
  b.Node("Relu", {"X"}, {"Y4"}, "relu");
  return b.proto();
}

int NodeIndex(const Model& m, const std::string& name) {
  for (int i = 0; i < m.proto().graph().node_size(); ++i) {
    if (m.proto().graph().node(i).name() == name) return i;
  }
  return -1;
}

TEST(AwqScalesTest, NormalisedToGeometricMidpointAndOneAtAlphaZero) {
  Eigen::VectorXd m(4);
  m << 0.5, 2.0, 8.0, 0.0;
  for (float s : AwqScales(m, 0.0)) EXPECT_EQ(s, 1.0f);
  const std::vector<float> s = AwqScales(m, 0.5);
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  EXPECT_NEAR(double{*lo} * double{*hi}, 1.0, 1e-5);
  EXPECT_NEAR(s[2] / s[1], 2.0, 1e-5);  // (8 / 2)^0.5
  EXPECT_TRUE(std::isfinite(s[3]) && s[3] > 0);  // a dead feature gets a finite scale
}

TEST(AwqFoldTest, IdentityGridRewriteKeepsEveryOutput) {
  const std::unique_ptr<Model> model = testing::ModelOf(FoldProto());
  ASSERT_NE(model, nullptr);
  std::vector<InputScaling> scalings = {
      {"N", {NodeIndex(*model, "q"), NodeIndex(*model, "k")}, RandomScales(16, 1)},
      {"L", {NodeIndex(*model, "mm2")}, RandomScales(8, 2)},
      {"P", {NodeIndex(*model, "mm4")}, RandomScales(8, 3)},
      {"K", {NodeIndex(*model, "mm3")}, RandomScales(8, 4)},   // Wk is scaled itself: a Mul is inserted
  };
  Result<ScaledModel> scaled = ApplyInputScales(*model, scalings);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  ASSERT_EQ(scaled->folds.size(), 4u);
  EXPECT_EQ(scaled->folds[0].folded_into, "Mul 'norm_mul'");
  EXPECT_EQ(scaled->folds[1].folded_into, "SimplifiedLayerNormalization 'norm_q'");
  EXPECT_EQ(scaled->folds[2].folded_into, "MatMul 'p'");
  EXPECT_TRUE(scaled->folds[3].inserted);
  EXPECT_NE(scaled->folds[3].input, "K");
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(5 * 16);
  for (float& v : x) v = normal(rng);
  const std::map<std::string, Tensor> feeds = {{"X", testing::Floats({5, 16}, x)}};
  const std::vector<Tensor> before = RunModel(*model, feeds), after = RunModel(*scaled->model, feeds);
  EXPECT_LE(MaxRelativeDifference(before, after), kMaxRewriteError);
  // The weights do hold W diag(s): Wq's row k scaled by s_k.
  const ConstantTensor* wq0 = model->FindConstant("Wq");
  const ConstantTensor* wq1 = scaled->model->FindConstant("Wq");
  const float* a = reinterpret_cast<const float*>(wq0->data);
  const float* c = reinterpret_cast<const float*>(wq1->data);
  EXPECT_FLOAT_EQ(c[3 * 8 + 1], a[3 * 8 + 1] * scalings[0].scales[3]);
}

TEST(AwqFoldTest, InputReadByAnotherNodeGetsAMul) {
  const std::unique_ptr<Model> model = testing::ModelOf(FoldProto());
  ASSERT_NE(model, nullptr);
  // X is read by p, and by Relu: 1/s cannot go upstream.
  Result<ScaledModel> scaled = ApplyInputScales(*model, {{"X", {NodeIndex(*model, "p")}, RandomScales(16, 6)}});
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  EXPECT_TRUE(scaled->folds[0].inserted);
  std::vector<float> x(3 * 16);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i)) * 3;
  const std::map<std::string, Tensor> feeds = {{"X", testing::Floats({3, 16}, x)}};
  EXPECT_LE(MaxRelativeDifference(RunModel(*model, feeds), RunModel(*scaled->model, feeds)), kMaxRewriteError);
}

TEST(AwqFoldTest, RefusesAWeightReadElsewhere) {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 4}).Output("Y", {-1, 4}).Output("Z", {-1, 4});
  b.Weight("W", {4, 4}, 1);
  b.Node("MatMul", {"X", "W"}, {"Y"}, "mm");
  b.Node("Add", {"X", "W"}, {"Z"}, "add");
  const std::unique_ptr<Model> model = testing::ModelOf(b.proto());
  Result<ScaledModel> scaled = ApplyInputScales(*model, {{"X", {0}, RandomScales(4, 1)}});
  ASSERT_FALSE(scaled.ok());
  EXPECT_NE(scaled.status().message().find("'W'"), std::string::npos) << scaled.status().message();
}

// --smoothquant's exact-only fold: X[-1, 8] -> LayerNormalization(g, b) -> N -> MatMul(W1) -> Y1;  X -> MatMul(W2) -> Y2, X -> Relu -> Y3
onnx::ModelProto LayerNormProto() {
  testing::GraphBuilder b(17);
  b.Input("X", {-1, 8}).Output("Y1", {-1, 4}).Output("Y2", {-1, 4}).Output("Y3", {-1, 8});
  b.Weight("g", {8}, 1).Weight("b", {8}, 2).Weight("W1", {8, 4}, 3).Weight("W2", {8, 4}, 4);
  b.Node("LayerNormalization", {"X", "g", "b"}, {"N"}, "ln");
  b.Node("MatMul", {"N", "W1"}, {"Y1"}, "mm1");
  b.Node("MatMul", {"X", "W2"}, {"Y2"}, "mm2");
  b.Node("Relu", {"X"}, {"Y3"}, "relu");
  return b.proto();
}

TEST(AwqFoldTest, ExactOnlyFoldsIntoLayerNormAndLeavesOutWhatHasNoExactFold) {
  const std::unique_ptr<Model> model = testing::ModelOf(LayerNormProto());
  ASSERT_NE(model, nullptr);
  const std::vector<float> s1 = {0.5f, 2, 3, 0.25f, 1, 4, 0.75f, 1.5f};
  const std::vector<float> s2 = {2, 2, 2, 2, 2, 2, 2, 2};
  Result<ScaledModel> scaled = ApplyInputScales(*model, {{"N", {1}, s1}, {"X", {2}, s2}}, /*exact_only=*/true);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  ASSERT_EQ(scaled->folds.size(), 2u);
  EXPECT_TRUE(scaled->folds[0].applied);
  EXPECT_EQ(scaled->folds[0].folded_into, "LayerNormalization 'ln'");
  EXPECT_FALSE(scaled->folds[1].applied);  // X is a graph input, read by Relu too
  EXPECT_FALSE(scaled->folds[1].inserted);
  EXPECT_EQ(testing::CountOpType(*scaled->model, "Mul"), 0);
  // W2 is untouched, W1 holds diag(s1) W1, g and b hold g / s1 and b / s1.
  auto floats = [](const Model& m, const std::string& name) {
    const ConstantTensor* c = m.FindConstant(name);
    const float* p = reinterpret_cast<const float*>(c->data);
    return std::vector<float>(p, p + c->element_count);
  };
  EXPECT_EQ(floats(*scaled->model, "W2"), floats(*model, "W2"));
  EXPECT_FLOAT_EQ(floats(*scaled->model, "W1")[5 * 4 + 2], floats(*model, "W1")[5 * 4 + 2] * 4);
  EXPECT_FLOAT_EQ(floats(*scaled->model, "b")[3], floats(*model, "b")[3] / 0.25f);
  std::vector<float> x(6 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 3 * std::sin(0.9f * static_cast<float>(i)) + (i % 8 == 2 ? 20 : 0);
  const std::map<std::string, Tensor> feeds = {{"X", testing::Floats({6, 8}, x)}};
  EXPECT_LE(MaxRelativeDifference(RunModel(*model, feeds), RunModel(*scaled->model, feeds)), kMaxRewriteError);
}

// Every decoder layer's q/k/v, gate/up, o and down inputs scaled at random:
// the sample LLM's logits and presents stay those of the original.
TEST(AwqFoldTest, SampleLlmUnchangedByRandomScales) {
  Result<std::unique_ptr<Model>> model = Model::Load(testing::ModelsDir() + "/tiny_llm/tiny_llm_optimum.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const onnx::GraphProto& g = model.value()->proto().graph();
  std::map<std::string, std::vector<int>> readers;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (n.op_type() == "MatMul" && model.value()->FindConstant(n.input(1)) != nullptr) readers[n.input(0)].push_back(i);
  }
  std::vector<InputScaling> scalings;
  uint32_t seed = 1;
  for (const auto& [input, nodes] : readers) {
    const int64_t k = model.value()->FindConstant(g.node(nodes.front()).input(1))->dims[0];
    scalings.push_back({input, nodes, RandomScales(k, seed++)});
  }
  ASSERT_GE(scalings.size(), 17u);  // 4 layers x 4 inputs + lm_head
  Result<ScaledModel> scaled = ApplyInputScales(*model.value(), scalings);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  int folded = 0;
  for (const ScaleFold& f : scaled->folds) folded += f.inserted ? 0 : 1;
  EXPECT_EQ(folded, 9);  // the 8 RMSNorm weights and the final norm's
  constexpr int64_t kTokens = 8;
  std::vector<int64_t> ids(kTokens), positions(kTokens), mask(kTokens, 1);
  for (int64_t t = 0; t < kTokens; ++t) {
    ids[static_cast<size_t>(t)] = 1 + 37 * t % 1500;
    positions[static_cast<size_t>(t)] = t;
  }
  std::map<std::string, Tensor> feeds = {{"input_ids", testing::Int64s({1, kTokens}, ids)},
                                         {"attention_mask", testing::Int64s({1, kTokens}, mask)},
                                         {"position_ids", testing::Int64s({1, kTokens}, positions)}};
  for (int layer = 0; layer < 4; ++layer) {
    for (const char* kv : {"key", "value"}) {
      feeds.emplace("past_key_values." + std::to_string(layer) + "." + kv, testing::Floats({1, 2, 0, 32}, {}));
    }
  }
  EXPECT_LE(MaxRelativeDifference(RunModel(*model.value(), feeds), RunModel(*scaled->model, feeds)),
            kMaxRewriteError);
}

// Inputs whose features 0..3 are 20x larger than the rest.
struct OutlierData {
  Eigen::MatrixXd h;
  Eigen::VectorXd mean_abs;
};
OutlierData MakeOutlierData(int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd x(rows, k);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < k; ++c) x(r, c) = normal(rng) * (c < 4 ? 20.0 : 1.0);
  }
  return {x.transpose() * x, x.cwiseAbs().colwise().mean().transpose()};
}

TEST(AwqSearchTest, NeverWorseThanRoundToNearestAndBetterWithOutlierInputs) {
  constexpr int64_t kK = 64, kN = 32;
  const OutlierData data = MakeOutlierData(512, kK, 3);
  for (const char* name : {"nf4", "int4-sym", "int4-asym"}) {
    SCOPED_TRACE(name);
    SchemeOptions options;
    options.block_size = 32;
    const std::unique_ptr<Scheme> scheme = MakeScheme(name, options).value();
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<float> w1(kN * kK), w2(kN * kK);
    for (float& v : w1) v = normal(rng);
    for (float& v : w2) v = normal(rng);
    const BlockwiseWeightScheme* grid = scheme->AsBlockwise();
    const AwqChoice c = AwqSearch({{w1.data(), kN, grid}, {w2.data(), kN, grid}}, kK, data.h, data.mean_abs, 2);
    ASSERT_EQ(c.error_by_alpha.size(), static_cast<size_t>(kAwqGridSteps + 1));
    const double best = *std::min_element(c.error_by_alpha.begin(), c.error_by_alpha.end());
    EXPECT_LE(best, c.error_by_alpha.front());
    EXPECT_GT(c.alpha, 0.0);
    EXPECT_LE(best, kMaxAwqToRtnRatio * c.error_by_alpha.front());
    for (size_t i = 0; i < 2; ++i) EXPECT_LT(c.error_awq[i], c.error_rtn[i]);
    // Same answer for one thread.
    const AwqChoice one = AwqSearch({{w1.data(), kN, grid}, {w2.data(), kN, grid}}, kK, data.h, data.mean_abs, 1);
    EXPECT_EQ(one.alpha, c.alpha);
    EXPECT_EQ(one.error_by_alpha, c.error_by_alpha);
  }
}

TEST(AwqSearchTest, AlphaZeroRoundTripIsRoundToNearest) {
  const std::unique_ptr<Scheme> scheme = MakeScheme("int4-asym").value();
  const BlockwiseWeightScheme* grid = scheme->AsBlockwise();
  std::vector<float> w(4 * 64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.3f * static_cast<float>(i));
  const std::vector<float> q = AwqRoundTrip(*grid, w.data(), 4, 64, std::vector<float>(64, 1.0f));
  const std::vector<BlockParams> params = grid->FitBlocks(w.data(), 4, 64);
  for (int64_t r = 0; r < 4; ++r) {
    for (int64_t c = 0; c < 64; ++c) {
      EXPECT_EQ(q[static_cast<size_t>(r * 64 + c)],
                grid->RoundToGrid(w[static_cast<size_t>(r * 64 + c)], params[static_cast<size_t>(grid->BlockOf(r, c, 64))]));
    }
  }
}

}  // namespace
}  // namespace pq::quant
