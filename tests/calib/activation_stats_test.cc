// Direct tests of src/calib/activation_stats.cc: the JSON form round-trips
// bit for bit, malformed documents are refused naming the field, Covers and
// MadeWith, and merging minmax statistics of two shards equals calibrating
// the whole set (ranges, counts and the quantized model's bytes).
#include "pq/activation_stats.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <limits>

#include "pq/quantize.h"
#include "quant/stage_fixtures.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;
using testing::Mentions;

template <typename T>
bool SameBits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

CalibratedRange AwkwardRange() {
  CalibratedRange r;
  r.method = "percentile";
  r.parameters = {{"percentile", 99.99}, {"bins", 2048}};
  r.values_seen = 123456789012;
  r.nan_count = 3;
  r.inf_count = 4;
  r.observed_min = -3.4e38f;
  r.observed_max = 0.1f;
  r.chosen_min = -0.1f;
  r.chosen_max = 1e-38f;
  r.clipped_fraction = 0.1;
  return r;
}

ActivationStats AwkwardStats() {
  ActivationStats s;
  s.ranges["a"] = AwkwardRange();
  CalibratedRange b = AwkwardRange();
  b.observed_min = -std::numeric_limits<float>::denorm_min();
  b.observed_max = std::numeric_limits<float>::max();
  b.chosen_min = -1.0f / 3.0f;
  b.chosen_max = 16777217.0f;
  b.clipped_fraction = 1.0 / 3.0;
  s.ranges["b/with \"quotes\""] = b;
  s.files = {{"dir/calib one.npy", 7, std::nullopt}, {"x.npz", 1, std::nullopt}};
  s.samples = 8;
  s.batch = 3;
  s.calibration.method = "percentile";
  s.calibration.percentile = 99.9;
  s.calibration.bins = 4096;
  s.calibration.grid = Uint8AsymmetricGrid();
  return s;
}

void ExpectSameRange(const CalibratedRange& a, const CalibratedRange& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.values_seen, b.values_seen);
  EXPECT_EQ(a.nan_count, b.nan_count);
  EXPECT_EQ(a.inf_count, b.inf_count);
  EXPECT_TRUE(SameBits(a.observed_min, b.observed_min)) << a.observed_min << " vs " << b.observed_min;
  EXPECT_TRUE(SameBits(a.observed_max, b.observed_max)) << a.observed_max << " vs " << b.observed_max;
  EXPECT_TRUE(SameBits(a.chosen_min, b.chosen_min)) << a.chosen_min << " vs " << b.chosen_min;
  EXPECT_TRUE(SameBits(a.chosen_max, b.chosen_max)) << a.chosen_max << " vs " << b.chosen_max;
  EXPECT_TRUE(SameBits(a.clipped_fraction, b.clipped_fraction));
}

TEST(ActivationStatsJsonTest, RoundTripThroughTextIsBitExact) {
  const ActivationStats s = AwkwardStats();
  const std::string text = ActivationStatsToJson(s).dump();
  Result<ActivationStats> back = ActivationStatsFromJson(Json::parse(text));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->ranges.size(), s.ranges.size());
  for (const auto& [name, range] : s.ranges) {
    SCOPED_TRACE(name);
    ASSERT_EQ(back->ranges.count(name), 1u);
    ExpectSameRange(back->ranges.at(name), range);
  }
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[0].path, "dir/calib one.npy");
  EXPECT_EQ(back->files[0].samples, 7);
  EXPECT_EQ(back->files[1].path, "x.npz");
  EXPECT_EQ(back->samples, 8);
  EXPECT_EQ(back->batch, 3);
  EXPECT_EQ(back->calibration.method, "percentile");
  EXPECT_TRUE(SameBits(back->calibration.percentile, 99.9));
  EXPECT_EQ(back->calibration.bins, 4096);
  EXPECT_FALSE(back->calibration.grid.symmetric);
  EXPECT_EQ(back->calibration.grid.qmin, 0);
  EXPECT_EQ(back->calibration.grid.qmax, 255);
  EXPECT_EQ(ActivationStatsToJson(back.value()).dump(), text) << "a second trip changes nothing";
}

