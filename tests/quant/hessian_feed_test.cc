// Tests of the segmented Hessian stage (src/quant/hessian_feed.cc and
// hessian_segments.cc): segments forced small give the weights the one-pass
// stage gives, bit for bit, while holding at most one segment's Hessians
// (plus those a tied weight still needs).
#include "quant/hessian_feed.h"

#include <gtest/gtest.h>

#include <random>

#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/decide.h"
#include "quant/scheme_set.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kFeatures = 64;
constexpr int64_t kSamples = 40;
constexpr int64_t kInputs = 6;  // X, R0, S0, R1, S1, R2

// Three residual layers; X is read by Wq0 and Wk0, and Wt is tied: read
// from R0 in layer 0 and from R2 in layer 2 (its X^T X sums both).
//   Q0 = X Wq0, K0 = X Wk0, R0 = Relu(Q0 + K0), S0 = X + R0 Wt
//   R1 = Relu(S0 Wq1), S1 = S0 + R1 Wd1
//   R2 = Relu(S1 Wq2), Y = S1 + R2 Wt
onnx::ModelProto LayeredProto() {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, kFeatures}).Output("Y", {-1, kFeatures});
  uint32_t seed = 1;
  for (const char* w : {"Wq0", "Wk0", "Wt", "Wq1", "Wd1", "Wq2"}) b.Weight(w, {kFeatures, kFeatures}, seed++);
  b.Node("MatMul", {"X", "Wq0"}, {"Q0"}, "q0");
  b.Node("MatMul", {"X", "Wk0"}, {"K0"}, "k0");
  b.Node("Add", {"Q0", "K0"}, {"H0"});
  b.Node("Relu", {"H0"}, {"R0"});
  b.Node("MatMul", {"R0", "Wt"}, {"T0"}, "t0");
  b.Node("Add", {"X", "T0"}, {"S0"});
  b.Node("MatMul", {"S0", "Wq1"}, {"Q1"}, "q1");
  b.Node("Relu", {"Q1"}, {"R1"});
  b.Node("MatMul", {"R1", "Wd1"}, {"D1"}, "d1");
  b.Node("Add", {"S0", "D1"}, {"S1"});
  b.Node("MatMul", {"S1", "Wq2"}, {"Q2"}, "q2");
  b.Node("Relu", {"Q2"}, {"R2"});
  b.Node("MatMul", {"R2", "Wt"}, {"T2"}, "t2");
  b.Node("Add", {"S1", "T2"}, {"Y"});
  return b.proto();
}

class HessianFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::ModelOf(LayeredProto());
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(kSamples * kFeatures));
    for (float& v : x) v = normal(rng);
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(testing::Floats({kSamples, kFeatures}, x)));
    options_.scheme = "int4-sym";
    options_.weight_algo = "gptq";
    options_.calib_paths = {dir_.File("calib.npy")};
    options_.calib_batch = 3;  // a short last batch
    schemes_ = std::make_unique<SchemeSet>(MakeSchemeSet(options_).value());
    plan_ = BuildPlan(*model_, options_, false, true, *schemes_);
    rounding_ = MakeWeightRounding("gptq", {}).value();
  }

  Decisions DecideWith(HessianFeed* feed) {
    Result<Decisions> d = Decide(*model_, plan_, {}, feed, *schemes_, *rounding_, options_, "m.onnx");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(d).value() : Decisions{};
  }

  std::unique_ptr<SegmentedHessians> Segmented(int64_t budget) {
    auto feed = SegmentedHessians::Open(*model_, plan_, options_, budget, {});
    EXPECT_TRUE(feed.ok()) << feed.status().ToString();
    return feed.ok() ? std::move(feed).value() : nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  QuantizeOptions options_;
  std::unique_ptr<SchemeSet> schemes_;
  QuantPlan plan_;
  std::unique_ptr<WeightRounding> rounding_;
};

// What a decided weight holds: its packed values, scales and rounding.
std::string Contents(const ConstantDecision& d) {
  std::string s = d.record.name + ":" + d.rewrite.data;
  if (d.rewrite.blockwise) {
    s += d.rewrite.blockwise->codes + d.rewrite.blockwise->zero_points;
    for (float v : d.rewrite.blockwise->scales) s += std::to_string(v) + ",";
  }
  if (d.record.rounding) s += d.record.rounding->applied + std::to_string(d.record.rounding->rows);
  return s;
}

