// End-to-end tests of `pq quantize MODEL.onnx -o OUT.gguf --scheme gguf-*`:
// a GGUF file and its report from the sample LLM (the report's sha256 in
// the file, byte-identical reruns, llama-quantize's fallbacks reported,
// importance weighting with --calib), and every refusal with its exit code
// and nothing written. llama.cpp itself loads and runs the files in
// tests/interop/gguf_llama_cpp.py.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "gguf/tiny_llm_variants.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::kExitOutput;
using testing::kExitUsage;
using testing::RunPq;
using testing::TempDir;

// token_embd, 9 per block (attn_norm, q, k, v, output, ffn_norm, gate, up,
// down) for 4 blocks, output_norm, output.
constexpr int kTinyLlmTensors = 1 + 9 * 4 + 2;
constexpr int kTinyLlmMatrices = 1 + 7 * 4 + 1;

std::string Tiny(const std::string& file) { return testing::ModelsDir() + "/tiny_llm/" + file; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json ReadJson(const std::string& path) { return nlohmann::json::parse(ReadAll(path)); }

TEST(GgufCliTest, SchemesListsTheGgufSchemes) {
  CliRun run = RunPq({"schemes", "--json"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  int gguf = 0;
  for (const auto& s : nlohmann::json::parse(run.out)) {
    if (s["format"] == "gguf") ++gguf;
  }
  EXPECT_EQ(gguf, 6);
  EXPECT_NE(RunPq({"schemes"}).out.find("gguf-q4_k"), std::string::npos);
}

TEST(GgufCliTest, WritesTheFileAndItsReportEachPinningTheOther) {
  TempDir dir;
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  const std::string out = dir.File("tiny.gguf");
  const std::vector<std::string> command = {"quantize", Tiny("tiny_llm_optimum.onnx"), "-o", out, "--scheme",
                                            "gguf-q8_0", "--tokenizer", Tiny("tokenizer.model"), "--json", "--force"};
  CliRun run = RunPq(command);
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const auto summary = nlohmann::json::parse(run.out);
  EXPECT_EQ(summary["format"], "gguf");
  EXPECT_EQ(summary["tensors"], kTinyLlmTensors);
  EXPECT_EQ(summary["fallbacks"], 0);
  const std::string report_path = dir.File("tiny.report.json");
  ASSERT_EQ(summary["report"], report_path);

  Result<gguf::GgufContents> contents = gguf::ReadGguf(out);
  ASSERT_TRUE(contents.ok()) << contents.status().message();
  EXPECT_EQ(contents->tensors.size(), static_cast<size_t>(kTinyLlmTensors));
  const gguf::Value* report_sha = gguf::FindValue(contents.value(), "pq.report.sha256");
  ASSERT_NE(report_sha, nullptr);
  EXPECT_EQ(report_sha->string, Sha256Bytes(ReadAll(report_path).data(), ReadAll(report_path).size()));
  const gguf::Value* source_sha = gguf::FindValue(contents.value(), "pq.source.sha256");
  ASSERT_NE(source_sha, nullptr);

  const nlohmann::json report = ReadJson(report_path);
  EXPECT_EQ(report["format"], "gguf");
  EXPECT_EQ(report["input_model"]["sha256"], source_sha->string);
  EXPECT_EQ(report["tensors"].size(), static_cast<size_t>(kTinyLlmTensors));
  EXPECT_EQ(report["architecture"]["kv_heads"], 2);
  EXPECT_EQ(report["architecture"]["context_length"], 128);
  EXPECT_EQ(report["summary"]["tensors_by_type"]["q8_0"], kTinyLlmMatrices);
  // Each tensor's sha256 is that of its bytes in the file.
  const std::string bytes = ReadAll(out);
  for (const gguf::TensorInfoRecord& t : contents->tensors) {
    bool found = false;
    for (const auto& r : report["tensors"]) {
      if (r["name"] != t.name) continue;
      found = true;
      EXPECT_EQ(r["sha256"], Sha256Bytes(bytes.data() + contents->data_offset + t.offset, t.bytes)) << t.name;
    }
    EXPECT_TRUE(found) << t.name;
  }
  // The same command again gives the same bytes (SOURCE_DATE_EPOCH pins the
  // report's time), whatever the thread count.
  std::vector<std::string> again = command;
  again.insert(again.end(), {"--threads", "1"});
  ASSERT_EQ(RunPq(again).exit_code, kExitOk);
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_TRUE(ReadAll(out) == bytes) << "a second run wrote other bytes";
  const CliRun rendered = RunPq({"report", report_path, "--format", "md"});
  EXPECT_EQ(rendered.exit_code, kExitOk) << rendered.err;
  EXPECT_NE(rendered.out.find("blk.0.attn_q.weight"), std::string::npos);
}

TEST(GgufCliTest, RowsQ4KCannotHoldFallBackAndTheReportSaysWhy) {
  TempDir dir;
  CliRun run = RunPq({"quantize", Tiny("tiny_llm_genai.onnx"), "-o", dir.File("k.gguf"), "--scheme", "gguf-q4_k",
                      "--tokenizer", Tiny("tokenizer.model"), "--json"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  // Every matrix has rows of 128 or 352 values: none is a multiple of 256.
  EXPECT_EQ(nlohmann::json::parse(run.out)["fallbacks"], kTinyLlmMatrices);
  const nlohmann::json report = ReadJson(dir.File("k.report.json"));
  for (const auto& t : report["tensors"]) {
    if (t["shape"].size() != 2) continue;
    EXPECT_EQ(t["ggml_type"], "q5_0") << t["name"];
    EXPECT_NE(t["fallback"].get<std::string>().find("not a multiple of q4_k's block of 256"), std::string::npos);
  }
}

TEST(GgufCliTest, CalibrationTokensWeighTheRoundingOfEveryMatrixButTheEmbedding) {
  TempDir dir;
  CliRun run = RunPq({"quantize", Tiny("tiny_llm_optimum.onnx"), "-o", dir.File("c.gguf"), "--scheme", "gguf-q4_0",
                      "--tokenizer", Tiny("tokenizer.model"), "--calib", Tiny("calib_tokens.npy"),
                      "--calib-samples", "8"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const nlohmann::json report = ReadJson(dir.File("c.report.json"));
  ASSERT_FALSE(report["calibration"].is_null());
  EXPECT_EQ(report["calibration"]["samples_used"], 8);
  int weighted = 0;
  for (const auto& t : report["tensors"]) {
    if (t["importance_weighted"] == true) ++weighted;
    if (t["name"] == "token_embd.weight") {
      EXPECT_EQ(t["importance_weighted"], false);
    }
  }
  EXPECT_EQ(weighted, kTinyLlmMatrices - 1);
}

void SaveProto(const onnx::ModelProto& proto, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(proto.SerializeToOstream(&out));
}

TEST(GgufCliTest, ModelsWithoutAPositionTableNeedTheContextLength) {
  TempDir dir;
  SaveProto(testing::RunTimeRopeTinyLlm(), dir.File("rope.onnx"));
  const std::vector<std::string> command = {"quantize", dir.File("rope.onnx"), "-o", dir.File("rope.gguf"), "--scheme",
                                            "gguf-q8_0", "--tokenizer", Tiny("tokenizer.model")};
  ExpectRefusal(RunPq(command), kExitUsage, "pass --context-length N");
  EXPECT_FALSE(std::filesystem::exists(dir.File("rope.gguf")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("rope.report.json")));
  std::vector<std::string> with_length = command;
  with_length.insert(with_length.end(), {"--context-length", "256"});
  CliRun run = RunPq(with_length);
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  Result<gguf::GgufContents> contents = gguf::ReadGguf(dir.File("rope.gguf"));
  ASSERT_TRUE(contents.ok()) << contents.status().message();
  EXPECT_EQ(gguf::FindValue(contents.value(), "llama.context_length")->integer, 256);
  EXPECT_EQ(ReadJson(dir.File("rope.report.json"))["architecture"]["context_length_source"], "--context-length");
}

TEST(GgufCliTest, ATiedLmHeadWritesNoOutputTensor) {
  TempDir dir;
  SaveProto(testing::TiedTinyLlm(), dir.File("tied.onnx"));
  CliRun run = RunPq({"quantize", dir.File("tied.onnx"), "-o", dir.File("tied.gguf"), "--scheme", "gguf-q4_0",
                      "--tokenizer", Tiny("tokenizer.model")});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  Result<gguf::GgufContents> contents = gguf::ReadGguf(dir.File("tied.gguf"));
  ASSERT_TRUE(contents.ok()) << contents.status().message();
  EXPECT_EQ(contents->tensors.size(), static_cast<size_t>(kTinyLlmTensors - 1));
  for (const gguf::TensorInfoRecord& t : contents->tensors) EXPECT_NE(t.name, "output.weight");
  EXPECT_EQ(ReadJson(dir.File("tied.report.json"))["architecture"]["tied_embeddings"], true);
}

TEST(GgufCliTest, RefusalsNameTheProblemAndWriteNothing) {
  TempDir dir;
  const std::string out = dir.File("x.gguf");
  const std::string model = Tiny("tiny_llm_optimum.onnx");
  const std::string tokenizer = Tiny("tokenizer.model");
  ExpectRefusal(RunPq({"quantize", model, "-o", dir.File("x.onnx"), "--scheme", "gguf-q4_0", "--tokenizer",
                       tokenizer}),
                kExitUsage, "must end in .gguf");
  ExpectRefusal(RunPq({"quantize", model, "-o", out, "--scheme", "nf4", "--tokenizer", tokenizer}), kExitUsage,
                "use a gguf-* scheme");
  ExpectRefusal(RunPq({"quantize", model, "-o", out, "--scheme", "gguf-q4_0"}), kExitUsage, "--tokenizer is required");
  ExpectRefusal(RunPq({"quantize", model, "-o", out, "--scheme", "gguf-q4_0", "--tokenizer", tokenizer, "--validate",
                       Tiny("heldout_tokens.npy")}),
                kExitUsage, "apply to ONNX outputs");
  // Not a decoder.
  ExpectRefusal(RunPq({"quantize", testing::ModelsDir() + "/fashion_cnn.onnx", "-o", out, "--scheme", "gguf-q8_0",
                       "--tokenizer", tokenizer}),
                kExitInvalidInput, "fashion_cnn.onnx");
  // A tokenizer whose vocabulary is not the embedding's.
  {
    std::ofstream json(dir.File("tokenizer.json"));
    json << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
  }
  ExpectRefusal(RunPq({"quantize", model, "-o", out, "--scheme", "gguf-q8_0", "--tokenizer",
                       dir.File("tokenizer.json")}),
                kExitInvalidInput, "has 3 tokens but the model's embedding has 1536 rows");
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(dir.File("x.report.json")));
  // An existing output is not replaced without --force.
  { std::ofstream(out) << "keep"; }
  ExpectRefusal(RunPq({"quantize", model, "-o", out, "--scheme", "gguf-q8_0", "--tokenizer", tokenizer}),
                kExitOutput, "already exists");
  EXPECT_EQ(ReadAll(out), "keep");
}

}  // namespace
}  // namespace pq
