// Tests of src/validate/compare.cc, gates.cc and validation_json.cc through
// the public API (pq/validate.h).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "onnx/onnx_pb.h"
#include "pq/validate.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::TempDir;

constexpr int64_t kPerClass = 10;
constexpr int64_t kClasses = 3;
constexpr float kBackground = 0.1f;  // every feature of a sample
constexpr float kSignal = 1.0f;      // the feature of the sample's class
constexpr double kTolerance = 1e-9;

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto, const TempDir& dir,
                                 const std::string& name) {
  testing::SaveProto(proto, dir.File(name));
  Result<std::unique_ptr<Model>> m = Model::Load(dir.File(name));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

// Samples of class c: kBackground everywhere, kSignal at feature c.
void WriteThreeClassData(const TempDir& dir) {
  std::vector<float> x;
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < kClasses; ++c) {
    for (int64_t i = 0; i < kPerClass; ++i) {
      for (int64_t f = 0; f < kClasses; ++f) {
        x.push_back(f == c ? kSignal + 0.01f * static_cast<float>(i) : kBackground);
      }
      labels.push_back(c);
    }
  }
  testing::WriteFloatNpy(dir.File("x.npy"), {kClasses * kPerClass, kClasses}, x);
  testing::WriteLabelsNpy(dir.File("labels.npy"), labels);
}

const std::vector<float> kIdentity = {1, 0, 0, 0, 1, 0, 0, 0, 1};
// Class 1's logit also reads feature 0 (twice): every sample the reference
// calls class 0 moves to class 1; the others keep their class.
const std::vector<float> kMovesClassZero = {1, 2, 0, 0, 1, 0, 0, 0, 1};

TEST(ValidateCompareTest, IdenticalModelsPassEveryGateWithInfiniteSqnr) {
  TempDir dir;
  WriteThreeClassData(dir);
  auto model = FromProto(testing::ThreeClassModel(kIdentity), dir, "m.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.labels_path = dir.File("labels.npy");
  data.batch = 4;
  Result<Comparison> c = Compare(*model, *model, data);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->outputs.size(), 1u);
  const OutputComparison& o = c->outputs[0];
  EXPECT_TRUE(std::isinf(o.sqnr_db) && o.sqnr_db > 0) << o.sqnr_db;
  EXPECT_FALSE(std::isnan(o.sqnr_db));
  EXPECT_EQ(o.cosine, 1.0);
  EXPECT_EQ(o.max_abs_error, 0.0);
  ASSERT_TRUE(o.classification.has_value());
  EXPECT_EQ(o.classification->flip_rate, 0.0);
  EXPECT_EQ(o.classification->accuracy_drop_points, 0.0);
  EXPECT_EQ(c->size_ratio, 1.0);

  Gates gates;
  gates.min_sqnr_db = 1000;
  gates.min_cosine = 1.0;
  gates.max_flip_rate = 0;
  gates.max_accuracy_drop_points = 0;
  gates.max_class_flip_rate = 0;
  Result<std::vector<GateResult>> verdicts = EvaluateGates(c.value(), gates);
  ASSERT_TRUE(verdicts.ok()) << verdicts.status().ToString();
  EXPECT_EQ(verdicts->size(), 5u);
  EXPECT_TRUE(AllGatesPassed(verdicts.value()));
  const nlohmann::ordered_json j = ValidationToJson(c.value(), gates, verdicts.value());
  EXPECT_EQ(j["metrics"]["outputs"][0]["sqnr_db"], "+inf");
  EXPECT_EQ(j["passed"], true);
}

