// Direct tests of src/quant/weight_rounding.cc and round_to_nearest.cc: the
// table ("rtn" first), the factory's refusal, RTN equal to each scheme's own
// QuantizeWeight, and how Quantize and WeightRoundingAlgorithms() expose it.
#include "quant/weight_rounding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "pq/quantize.h"
#include "testutil/model_builder.h"

namespace pq::quant {
namespace {

bool Mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<float> FixedSeedWeight(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(count);
  for (float& v : w) v = dist(rng);
  return w;
}

TEST(WeightRoundingTest, TableStartsWithRtnAndEveryRowMakesItself) {
  const auto& table = WeightRoundingTable();
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(std::string(table.front().name), "rtn");
  std::set<std::string> names;
  for (const WeightRoundingEntry& e : table) {
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate name";
    EXPECT_GT(std::string(e.summary).size(), 0u);
    ASSERT_NE(e.create, nullptr);
    EXPECT_EQ(std::string(e.create({})->Name()), e.name);
    Result<std::unique_ptr<WeightRounding>> made = MakeWeightRounding(e.name);
    ASSERT_TRUE(made.ok());
    EXPECT_EQ(std::string(made.value()->Name()), e.name);
  }
}

TEST(WeightRoundingTest, UnknownNameIsRefusedListingTheKnownOnes) {
  Result<std::unique_ptr<WeightRounding>> r = MakeWeightRounding("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Mentions(r.status().message(), "'nope'")) << r.status().message();
  EXPECT_TRUE(Mentions(r.status().message(), "rtn")) << r.status().message();
}

void ExpectSameQuantizedWeight(const QuantizedWeight& a, const QuantizedWeight& b) {
  EXPECT_EQ(a.params.dtype, b.params.dtype);
  EXPECT_EQ(a.params.scale, b.params.scale);
  EXPECT_EQ(a.params.zero_point, b.params.zero_point);
  EXPECT_EQ(a.params.axis, b.params.axis);
  EXPECT_EQ(a.params.block_size, b.params.block_size);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.storage_type, b.storage_type);
  EXPECT_EQ(a.error.mse, b.error.mse);
  EXPECT_EQ(a.error.max_abs, b.error.max_abs);
  ASSERT_EQ(a.blockwise.has_value(), b.blockwise.has_value());
  if (a.blockwise) {
    EXPECT_EQ(a.blockwise->codes, b.blockwise->codes);
    EXPECT_EQ(a.blockwise->scales, b.blockwise->scales);
    EXPECT_EQ(a.blockwise->zero_points, b.blockwise->zero_points);
  }
}

TEST(RoundToNearestTest, EqualsTheSchemesOwnQuantizeWeight) {
  struct Case {
    std::string scheme;
    std::vector<int64_t> shape;
    int64_t axis;
  };
  const Case cases[] = {{"int8-sym", {6, 5}, 0}, {"int8-sym", {6, 5}, -1},
                        {"int8-asym", {6, 5}, 1}, {"nf4", {8, 128}, -1}};
  const std::unique_ptr<WeightRounding> rtn = MakeRoundToNearest();
  EXPECT_EQ(std::string(rtn->Name()), "rtn");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scheme + " axis " + std::to_string(c.axis));
    std::unique_ptr<Scheme> scheme = std::move(MakeScheme(c.scheme)).value();
    const std::vector<float> w = FixedSeedWeight(static_cast<size_t>(c.shape[0] * c.shape[1]), 42);
    const WeightView view{"W", w.data(), c.shape, c.axis};
    Result<QuantizedWeight> direct = scheme->QuantizeWeight(view);
    RoundingInputs inputs;
    inputs.node = "mm";
    inputs.op_type = "MatMul";
    Result<QuantizedWeight> rounded = rtn->Round(*scheme, view, inputs);
    ASSERT_TRUE(direct.ok() && rounded.ok()) << rounded.status().ToString();
    EXPECT_FALSE(rounded->data.empty() && !rounded->blockwise);
    ExpectSameQuantizedWeight(rounded.value(), direct.value());
  }
}

TEST(RoundToNearestTest, NanWeightIsRefusedLikeTheScheme) {
  std::unique_ptr<Scheme> scheme = std::move(MakeScheme("int8-sym")).value();
  std::vector<float> w = FixedSeedWeight(12, 7);
  w[5] = std::nanf("");
  Result<QuantizedWeight> r = MakeRoundToNearest()->Round(*scheme, {"Wnan", w.data(), {3, 4}, 0}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(Mentions(r.status().message(), "Wnan")) << r.status().message();
}

TEST(WeightRoundingTest, QuantizeRefusesAnUnknownAlgorithm) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(testing::TinyMatMulModel()), ".", "t.onnx");
  ASSERT_TRUE(model.ok());
  QuantizeOptions options;
  options.weights_only = true;
  options.weight_algo = "bogus";
  Result<QuantizeOutcome> out = Quantize(*model.value(), options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Mentions(out.status().message(), "bogus")) << out.status().message();
  options.weight_algo = "rtn";
  EXPECT_TRUE(Quantize(*model.value(), options, {}).ok());
}

TEST(WeightRoundingTest, PublicListMirrorsTheTable) {
  const auto algorithms = WeightRoundingAlgorithms();
  ASSERT_EQ(algorithms.size(), WeightRoundingTable().size());
  EXPECT_EQ(algorithms.front().first, "rtn");
  for (size_t i = 0; i < algorithms.size(); ++i) {
    EXPECT_EQ(algorithms[i].first, WeightRoundingTable()[i].name);
    EXPECT_EQ(algorithms[i].second, WeightRoundingTable()[i].summary);
  }
}

}  // namespace
}  // namespace pq::quant