// Every error is kInvalidInput and names the field (and the range).
void ExpectRefused(const Json& doc, const std::vector<std::string>& mentions) {
  Result<ActivationStats> r = ActivationStatsFromJson(doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  for (const std::string& m : mentions) EXPECT_TRUE(Mentions(r.status().message(), m)) << r.status().message();
}

TEST(ActivationStatsJsonTest, MalformedDocumentsNameTheField) {
  const Json good = ActivationStatsToJson(AwkwardStats());
  ASSERT_TRUE(ActivationStatsFromJson(good).ok());
  Json doc = good;
  doc.erase("format");
  ExpectRefused(doc, {"'format'", "missing"});
  doc = good;
  doc["format"] = "pq-activation-stats-0";
  ExpectRefused(doc, {"pq-activation-stats-0"});
  doc = good;
  doc["ranges"]["a"].erase("chosen_max");
  ExpectRefused(doc, {"'chosen_max'", "'a'", "missing"});
  doc = good;
  doc["samples"] = "eight";
  ExpectRefused(doc, {"'samples'", "wrong type"});
  doc = good;
  doc["calibration"]["grid"]["qmax"] = "255";
  ExpectRefused(doc, {"'qmax'", "wrong type"});
  doc = good;
  doc["ranges"] = Json::array();
  ExpectRefused(doc, {"'ranges'"});
  ExpectRefused(Json::array(), {"'format'"});
}

TEST(ActivationStatsTest, CoversAndMadeWith) {
  const ActivationStats s = AwkwardStats();
  EXPECT_TRUE(s.Covers({}));
  EXPECT_TRUE(s.Covers({"a"}));
  EXPECT_FALSE(s.Covers({"a", "c"}));
  EXPECT_TRUE(s.MadeWith(s.calibration));
  CalibrationOptions o = s.calibration;
  o.method = "entropy";
  EXPECT_FALSE(s.MadeWith(o));
  o = s.calibration;
  o.percentile = 99.99;
  EXPECT_FALSE(s.MadeWith(o));
  o = s.calibration;
  o.bins = 2048;
  EXPECT_FALSE(s.MadeWith(o));
  o = s.calibration;
  o.grid.symmetric = true;
  EXPECT_FALSE(s.MadeWith(o));
  o = s.calibration;
  o.grid.qmin = -128;
  EXPECT_FALSE(s.MadeWith(o));
  o = s.calibration;
  o.grid.qmax = 127;
  EXPECT_FALSE(s.MadeWith(o));
}

// The quantizer's statistics for `paths` (static int8 on ConvMlpProto).
Result<QuantizeOutcome> QuantizeOn(const Model& model, const std::string& scheme,
                                   const std::vector<std::string>& paths) {
  QuantizeOptions options;
  options.scheme = scheme;
  options.calib_paths = paths;
  return Quantize(model, options, {});
}

// Half A holds the largest value, half B the smallest: the merged extremes
// come from different shards.
TEST(MergeActivationStatsTest, MinMaxHalvesMergeToTheWholeSet) {
  for (const std::string scheme : {"int8-sym", "int8-asym"}) {
    SCOPED_TRACE(scheme);
    auto model = testing::ModelOf(testing::ConvMlpProto());
    testing::TempDir dir;
    testing::WriteConvMlpCalibration(dir.File("a.npy"), 3, 2.0f, 0.5f);
    testing::WriteConvMlpCalibration(dir.File("b.npy"), 5, 1.5f, -1.25f);
    Result<QuantizeOutcome> a = QuantizeOn(*model, scheme, {dir.File("a.npy")});
    Result<QuantizeOutcome> b = QuantizeOn(*model, scheme, {dir.File("b.npy")});
    Result<QuantizeOutcome> whole = QuantizeOn(*model, scheme, {dir.File("a.npy"), dir.File("b.npy")});
    ASSERT_TRUE(a.ok() && b.ok() && whole.ok()) << whole.status().ToString();
    Result<ActivationStats> merged = MergeActivationStats(a->activation_stats, b->activation_stats);
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    const ActivationStats& w = whole->activation_stats;
    ASSERT_EQ(merged->ranges.size(), w.ranges.size());
    ASSERT_EQ(w.ranges.size(), 3u);  // X, R, M
    for (const auto& [name, range] : w.ranges) {
      SCOPED_TRACE(name);
      ASSERT_EQ(merged->ranges.count(name), 1u);
      ExpectSameRange(merged->ranges.at(name), range);
    }
    EXPECT_EQ(merged->samples, w.samples);
    EXPECT_EQ(merged->samples, 8);
    ASSERT_EQ(merged->files.size(), 2u);
    EXPECT_EQ(merged->files[0].path, w.files[0].path);
    EXPECT_EQ(merged->files[1].samples, 5);
    EXPECT_TRUE(merged->MadeWith(w.calibration));
    // Calibrated statistics survive the JSON form too.
    Result<ActivationStats> parsed =
        ActivationStatsFromJson(Json::parse(ActivationStatsToJson(merged.value()).dump()));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    for (const auto& [name, range] : merged->ranges) ExpectSameRange(parsed->ranges.at(name), range);
    // The merged statistics replace calibration: no data left to read.
    std::remove(dir.File("a.npy").c_str());
    std::remove(dir.File("b.npy").c_str());
    QuantizeOptions options;
    options.scheme = scheme;
    options.activation_stats = merged.value();
    Result<QuantizeOutcome> reused = Quantize(*model, options, {});
    ASSERT_TRUE(reused.ok()) << reused.status().ToString();
    EXPECT_EQ(reused->model->proto().SerializeAsString(), whole->model->proto().SerializeAsString());
  }
}

ActivationStats OneRange(const std::string& method, const std::string& tensor) {
  ActivationStats s;
  s.calibration.method = method;
  CalibratedRange r;
  r.method = method;
  r.observed_min = -1;
  r.observed_max = 2;
  r.chosen_min = -2;
  r.chosen_max = 2;
  s.ranges[tensor] = r;
  return s;
}

void ExpectMergeRefused(const ActivationStats& a, const ActivationStats& b, const std::string& mention) {
  Result<ActivationStats> r = MergeActivationStats(a, b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Mentions(r.status().message(), mention)) << r.status().message();
}

TEST(MergeActivationStatsTest, RefusesHistogramMethodsGridsAndTensorSets) {
  ASSERT_TRUE(MergeActivationStats(OneRange("minmax", "x"), OneRange("minmax", "x")).ok());
  ExpectMergeRefused(OneRange("percentile", "x"), OneRange("percentile", "x"), "minmax");
  ExpectMergeRefused(OneRange("entropy", "x"), OneRange("entropy", "x"), "histogram");
  ExpectMergeRefused(OneRange("minmax", "x"), OneRange("percentile", "x"), "different");
  ActivationStats asym = OneRange("minmax", "x");
  asym.calibration.grid = Uint8AsymmetricGrid();
  ExpectMergeRefused(OneRange("minmax", "x"), asym, "grids");
  ExpectMergeRefused(OneRange("minmax", "x"), OneRange("minmax", "y"), "'x'");
  ActivationStats two = OneRange("minmax", "x");
  two.ranges["y"] = two.ranges["x"];
  ExpectMergeRefused(OneRange("minmax", "x"), two, "different tensors");
}

}  // namespace
}  // namespace pq