TEST(ValidateCompareTest, PerClassFlipRatesFindTheOneMovedClass) {
  TempDir dir;
  WriteThreeClassData(dir);
  auto reference = FromProto(testing::ThreeClassModel(kIdentity), dir, "ref.onnx");
  auto candidate = FromProto(testing::ThreeClassModel(kMovesClassZero), dir, "cand.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.labels_path = dir.File("labels.npy");
  data.batch = 7;  // batches that straddle classes
  Result<Comparison> c = Compare(*reference, *candidate, data);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ClassificationMetrics& m = *c->outputs[0].classification;
  ASSERT_EQ(m.per_class.size(), static_cast<size_t>(kClasses));
  EXPECT_EQ(m.per_class[0].reference_predicted, kPerClass);
  EXPECT_EQ(m.per_class[0].FlipRate().value(), 1.0);
  EXPECT_EQ(m.per_class[1].FlipRate().value(), 0.0);
  EXPECT_EQ(m.per_class[2].FlipRate().value(), 0.0);
  EXPECT_NEAR(m.flip_rate, 1.0 / kClasses, kTolerance);
  EXPECT_EQ(m.max_class_flip_class, 0);
  EXPECT_EQ(m.reference_accuracy, 1.0);
  EXPECT_NEAR(m.accuracy_drop_points, 100.0 / kClasses, kTolerance);
  EXPECT_EQ(m.per_class[0].candidate_correct, 0);
  EXPECT_EQ(m.per_class[1].candidate_correct, kPerClass);

  Gates gates;
  gates.max_flip_rate = 0.5;
  gates.max_class_flip_rate = 0.5;
  Result<std::vector<GateResult>> verdicts = EvaluateGates(c.value(), gates);
  ASSERT_TRUE(verdicts.ok());
  ASSERT_EQ(verdicts->size(), 2u);
  EXPECT_TRUE((*verdicts)[0].passed);  // overall flip rate 1/3
  EXPECT_FALSE((*verdicts)[1].passed);
  EXPECT_EQ((*verdicts)[1].detail, "class 0");
  EXPECT_NE(DescribeGate((*verdicts)[1]).find("max-class-flip-rate failed"), std::string::npos);
}

TEST(ValidateCompareTest, BatchSizeAndStoredReferenceGiveTheSameFigures) {
  TempDir dir;
  WriteThreeClassData(dir);
  auto reference = FromProto(testing::ThreeClassModel(kIdentity), dir, "ref.onnx");
  auto candidate = FromProto(testing::ThreeClassModel(kMovesClassZero), dir, "cand.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.batch = 1;
  Result<Comparison> one = Compare(*reference, *candidate, data);
  data.batch = 8;
  Result<Comparison> eight = Compare(*reference, *candidate, data);
  Result<std::unique_ptr<ReferenceRun>> run = ReferenceRun::Create(*reference, data);
  ASSERT_TRUE(one.ok() && eight.ok() && run.ok());
  Result<Comparison> stored = run.value()->Compare(*candidate);
  ASSERT_TRUE(stored.ok());
  for (const Comparison* c : {&eight.value(), &stored.value()}) {
    EXPECT_NEAR(c->outputs[0].sqnr_db, one->outputs[0].sqnr_db, kTolerance);
    EXPECT_NEAR(c->outputs[0].cosine, one->outputs[0].cosine, kTolerance);
    EXPECT_EQ(c->outputs[0].classification->agreements, one->outputs[0].classification->agreements);
  }
  EXPECT_TRUE(std::isfinite(one->outputs[0].sqnr_db));
}

TEST(ValidateCompareTest, BadLabelsAreRefusedNamingTheFile) {
  TempDir dir;
  WriteThreeClassData(dir);
  auto model = FromProto(testing::ThreeClassModel(kIdentity), dir, "m.onnx");
  testing::WriteLabelsNpy(dir.File("short.npy"), {0, 1, 2});
  std::vector<int64_t> out_of_range(static_cast<size_t>(kClasses * kPerClass), 0);
  out_of_range.back() = kClasses;
  testing::WriteLabelsNpy(dir.File("range.npy"), out_of_range);
  testing::WriteFloatNpy(dir.File("float.npy"), {kClasses * kPerClass},
                         std::vector<float>(static_cast<size_t>(kClasses * kPerClass), 0.0f));
  for (const std::string name : {"short.npy", "range.npy", "float.npy", "missing.npy"}) {
    ValidationData data;
    data.paths = {dir.File("x.npy")};
    data.labels_path = dir.File(name);
    Result<Comparison> c = Compare(*model, *model, data);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput) << c.status().ToString();
    EXPECT_NE(c.status().message().find(name), std::string::npos) << c.status().ToString();
  }
}

TEST(ValidateCompareTest, GatesThatDoNotApplyAreUsageErrors) {
  TempDir dir;
  WriteThreeClassData(dir);
  auto model = FromProto(testing::ThreeClassModel(kIdentity), dir, "m.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  Result<Comparison> c = Compare(*model, *model, data);
  ASSERT_TRUE(c.ok());
  Gates accuracy;
  accuracy.max_accuracy_drop_points = 1;
  EXPECT_EQ(EvaluateGates(c.value(), accuracy).status().code(), Status::Code::kInvalidArgument);
  data.task = TaskKind::kOther;
  Result<Comparison> other = Compare(*model, *model, data);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->outputs[0].classification.has_value());
  Gates flips;
  flips.max_flip_rate = 0.1;
  EXPECT_EQ(EvaluateGates(other.value(), flips).status().code(), Status::Code::kInvalidArgument);
  Gates sqnr;
  sqnr.min_sqnr_db = 10;
  EXPECT_TRUE(EvaluateGates(other.value(), sqnr).ok());
}

}  // namespace
}  // namespace pq

