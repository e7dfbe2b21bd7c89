// End-to-end tests of token data and --task lm: `pq compare` gates on
// perplexity and KL divergence (exit 4), bad token data (exit 3, nothing
// written), and `pq quantize` calibrating and validating on token ids.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "testutil/cli_expect.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/lm_test_util.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitGateFailed;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::RunPq;
using testing::TempDir;

// Writes ref.onnx, bad.onnx (one row of the table planted) and tokens.npy.
void Prepare(const TempDir& dir) {
  const std::vector<float> table = testing::BigramTable(7);
  std::vector<float> bad = table;
  for (int64_t v = 0; v < testing::kLmVocab; ++v) bad[static_cast<size_t>(3 * testing::kLmVocab + v)] = v == 1 ? 12.0f : -4.0f;
  testing::SaveProto(testing::BigramDecoder(table), dir.File("ref.onnx"));
  testing::SaveProto(testing::BigramDecoder(bad), dir.File("bad.onnx"));
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 6 * 16; ++i) ids.push_back((i * 3 + i / 5) % testing::kLmVocab);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {6, 16}, ids);
}

TEST(LmCliTest, IdenticalModelsPassZeroKldAndJsonCarriesTheLmObject) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"compare", dir.File("ref.onnx"), dir.File("ref.onnx"), "--data", dir.File("tokens.npy"),
                      "--task", "lm", "--max-kld", "0", "--max-ppl-increase", "0", "--json"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  const auto& lm = j["metrics"]["lm"];
  for (const char* key : {"perplexity_ref", "perplexity_cand", "kld_mean", "kld_median", "kld_p99",
                          "kld_max", "top1_agreement", "positions"}) {
    EXPECT_TRUE(lm.contains(key)) << key;
  }
  EXPECT_EQ(lm["positions"], 6 * 15);
  EXPECT_EQ(lm["kld_mean"], 0.0);
  EXPECT_EQ(lm["perplexity_ref"], lm["perplexity_cand"]);
  EXPECT_EQ(lm["top1_agreement"], 1.0);
}

TEST(LmCliTest, APlantedBadWeightFailsTheKldGateWithExit4) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"compare", dir.File("ref.onnx"), dir.File("bad.onnx"), "--data", dir.File("tokens.npy"),
                      "--max-kld", "0.05", "--min-top1-agreement", "0.99"});
  EXPECT_EQ(run.exit_code, kExitGateFailed) << run.err;
  EXPECT_NE(run.err.find("gate max-kld failed on output 'logits' (mean)"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("gate min-top1-agreement failed"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("KL divergence: mean"), std::string::npos) << run.out;
}

TEST(LmCliTest, BadTokenDataIsRefusedWithExit3NamingFileRowAndPosition) {
  TempDir dir;
  Prepare(dir);
  testing::WriteInt64Npy(dir.File("oov.npy"), {2, 4}, {1, 2, 3, 4, 5, 6, 99, 0});
  ExpectRefusal(RunPq({"compare", dir.File("ref.onnx"), dir.File("ref.onnx"), "--data", dir.File("oov.npy")}),
                kExitInvalidInput, "oov.npy: row 1, position 2: token id 99 is not below the vocabulary size 8");
  testing::WriteInt64Npy(dir.File("short.npy"), {4, 1}, {1, 2, 3, 4});
  ExpectRefusal(RunPq({"compare", dir.File("ref.onnx"), dir.File("ref.onnx"), "--data", dir.File("short.npy")}),
                kExitInvalidInput, "at least 2 tokens per row");
  // Nothing is written when the data is refused.
  CliRun q = RunPq({"quantize", dir.File("ref.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                    "--calib", dir.File("oov.npy")});
  EXPECT_EQ(q.exit_code, kExitInvalidInput) << q.err;
  EXPECT_FALSE(testing::Exists(dir.File("q.onnx")));
  EXPECT_FALSE(testing::Exists(dir.File("q.report.json")));
}

TEST(LmCliTest, TaskLmOnAModelWithoutTokenInputsSaysWhatIsMissing) {
  TempDir dir;
  testing::SaveProto(testing::ThreeClassModel({1, 0, 0, 0, 1, 0, 0, 0, 1}), dir.File("m.onnx"));
  testing::WriteFloatNpy(dir.File("x.npy"), {2, 3}, {1, 0, 0, 0, 1, 0});
  ExpectRefusal(RunPq({"compare", dir.File("m.onnx"), dir.File("m.onnx"), "--data", dir.File("x.npy"),
                       "--task", "lm"}),
                kExitInvalidInput, "task lm needs a decoder language model; it has no int32/int64 input 'input_ids'");
  // Token ids given to it: the same message, not one about the data's type.
  testing::WriteInt64Npy(dir.File("tokens.npy"), {2, 4}, {1, 2, 3, 4, 5, 6, 7, 0});
  ExpectRefusal(RunPq({"compare", dir.File("m.onnx"), dir.File("m.onnx"), "--data", dir.File("tokens.npy"),
                       "--task", "lm"}),
                kExitInvalidInput, "task lm needs a decoder language model; it has no int32/int64 input 'input_ids'");
}

TEST(LmCliTest, QuantizeCalibratesAndValidatesOnTokenIds) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"-q", "quantize", dir.File("ref.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                      "--calib", dir.File("tokens.npy"), "--validate", dir.File("tokens.npy"), "--task", "lm",
                      "--max-kld", "0.05", "--threads", "1"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  std::ifstream in(dir.File("q.report.json"));
  const auto report = nlohmann::json::parse(in);
  const auto& lm = report["validation"]["metrics"]["lm"];
  ASSERT_TRUE(lm.is_object()) << report["validation"].dump();
  EXPECT_EQ(lm["positions"], 6 * 15);
  EXPECT_GE(lm["kld_mean"].get<double>(), 0.0);
  EXPECT_LE(lm["kld_mean"].get<double>(), 0.05);
  EXPECT_EQ(report["calibration"]["samples_used"], 6) << report["calibration"].dump();
  const auto& tokens = report["calibration"]["files"][0]["tokens"];
  EXPECT_EQ(tokens["window"], 16) << report["calibration"].dump();
  EXPECT_EQ(tokens["dropped_tokens"], 0);
  EXPECT_TRUE(tokens["tokenizer"].is_null());
  CliRun md = RunPq({"report", dir.File("q.report.json"), "--format", "md"});
  ASSERT_EQ(md.exit_code, kExitOk) << md.err;
  EXPECT_NE(md.out.find("Language model (output logits)"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| kld_mean |"), std::string::npos) << md.out;
}

}  // namespace
}  // namespace pq
