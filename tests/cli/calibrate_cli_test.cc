// End-to-end tests of `pq calibrate` and `pq quantize --calib-stats`: for
// every calibration method, statistics from one pass and from three shards
// calibrated by three separate pq processes and merged give the same model
// bytes as `pq quantize --calib`; the report says where the statistics came
// from; foreign, truncated and mismatched files exit 3, a bad shard exits 2,
// and nothing is written on failure.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/calibration.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

constexpr int kShards = 3;
constexpr const char* kSamples = "24";

std::string Cnn() { return testing::ModelsDir() + "/fashion_cnn.onnx"; }
std::string Vit() { return testing::ModelsDir() + "/fashion_vit.onnx"; }
std::string Calib() { return testing::ModelsDir() + "/calib_images.npy"; }

void ExpectOk(const CliRun& run) { ASSERT_EQ(run.exit_code, kExitOk) << run.err; }

// Calibrates all the data into `path`, and shards 1..kShards in separate,
// concurrent pq processes merged into `merged`.
void CalibrateBothWays(const TempDir& dir, const std::string& path, const std::string& merged) {
  ExpectOk(RunPq({"-q", "calibrate", Cnn(), "--calib", Calib(), "--calib-samples", kSamples, "-o", path}));
  std::vector<std::future<CliRun>> shards;
  std::vector<std::string> merge = {"-q", "calibrate", "--merge"};
  for (int i = 1; i <= kShards; ++i) {
    const std::string shard = dir.File("shard" + std::to_string(i) + ".pqcal");
    merge.push_back(shard);
    shards.push_back(std::async(std::launch::async, [=] {
      return RunPq({"-q", "calibrate", Cnn(), "--calib", Calib(), "--calib-samples", kSamples, "--shard",
                    std::to_string(i) + "/" + std::to_string(kShards), "-o", shard});
    }));
  }
  for (auto& s : shards) ExpectOk(s.get());
  merge.insert(merge.end(), {"-o", merged});
  ExpectOk(RunPq(merge));
}

TEST(CalibrateCliTest, StatisticsGiveTheSameModelBytesForEveryMethod) {
  TempDir dir;
  const std::string all = dir.File("all.pqcal"), merged = dir.File("merged.pqcal");
  CalibrateBothWays(dir, all, merged);
  for (const char* scheme : {"int8-sym", "int8-asym"}) {
    for (const CalibrationMethod& method : CalibrationMethods()) {
      const std::string tag = std::string(scheme) + "-" + method.name;
      SCOPED_TRACE(tag);
      const std::vector<std::string> common = {"-q", "quantize", Cnn(), "--scheme", scheme, "--calib-method",
                                               method.name};
      auto quantize = [&](const std::string& name, std::vector<std::string> extra) {
        std::vector<std::string> args = common;
        args.insert(args.end(), {"-o", dir.File(name + ".onnx")});
        args.insert(args.end(), extra.begin(), extra.end());
        ExpectOk(RunPq(args));
        return ReadFile(dir.File(name + ".onnx"));
      };
      const std::string direct = quantize(tag + "-direct", {"--calib", Calib(), "--calib-samples", kSamples});
      EXPECT_EQ(quantize(tag + "-all", {"--calib-stats", all}), direct);
      EXPECT_EQ(quantize(tag + "-merged", {"--calib-stats", merged}), direct);
      // The reports differ only where they say where the statistics came from.
      auto report = [&](const std::string& name) {
        return nlohmann::json::parse(ReadFile(dir.File(name + ".report.json")));
      };
      EXPECT_EQ(report(tag + "-merged")["tensors"], report(tag + "-direct")["tensors"]);
    }
  }
}