namespace pq {
namespace {

// Group 0 = the samples of class 0 (which kMovesClassZero flips), group 1 =
// the others.
void WriteGroups(const testing::TempDir& dir) {
  std::vector<int64_t> groups;
  for (int64_t c = 0; c < kClasses; ++c) {
    for (int64_t i = 0; i < kPerClass; ++i) groups.push_back(c == 0 ? 0 : 1);
  }
  testing::WriteLabelsNpy(dir.File("groups.npy"), groups);
  testing::WriteFile(dir.File("names.txt"), "north\nsouth\n");
}

TEST(ValidateGroupsTest, AccuracyAndFlipsPerGroupNameTheWorstGroup) {
  testing::TempDir dir;
  WriteThreeClassData(dir);
  WriteGroups(dir);
  auto ref = FromProto(testing::ThreeClassModel(kIdentity), dir, "ref.onnx");
  auto cand = FromProto(testing::ThreeClassModel(kMovesClassZero), dir, "cand.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.labels_path = dir.File("labels.npy");
  data.groups_path = dir.File("groups.npy");
  data.group_names_path = dir.File("names.txt");
  auto c = Compare(*ref, *cand, data);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ClassificationMetrics& m = *c->outputs[0].classification;
  ASSERT_EQ(m.per_group.size(), 2u);
  EXPECT_EQ(m.per_group[0].name, "north");
  EXPECT_EQ(m.per_group[0].rows, kPerClass);
  EXPECT_EQ(m.per_group[0].flipped, kPerClass);
  EXPECT_DOUBLE_EQ(m.per_group[0].DropPoints(), 100.0);
  EXPECT_EQ(m.per_group[1].name, "south");
  EXPECT_EQ(m.per_group[1].rows, 2 * kPerClass);
  EXPECT_EQ(m.per_group[1].flipped, 0);
  EXPECT_DOUBLE_EQ(m.per_group[1].DropPoints(), 0.0);
  EXPECT_EQ(m.worst_group, 0);
  Gates gates;
  gates.max_group_drop_points = 5;
  auto results = EvaluateGates(c.value(), gates);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_FALSE(results->at(0).passed);
  EXPECT_EQ(results->at(0).detail, "group north");
  EXPECT_DOUBLE_EQ(results->at(0).measured, 100.0);
  const auto json = ComparisonToJson(c.value());
  EXPECT_EQ(json["outputs"][0]["classification"]["worst_group"], "north");
  EXPECT_EQ(json["outputs"][0]["classification"]["per_group"][1]["drop_points"], 0.0);
}

TEST(ValidateGroupsTest, GroupsOfTheWrongLengthNameBothCounts) {
  testing::TempDir dir;
  WriteThreeClassData(dir);
  testing::WriteLabelsNpy(dir.File("groups.npy"), {0, 1, 0, 1, 0});
  auto model = FromProto(testing::ThreeClassModel(kIdentity), dir, "m.onnx");
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.groups_path = dir.File("groups.npy");
  auto c = Compare(*model, *model, data);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(c.status().ToString().find("groups.npy: 5 group ids for 30 samples"), std::string::npos)
      << c.status().ToString();
  // Without labels the group-drop gate cannot be measured.
  testing::WriteLabelsNpy(dir.File("groups30.npy"), std::vector<int64_t>(30, 2));
  data.groups_path = dir.File("groups30.npy");
  auto unlabelled = Compare(*model, *model, data);
  ASSERT_TRUE(unlabelled.ok()) << unlabelled.status().ToString();
  EXPECT_EQ(unlabelled->outputs[0].classification->per_group.at(0).name, "2");
  Gates gates;
  gates.max_group_drop_points = 1;
  EXPECT_EQ(EvaluateGates(unlabelled.value(), gates).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace pq
