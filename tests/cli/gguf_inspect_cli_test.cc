// pq inspect on GGUF files (tools/pq/cmd_inspect.cc, src/gguf/gguf_inspect.cc):
// text and --json output of a file pq wrote, and refusals of hostile files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gguf/ggml_types.h"
#include "gguf/gguf_file.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::ExpectRefusal;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::RunPq;
using testing::TempDir;

// A GGUF with a few keys, a long array and a q4_0 and an f32 tensor.
std::string WriteSample(const TempDir& dir, const std::string& name) {
  std::vector<float> row(64);
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>(i) * 0.25f - 8;
  gguf::TensorToWrite q{"blk.0.attn_q.weight", {64, 1}, gguf::GgmlType::kQ4_0,
                        std::vector<uint8_t>(gguf::RowBytes(gguf::GgmlType::kQ4_0, 64))};
  EXPECT_TRUE(gguf::QuantizeRow(gguf::GgmlType::kQ4_0, row.data(), 64, nullptr, q.bytes.data()).ok());
  gguf::TensorToWrite f{"output_norm.weight", {4}, gguf::GgmlType::kF32, std::vector<uint8_t>(16)};
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i) tokens.push_back("tok" + std::to_string(i));
  const std::string path = dir.File(name);
  const Status s = gguf::WriteGguf(path,
                                   {{"general.architecture", gguf::Value::String("llama")},
                                    {"llama.block_count", gguf::Value::Uint32(1)},
                                    {"tokenizer.ggml.tokens", gguf::Value::Strings(tokens)}},
                                   {q, f});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

TEST(GgufInspectCliTest, PrintsHeaderMetadataAndTensors) {
  TempDir dir;
  const std::string path = WriteSample(dir, "model.bin");  // found by its magic, not its name
  const testing::CliRun run = RunPq({"inspect", path});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  for (const char* expected : {"version:     3", "general.architecture  string = \"llama\"",
                               "llama.block_count  uint32 = 1",
                               "tokenizer.ggml.tokens  array<string>[20] = [\"tok0\", \"tok1\"",
                               "blk.0.attn_q.weight  [64, 1]  q4_0  36 bytes at 0",
                               "output_norm.weight  [4]  f32  16 bytes at 64",
                               "parameters:  68 in 52 bytes", "q4_0: 64 in 1 tensors, 36 bytes"}) {
    EXPECT_NE(run.out.find(expected), std::string::npos) << expected << "\n" << run.out;
  }
}

TEST(GgufInspectCliTest, JsonDocument) {
  TempDir dir;
  const std::string path = WriteSample(dir, "model.gguf");
  const testing::CliRun run = RunPq({"inspect", "--json", path});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["format"], "gguf");
  EXPECT_EQ(doc["metadata"][2]["length"], 20);
  EXPECT_EQ(doc["metadata"][2]["first"].size(), 8u);
  EXPECT_EQ(doc["tensors"][0]["type"], "q4_0");
  EXPECT_EQ(doc["tensors"][1]["offset"], 64);
  EXPECT_EQ(doc["totals"]["by_type"]["f32"]["bytes"], 16);
}

TEST(GgufInspectCliTest, HostileFilesAreRefusedWithExit3) {
  TempDir dir;
  const std::string bytes = testing::ReadFile(WriteSample(dir, "ok.gguf"));
  const std::string cut = dir.File("cut.gguf");
  testing::WriteFile(cut, bytes.substr(0, bytes.size() - 20));  // into the f32 data
  ExpectRefusal(RunPq({"inspect", cut}), kExitInvalidInput, "beyond");
  const std::string huge = dir.File("huge.gguf");
  std::string header = bytes.substr(0, 24);
  header.replace(16, 8, std::string("\xff\xff\xff\xff\xff\xff\xff\x0f", 8));  // kv count
  testing::WriteFile(huge, header);
  ExpectRefusal(RunPq({"inspect", huge}), kExitInvalidInput, "key/value count");
  const std::string empty = dir.File("empty.gguf");
  testing::WriteFile(empty, "");
  ExpectRefusal(RunPq({"inspect", empty}), kExitInvalidInput, "not a GGUF file");
}

}  // namespace
}  // namespace pq