TEST(CalibrateCliTest, ReportRecordsTheStatisticsFile) {
  TempDir dir;
  const std::string all = dir.File("all.pqcal"), merged = dir.File("merged.pqcal");
  CalibrateBothWays(dir, all, merged);
  ExpectOk(RunPq({"-q", "quantize", Cnn(), "--calib-stats", merged, "-o", dir.File("q.onnx")}));
  const nlohmann::json calibration = nlohmann::json::parse(ReadFile(dir.File("q.report.json")))["calibration"];
  EXPECT_EQ(calibration["statistics_file"]["path"], merged);
  EXPECT_EQ(calibration["statistics_file"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(calibration["statistics_file"]["shards"]["count"], kShards);
  EXPECT_EQ(calibration["statistics_file"]["shards"]["parts"].size(), static_cast<size_t>(kShards));
  EXPECT_EQ(calibration["samples_used"], std::stoi(kSamples));
  ASSERT_EQ(calibration["files"].size(), 1u);
  EXPECT_EQ(calibration["files"][0]["path"], Calib());
  EXPECT_EQ(calibration["files"][0]["sha256"].get<std::string>().size(), 64u);
  const nlohmann::json stats = nlohmann::json::parse(ReadFile(merged));
  EXPECT_EQ(stats["format"], "pq-calibration-statistics");
  EXPECT_EQ(stats["data"]["files"][0]["sha256"], calibration["files"][0]["sha256"]);
}

TEST(CalibrateCliTest, StatisticsOfAnotherModelAreInvalidInputNamingBoth) {
  TempDir dir;
  ExpectOk(RunPq({"-q", "calibrate", Vit(), "--calib", Calib(), "--calib-samples", "4", "-o", dir.File("vit.pqcal")}));
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib-stats", dir.File("vit.pqcal"), "-o", dir.File("q.onnx")}),
                kExitInvalidInput, "fashion_vit.onnx");
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib-stats", dir.File("vit.pqcal"), "-o", dir.File("q.onnx")}),
                kExitInvalidInput, Cnn());
  EXPECT_EQ(dir.List(), std::vector<std::string>{"vit.pqcal"});
}

TEST(CalibrateCliTest, TruncatedForeignOrIncompleteFilesAreInvalidInput) {
  TempDir dir;
  const std::string good = dir.File("good.pqcal");
  ExpectOk(RunPq({"-q", "calibrate", Cnn(), "--calib", Calib(), "--calib-samples", "4", "-o", good}));
  const std::string bytes = ReadFile(good);
  testing::WriteFile(dir.File("cut.pqcal"), bytes.substr(0, bytes.size() / 2));
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib-stats", dir.File("cut.pqcal"), "-o", dir.File("q.onnx")}),
                kExitInvalidInput, "cut.pqcal");
  testing::WriteFile(dir.File("model.pqcal"), ReadFile(Cnn()));
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib-stats", dir.File("model.pqcal"), "-o", dir.File("q.onnx")}),
                kExitInvalidInput, "not a pq-calibration-statistics file");
  ExpectRefusal(RunPq({"calibrate", "--merge", good, dir.File("cut.pqcal"), "-o", dir.File("m.pqcal")}),
                kExitInvalidInput, "cut.pqcal");
  // A tensor the plan calibrates (an activation the report of a good run
  // records) is missing from the file.
  TempDir good_run;
  ExpectOk(RunPq({"-q", "quantize", Cnn(), "--calib-stats", good, "-o", good_run.File("q.onnx")}));
  std::string dropped;
  const nlohmann::json good_report = nlohmann::json::parse(ReadFile(good_run.File("q.report.json")));
  for (const auto& t : good_report["tensors"]) {
    if (t["role"] == "activation" && !t["range"].is_null()) dropped = t["name"].get<std::string>();
  }
  ASSERT_FALSE(dropped.empty());
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(bytes);
  ASSERT_EQ(doc["tensors"].erase(dropped), 1u);
  testing::WriteFile(dir.File("partial.pqcal"), doc.dump());
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib-stats", dir.File("partial.pqcal"), "-o", dir.File("q.onnx")}),
                kExitInvalidInput, "'" + dropped + "'");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"cut.pqcal", "good.pqcal", "model.pqcal", "partial.pqcal"}));
}

TEST(CalibrateCliTest, BadShardIsAUsageErrorAndWritesNothing) {
  TempDir dir;
  for (const char* shard : {"3/2", "0/2", "x", "1/0"}) {
    ExpectRefusal(RunPq({"calibrate", Cnn(), "--calib", Calib(), "--shard", shard, "-o", dir.File("s.pqcal")}),
                  kExitUsage, "--shard");
  }
  ExpectRefusal(RunPq({"quantize", Cnn(), "--calib", Calib(), "--calib-stats", dir.File("s.pqcal"), "-o",
                       dir.File("q.onnx")}),
                kExitInvalidInput, "s.pqcal");
  EXPECT_TRUE(dir.List().empty());
}

TEST(CalibrateCliTest, MergingTheSameShardTwiceIsInvalidInput) {
  TempDir dir;
  ExpectOk(RunPq({"-q", "calibrate", Cnn(), "--calib", Calib(), "--calib-samples", "6", "--shard", "1/2", "-o",
                  dir.File("a.pqcal")}));
  ExpectRefusal(RunPq({"calibrate", "--merge", dir.File("a.pqcal"), dir.File("a.pqcal"), "-o", dir.File("m.pqcal")}),
                kExitInvalidInput, "shard 1/2");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"a.pqcal"});
}

}  // namespace
}  // namespace pq
