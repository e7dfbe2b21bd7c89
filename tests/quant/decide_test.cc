// Direct tests of src/quant/decide_activations.cc and decide_constants.cc:
// owners take scheme.ActivationParams(range), sharers copy their owner's
// parameters, activations without uses give no decision; every constant
// decision pairs record and rewrite with equal parameters; NaN weights are
// refused with the model's origin first.
#include "quant/decide.h"

#include <gtest/gtest.h>

#include <cmath>

#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

using testing::Mentions;

// Ranges for ConvMlpProto's owners X, R, M (by hand: no calibration).
ActivationStats HandStats() {
  ActivationStats s;
  const std::vector<std::tuple<std::string, float, float>> ranges = {
      {"X", -1.5f, 2.0f}, {"R", 0.0f, 3.25f}, {"M", -0.75f, 0.5f}};
  for (const auto& [name, lo, hi] : ranges) {
    CalibratedRange r;
    r.method = "minmax";
    r.observed_min = lo;
    r.observed_max = hi;
    r.chosen_min = lo;
    r.chosen_max = hi;
    s.ranges[name] = r;
  }
  return s;
}

void ExpectSameParams(const QuantParams& a, const QuantParams& b) {
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.zero_point, b.zero_point);
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.block_size, b.block_size);
}

struct Staged {
  std::unique_ptr<Model> model;
  SchemeSet schemes;
  QuantPlan plan;
  QuantizeOptions options;
};

Staged StageFor(const std::string& scheme, float poison = 0.0f) {
  Staged s;
  s.model = testing::ModelOf(testing::ConvMlpProto(13, poison), "my_model.onnx");
  s.options.scheme = scheme;
  s.schemes = std::move(MakeSchemeSet(s.options)).value();
  s.plan = BuildPlan(*s.model, s.options, true, true, *s.schemes.main, nullptr);
  return s;
}

TEST(DecideActivationsTest, OwnersTakeTheSchemesParamsAndSharersCopyTheOwners) {
  for (const std::string scheme : {"int8-sym", "int8-asym"}) {
    SCOPED_TRACE(scheme);
    Staged s = StageFor(scheme);
    const ActivationStats stats = HandStats();
    std::map<std::string, QuantParams> params;
    Result<std::vector<ActivationDecision>> d =
        DecideActivations(*s.model, s.plan, stats, *s.schemes.main, scheme, &params);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_EQ(d->size(), 5u);  // X, C, R, F, M
    for (const ActivationDecision& a : d.value()) {
      SCOPED_TRACE(a.record.name);
      EXPECT_EQ(a.record.role, TensorRole::kActivation);
      EXPECT_EQ(a.record.scheme, scheme);
      EXPECT_EQ(a.rewrite.tensor, a.record.name);
      ExpectSameParams(a.rewrite.params, a.record.params);
      ExpectSameParams(params.at(a.record.name), a.record.params);
      if (stats.ranges.count(a.record.name)) {
        const CalibratedRange& r = stats.ranges.at(a.record.name);
        ExpectSameParams(a.record.params, s.schemes.main->ActivationParams(r.chosen_min, r.chosen_max));
        ASSERT_TRUE(a.record.range.has_value());
        EXPECT_EQ(a.record.range->chosen_max, r.chosen_max);
        EXPECT_EQ(a.record.shares_params_with, "");
      } else {
        EXPECT_EQ(a.record.shares_params_with, "R");
        EXPECT_FALSE(a.record.range.has_value());
        const CalibratedRange& r = stats.ranges.at("R");
        ExpectSameParams(a.record.params, s.schemes.main->ActivationParams(r.chosen_min, r.chosen_max));
      }
    }
  }
}

TEST(DecideActivationsTest, ActivationWithoutUsesHasParamsButNoDecision) {
  Staged s = StageFor("int8-sym");
  ActivationStats stats = HandStats();
  stats.ranges["Z"] = stats.ranges.at("M");
  s.plan.activations.push_back({"Z", "", {}});
  s.plan.activations.push_back({"Z2", "Z", {}});
  std::map<std::string, QuantParams> params;
  Result<std::vector<ActivationDecision>> d =
      DecideActivations(*s.model, s.plan, stats, *s.schemes.main, "int8-sym", &params);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->size(), 5u);
  for (const ActivationDecision& a : d.value()) EXPECT_NE(a.record.name.substr(0, 1), "Z");
  ASSERT_EQ(params.count("Z"), 1u);
  ASSERT_EQ(params.count("Z2"), 1u);
  ExpectSameParams(params.at("Z2"), params.at("Z"));
}

TEST(DecideActivationsTest, OwnerWithoutRangeIsAnInternalError) {
  Staged s = StageFor("int8-sym");
  ActivationStats stats = HandStats();
  stats.ranges.erase("M");
  std::map<std::string, QuantParams> params;
  auto d = DecideActivations(*s.model, s.plan, stats, *s.schemes.main, "int8-sym", &params);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kInternal);
  EXPECT_TRUE(Mentions(d.status().message(), "'M'")) << d.status().message();
}

TEST(DecideTest, ConstantDecisionsPairRecordAndRewriteWithEqualParams) {
  Staged s = StageFor("int8-sym");
  const ActivationStats stats = HandStats();
  Result<Decisions> d = Decide(*s.model, s.plan, stats, {}, s.schemes, *MakeRoundToNearest(), s.options, "my_model.onnx");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->constants.size(), s.plan.constants.size());
  std::map<std::string, QuantParams> weights;
  for (size_t i = 0; i < d->constants.size(); ++i) {
    const ConstantDecision& c = d->constants[i];
    SCOPED_TRACE(c.record.name);
    EXPECT_EQ(c.record.name, s.plan.constants[i].tensor) << "plan order";
    EXPECT_EQ(c.rewrite.tensor, c.record.name);
    EXPECT_EQ(c.rewrite.shape, c.record.shape);
    EXPECT_EQ(c.rewrite.uses, s.plan.constants[i].uses);
    ExpectSameParams(c.rewrite.params, c.record.params);
    EXPECT_FALSE(c.rewrite.data.empty());
    EXPECT_TRUE(c.record.error.has_value());
    if (c.record.role == TensorRole::kWeight) weights[c.record.name] = c.record.params;
  }
  // Biases: scale = input activation scale x weight scale (Bc: X's x Wc's).
  for (const ConstantDecision& c : d->constants) {
    if (c.record.name != "Bc") continue;
    EXPECT_EQ(c.record.role, TensorRole::kBias);
    const QuantParams x = s.schemes.main->ActivationParams(-1.5f, 2.0f);
    ASSERT_EQ(c.record.params.scale.size(), weights.at("Wc").scale.size());
    for (size_t k = 0; k < c.record.params.scale.size(); ++k) {
      EXPECT_EQ(c.record.params.scale[k], x.scale[0] * weights.at("Wc").scale[k]);
    }
  }
  EXPECT_EQ(d->activations.size(), 5u);
}

TEST(DecideTest, NanWeightIsRefusedWithTheOriginFirst) {
  Staged s = StageFor("int8-sym", std::nanf(""));
  Result<Decisions> d =
      Decide(*s.model, s.plan, HandStats(), {}, s.schemes, *MakeRoundToNearest(), s.options, "my_model.onnx");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(d.status().message().rfind("my_model.onnx", 0), 0u) << d.status().message();
  EXPECT_TRUE(Mentions(d.status().message(), "Wm")) << d.status().message();
}

}  // namespace
}  // namespace pq::quant