TEST_F(HessianFeedTest, SmallSegmentsRoundEveryWeightAsTheOnePassStageDoes) {
  ASSERT_EQ(HessianInputsOf(*model_, plan_).size(), static_cast<size_t>(kInputs));
  Result<LayerHessians> all = CollectHessians(*model_, plan_, options_, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::unique_ptr<HessianFeed> held = HeldHessianFeed(std::move(all).value(), plan_.constants.size());
  const Decisions one_pass = DecideWith(held.get());
  ASSERT_EQ(one_pass.constants.size(), 6u);
  int gptq_rounded = 0;
  for (const ConstantDecision& d : one_pass.constants) {
    gptq_rounded += d.record.rounding && d.record.rounding->applied == "gptq";
    EXPECT_EQ(d.record.rounding->rows, d.record.name == "Wt" ? 2 * kSamples : kSamples);  // Wt: R0's and R2's
  }
  EXPECT_GT(gptq_rounded, 0);  // else the comparison would not test GPTQ
  for (int64_t budget : {int64_t{1}, 2 * HessianBytes({"", false, kFeatures}), int64_t{1} << 40}) {
    std::unique_ptr<SegmentedHessians> feed = Segmented(budget);
    ASSERT_NE(feed, nullptr);
    const Decisions segmented = DecideWith(feed.get());
    ASSERT_EQ(segmented.constants.size(), one_pass.constants.size());
    for (size_t i = 0; i < one_pass.constants.size(); ++i) {
      EXPECT_EQ(Contents(segmented.constants[i]), Contents(one_pass.constants[i])) << "budget " << budget;
    }
    EXPECT_EQ(segmented.warnings, one_pass.warnings);
  }
}

TEST_F(HessianFeedTest, HoldsOneSegmentsHessiansAndWhatATiedWeightStillNeeds) {
  const int64_t one = HessianBytes({"", false, kFeatures});
  std::unique_ptr<SegmentedHessians> feed = Segmented(1);  // every producing step its own segment
  ASSERT_NE(feed, nullptr);
  ASSERT_EQ(feed->segments().size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(feed->segments().front().begin, 0u);
  for (size_t s = 0; s + 1 < feed->segments().size(); ++s) {
    EXPECT_EQ(feed->segments()[s].end, feed->segments()[s + 1].begin);
  }
  // The last segment ends where R2 is produced: Wt's MatMul and the final
  // Add are not run.
  EXPECT_EQ(feed->segments().back().end, 12u);
  std::vector<std::vector<size_t>> ready;
  while (true) {
    Result<bool> more = feed->Next();
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!more.value()) break;
    ready.push_back(feed->ready());
    EXPECT_LE(static_cast<int64_t>(feed->hessians().by_input.size()), 2);
  }
  // R0's X^T X waits for R2's (Wt), so two are held at most; never all six.
  EXPECT_EQ(feed->peak_held_bytes(), 2 * one);
  EXPECT_LT(feed->peak_held_bytes(), kInputs * one);
  ASSERT_EQ(ready.size(), static_cast<size_t>(kInputs));
  EXPECT_EQ(ready[1].size(), 0u);  // R0: Wt waits for R2
  EXPECT_EQ(ready.front().size(), 2u);  // X: Wq0 and Wk0
  EXPECT_EQ(ready.back().size(), 1u);   // R2: Wt, with R0's X^T X kept for it
  // A budget of everything: one segment holding every Hessian.
  std::unique_ptr<SegmentedHessians> whole = Segmented(int64_t{1} << 40);
  ASSERT_EQ(whole->segments().size(), 1u);
  ASSERT_TRUE(whole->Next().value());
  EXPECT_EQ(whole->peak_held_bytes(), kInputs * one);
}

TEST_F(HessianFeedTest, SameModelForAnyBudgetThroughQuantize) {
  options_.hessian_budget_bytes = 1;
  Result<QuantizeOutcome> small = Quantize(*model_, options_, {});
  options_.hessian_budget_bytes = int64_t{1} << 40;
  Result<QuantizeOutcome> large = Quantize(*model_, options_, {});
  ASSERT_TRUE(small.ok() && large.ok()) << small.status().ToString() << large.status().ToString();
  EXPECT_EQ(small->model->proto().SerializeAsString(), large->model->proto().SerializeAsString());
  EXPECT_EQ(small->rounding_data.samples, kSamples);
}

}  // namespace
}  // namespace pq::quant
