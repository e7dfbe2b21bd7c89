// Tests of src/calib/calibration_stats*.cc and statistics_gather.cc: shards
// merge into exactly the one-pass statistics, every method chooses the same
// range from them as from the values, the .pqcal round trip is exact, and
// the reader refuses truncated, foreign and hostile files.
#include "pq/calibration_stats.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "calib/histogram.h"

namespace pq {
namespace {

constexpr int kBins = 2048;
constexpr int kShards = 3;
constexpr int kSamples = 30;
constexpr int kValuesPerSample = 997;

// Fixed-seed samples: a ReLU-like spike at 0, a skewed body and a few
// outliers whose scale grows with the sample index, so the shards' ranges
// differ and merging has to grow histograms.
std::vector<std::vector<float>> Samples() {
  std::mt19937 rng(20);
  std::normal_distribution<float> normal(0.3f, 1.0f);
  std::vector<std::vector<float>> samples(kSamples);
  for (int s = 0; s < kSamples; ++s) {
    for (int i = 0; i < kValuesPerSample; ++i) {
      float x = normal(rng) * std::ldexp(1.0f, s / 6);
      if (i % 5 == 0) x = 0.0f;
      if (i == 7) x = std::nanf("");
      samples[s].push_back(x);
    }
  }
  return samples;
}

TensorStatistics ShardStatistics(const std::vector<std::vector<float>>& samples, int index, int count) {
  calib::Histogram h(kBins);
  for (int s = index - 1; s < kSamples; s += count) h.Add(samples[s].data(), kValuesPerSample);
  return h.ToStatistics();
}

CalibrationStatistics FileOf(TensorStatistics t, int64_t index, int64_t count) {
  CalibrationStatistics s;
  s.pq_version = "test";
  s.model_name = "m.onnx";
  s.model_sha256 = std::string(64, 'a');
  s.files = {{"calib.npy", std::string(64, 'b'), kSamples}};
  s.shard_count = count;
  s.shards = {{index, 1}};
  s.samples = 1;
  s.bins = kBins;
  s.tensors["x"] = std::move(t);
  return s;
}

void ExpectSameStatistics(const TensorStatistics& a, const TensorStatistics& b) {
  EXPECT_EQ(a.exponent, b.exponent);
  EXPECT_EQ(a.positive, b.positive);
  EXPECT_EQ(a.negative, b.negative);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.nan, b.nan);
  EXPECT_EQ(a.inf, b.inf);
  EXPECT_EQ(a.zeros, b.zeros);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
}

TEST(CalibrationStatistics, MergedShardsEqualOnePassInAnyOrder) {
  const auto samples = Samples();
  const TensorStatistics whole = ShardStatistics(samples, 1, 1);
  std::vector<CalibrationStatistics> parts;
  for (int i = 1; i <= kShards; ++i) parts.push_back(FileOf(ShardStatistics(samples, i, kShards), i, kShards));
  Result<CalibrationStatistics> merged = MergeCalibrationStatistics(parts);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ExpectSameStatistics(merged->tensors.at("x"), whole);
  EXPECT_TRUE(merged->complete());
  EXPECT_EQ(merged->samples, kShards);

  // Merging two, then the third, in another order: the same bytes.
  Result<CalibrationStatistics> two = MergeCalibrationStatistics({parts[2], parts[0]});
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->complete());
  Result<CalibrationStatistics> three = MergeCalibrationStatistics({parts[1], two.value()});
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(SerializeCalibrationStatistics(three.value()), SerializeCalibrationStatistics(merged.value()));
}

TEST(CalibrationStatistics, EveryMethodChoosesTheSameRangeAsFromTheValues) {
  const auto samples = Samples();
  std::vector<CalibrationStatistics> parts;
  for (int i = 1; i <= kShards; ++i) parts.push_back(FileOf(ShardStatistics(samples, i, kShards), i, kShards));
  const TensorStatistics merged = MergeCalibrationStatistics(parts).value().tensors.at("x");
  for (const CalibrationMethod& method : CalibrationMethods()) {
    for (const QuantGrid& grid : {Int8SymmetricGrid(), Uint8AsymmetricGrid()}) {
      SCOPED_TRACE(std::string(method.name) + (grid.symmetric ? " symmetric" : " asymmetric"));
      CalibrationOptions options;
      options.method = method.name;
      options.bins = kBins;
      options.grid = grid;
      std::unique_ptr<Calibrator> direct = CreateCalibrator(options).value();
      for (const auto& sample : samples) direct->Observe(sample.data(), kValuesPerSample);
      Result<CalibratedRange> expected = direct->Compute();
      Result<CalibratedRange> from_stats = RangeFromStatistics(merged, options);
      ASSERT_TRUE(expected.ok() && from_stats.ok()) << from_stats.status().ToString();
      EXPECT_EQ(CalibratedRangeToJson(from_stats.value()).dump(), CalibratedRangeToJson(expected.value()).dump());
    }
  }
}

TEST(CalibrationStatistics, FileRoundTripIsExact) {
  const auto samples = Samples();
  CalibrationStatistics s = FileOf(ShardStatistics(samples, 2, kShards), 2, kShards);
  s.tensors["empty"] = calib::Histogram(kBins).ToStatistics();  // no finite value: null extremes
  const std::string bytes = SerializeCalibrationStatistics(s);
  Result<CalibrationStatistics> back = ParseCalibrationStatistics(bytes, "s.pqcal");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameStatistics(back->tensors.at("x"), s.tensors.at("x"));
  ExpectSameStatistics(back->tensors.at("empty"), s.tensors.at("empty"));
  EXPECT_EQ(SerializeCalibrationStatistics(back.value()), bytes);
}

