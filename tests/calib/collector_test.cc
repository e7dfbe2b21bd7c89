#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

Tensor FloatTensor(const std::vector<float>& values) {
  Tensor t = Tensor::Allocate(kFloat, {static_cast<int64_t>(values.size())}).value();
  for (size_t i = 0; i < values.size(); ++i) t.data<float>()[i] = values[i];
  return t;
}

std::unique_ptr<CalibrationCollector> MakeCollector(std::set<std::string> names) {
  CalibrationOptions options;
  options.grid = Uint8AsymmetricGrid();
  auto collector = CalibrationCollector::Create(std::move(names), options);
  EXPECT_TRUE(collector.ok()) << collector.status().ToString();
  return std::move(collector).value();
}

TEST(CalibCollector, CalibratesOnlyTheRequestedTensors) {
  auto collector = MakeCollector({"a", "b"});
  collector->OnTensor("a", FloatTensor({1.0f, -2.0f}));
  collector->OnTensor("ignored", FloatTensor({100.0f}));
  collector->OnTensor("b", FloatTensor({0.5f}));
  collector->OnTensor("a", FloatTensor({3.0f}));  // a second batch
  auto results = collector->Results();
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ(results->count("ignored"), 0u);
  const CalibratedRange& a = results->at("a");
  EXPECT_EQ(a.values_seen, 3);
  EXPECT_EQ(a.chosen_min, -2.0f);
  EXPECT_EQ(a.chosen_max, 3.0f);
  EXPECT_EQ(results->at("b").chosen_max, 0.5f);
}

TEST(CalibCollector, RequestedButUnseenTensorIsAnErrorNamingIt) {
  auto collector = MakeCollector({"a", "missing_one"});
  collector->OnTensor("a", FloatTensor({1.0f}));
  EXPECT_EQ(collector->Missing(), std::vector<std::string>{"missing_one"});
  auto results = collector->Results();
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(results.status().message().find("'missing_one'"), std::string::npos)
      << results.status().message();
}

// Values inside bodies: a collector made for them asks the executor for
// them, and ObservedResults() gives the ranges of what was seen (a body no
// run took has none) where Results() refuses.
TEST(CalibCollector, BodyCollectorGivesTheRangesOfWhatWasObserved) {
  CalibrationOptions options;
  options.grid = Uint8AsymmetricGrid();
  auto bodies = CalibrationCollector::Create({"If 'g'/then_branch::x", "If 'g'/else_branch::x"}, options, true);
  ASSERT_TRUE(bodies.ok()) << bodies.status().ToString();
  EXPECT_TRUE(bodies.value()->ObservesBodies());
  EXPECT_FALSE(MakeCollector({"a"})->ObservesBodies());
  bodies.value()->OnTensor("If 'g'/then_branch::x", FloatTensor({-1.0f, 4.0f}));
  EXPECT_FALSE(bodies.value()->Results().ok());
  auto observed = bodies.value()->ObservedResults();
  ASSERT_TRUE(observed.ok()) << observed.status().ToString();
  ASSERT_EQ(observed->size(), 1u);
  EXPECT_EQ(observed->at("If 'g'/then_branch::x").chosen_max, 4.0f);
}

TEST(CalibCollector, NonFloatTensorIsNotCalibratedAndSaysWhy) {
  auto collector = MakeCollector({"shape"});
  collector->OnTensor("shape", Tensor::Allocate(kInt64, {4}).value());
  auto results = collector->Results();
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("only float tensors"), std::string::npos)
      << results.status().message();
}

TEST(CalibCollector, TensorWithoutFiniteValuesIsAnErrorNamingIt) {
  auto collector = MakeCollector({"x"});
  collector->OnTensor("x", FloatTensor({std::nanf("")}));
  auto results = collector->Results();
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("tensor 'x'"), std::string::npos)
      << results.status().message();
}

TEST(CalibCollector, InvalidOptionsAreRefusedUpFront) {
  CalibrationOptions options;
  options.method = "nope";
  auto collector = CalibrationCollector::Create({"a"}, options);
  ASSERT_FALSE(collector.ok());
  EXPECT_EQ(collector.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace pq