void ExpectRefused(const std::string& bytes, const std::string& fragment) {
  Result<CalibrationStatistics> r = ParseCalibrationStatistics(bytes, "bad.pqcal");
  ASSERT_FALSE(r.ok()) << fragment;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("bad.pqcal"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(CalibrationStatistics, TruncatedAndForeignFilesAreRefused) {
  const std::string bytes = SerializeCalibrationStatistics(FileOf(ShardStatistics(Samples(), 1, 1), 1, 1));
  for (size_t cut : {size_t{0}, size_t{1}, bytes.size() / 3, bytes.size() - 3}) {
    ExpectRefused(bytes.substr(0, cut), "truncated");
  }
  ExpectRefused(R"({"schema_version": 1, "tool": {"name": "pq"}})", "not a pq-calibration-statistics file");
  ExpectRefused(R"([1, 2, 3])", "not a pq-calibration-statistics file");
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(bytes);
  doc["version"] = 99;
  ExpectRefused(doc.dump(), "version 99");
}

TEST(CalibrationStatistics, HostileCountsAreRefusedBeforeAllocating) {
  const std::string bytes = SerializeCalibrationStatistics(FileOf(ShardStatistics(Samples(), 1, 1), 1, 1));
  const nlohmann::ordered_json good = nlohmann::ordered_json::parse(bytes);
  {
    // Many tensors at the largest bin count: refused from the counts alone.
    nlohmann::ordered_json doc = good;
    doc["bins"] = kMaxCalibrationBins;
    for (int i = 0; i < 64; ++i) doc["tensors"]["t" + std::to_string(i)] = doc["tensors"]["x"];
    ExpectRefused(doc.dump(), "exceed the limit");
  }
  {
    nlohmann::ordered_json doc = good;
    doc["tensors"]["x"]["positive"]["first"] = kBins;
    doc["tensors"]["x"]["positive"]["counts"] = {1};
    ExpectRefused(doc.dump(), "lists 1 bins from bin 2048");
  }
  {
    nlohmann::ordered_json doc = good;
    doc["tensors"]["x"]["count"] = 5;
    ExpectRefused(doc.dump(), "tensor 'x'");
  }
  {
    nlohmann::ordered_json doc = good;
    doc["tensors"]["x"]["exponent"] = 100000;
    ExpectRefused(doc.dump(), "'exponent' is outside");
  }
  {
    nlohmann::ordered_json doc = good;
    doc["tensors"]["x"]["negative"]["counts"][0] = -1;
    ExpectRefused(doc.dump(), "negative count");
  }
  {
    nlohmann::ordered_json doc = good;
    doc["bins"] = 1000;
    ExpectRefused(doc.dump(), "'bins'");
  }
}

TEST(CalibrationStatistics, MergeRefusesAnotherModelAndARepeatedShard) {
  const auto samples = Samples();
  CalibrationStatistics a = FileOf(ShardStatistics(samples, 1, 2), 1, 2);
  CalibrationStatistics b = FileOf(ShardStatistics(samples, 2, 2), 2, 2);
  a.source_path = "a.pqcal";
  b.source_path = "b.pqcal";
  EXPECT_FALSE(MergeCalibrationStatistics({a, a}).ok());
  b.model_sha256 = std::string(64, 'c');
  Result<CalibrationStatistics> r = MergeCalibrationStatistics({a, b});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("different models"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("b.pqcal"), std::string::npos);
}

// A value inside a body is observed only on the samples that run the body:
// shards may hold different body values, and the merge holds their union
// (each merged from the shards that have it). Main-graph values must match.
TEST(CalibrationStatistics, MergeTakesBodyValuesFromTheShardsThatRanThem) {
  const auto samples = Samples();
  CalibrationStatistics a = FileOf(ShardStatistics(samples, 1, 2), 1, 2);
  CalibrationStatistics b = FileOf(ShardStatistics(samples, 2, 2), 2, 2);
  a.tensors["If 'gate'/then_branch::x"] = ShardStatistics(samples, 1, 2);
  b.tensors["If 'gate'/then_branch::x"] = ShardStatistics(samples, 2, 2);
  b.tensors["If 'gate'/else_branch::x"] = ShardStatistics(samples, 2, 2);
  Result<CalibrationStatistics> merged = MergeCalibrationStatistics({a, b});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ASSERT_EQ(merged->tensors.size(), 3u);
  ExpectSameStatistics(merged->tensors.at("If 'gate'/then_branch::x"), ShardStatistics(samples, 1, 1));
  ExpectSameStatistics(merged->tensors.at("If 'gate'/else_branch::x"), ShardStatistics(samples, 2, 2));
  ExpectSameStatistics(merged->tensors.at("x"), ShardStatistics(samples, 1, 1));
  Result<CalibrationStatistics> reversed = MergeCalibrationStatistics({b, a});
  ASSERT_TRUE(reversed.ok());
  ExpectSameStatistics(reversed->tensors.at("If 'gate'/then_branch::x"), ShardStatistics(samples, 1, 1));

  b.tensors["y"] = ShardStatistics(samples, 2, 2);  // a main-graph value in one shard only
  Result<CalibrationStatistics> refused = MergeCalibrationStatistics({a, b});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("tensor 'y' is in one only"), std::string::npos)
      << refused.status().message();
}

TEST(CalibrationStatistics, BinCountsMustMatchTheOptions) {
  CalibrationOptions options;
  options.method = "entropy";
  options.bins = 1024;
  Result<CalibratedRange> r = RangeFromStatistics(ShardStatistics(Samples(), 1, 1), options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2048 bins"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace pq
