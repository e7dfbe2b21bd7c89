// End-to-end tests of `pq quantize --embeddings`, `--lm-head`, the
// [quantize.overrides] section of --config and `--accuracy-level` on the
// sample decoder LLM (models/tiny_llm, optimum layout): the quantized
// models run in pq's executor with held-out next-token distributions close
// to FP32's (mean KL divergence under bounds measured here), a tied
// embedding/lm_head is written once, every choice is in the report, and the
// refusals (an override naming no scheme, --accuracy-level without
// MatMulNBits) exit 2 writing nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/tiny_llm_variants.h"
#include "onnx/onnx_pb.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

// Held-out mean KL divergence from FP32 (pq's executor, heldout_tokens.npy,
// deterministic for any thread count), measured for each model below, with
// a margin of 1.2x:
//   the int8 embedding table alone                          8.0e-6
//   int4-sym with a 4-bit table and the default int8 lm_head 0.00913
//   nf4 with the default int8 lm_head                       0.00687
//     (0.0139 with the lm_head in 4 bits, --lm-head same)
//   tied variant, int4-asym --lm-head same, table int8      0.00390
//   tied variant, int4-asym --lm-head same, table 4-bit     0.00891
constexpr double kMaxKldInt8TableAlone = 1.0e-5;
constexpr double kMaxKldInt4SymTable = 0.011;
constexpr double kMaxKldNf4Default = 0.0083;
constexpr double kMaxKldTiedInt8 = 0.0047;
constexpr double kMaxKldTiedInt4 = 0.0107;
// The int8 lm_head must keep nf4's KLD well under the 4-bit lm_head's.
constexpr double kMaxNf4DefaultToSame = 0.6;

std::string Tiny(const std::string& file) { return testing::ModelsDir() + "/tiny_llm/" + file; }
std::string Llm() { return Tiny("tiny_llm_optimum.onnx"); }

nlohmann::json ReadJson(const std::string& path) { return nlohmann::json::parse(ReadFile(path)); }

onnx::ModelProto ReadModel(const std::string& path) {
  onnx::ModelProto proto;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(proto.ParseFromIstream(&in)) << path;
  return proto;
}

// Runs `pq quantize` with validation on the held-out tokens; returns the
// report (null JSON when pq failed).
nlohmann::json QuantizeValidated(const TempDir& dir, const std::string& model, const std::string& out,
                                 std::vector<std::string> flags) {
  std::vector<std::string> args = {"-q", "quantize", model, "-o", dir.File(out), "--validate",
                                   Tiny("heldout_tokens.npy"), "--task", "lm", "--threads", "1"};
  args.insert(args.end(), flags.begin(), flags.end());
  CliRun run = RunPq(args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  if (run.exit_code != 0) return nullptr;
  std::string report = dir.File(out);
  report.replace(report.size() - 5, 5, ".report.json");
  return ReadJson(report);
}

double MeanKld(const nlohmann::json& report) {
  return report["validation"]["metrics"]["lm"]["kld_mean"].get<double>();
}

const nlohmann::json* TensorNamed(const nlohmann::json& report, const std::string& name) {
  for (const nlohmann::json& t : report["tensors"]) {
    if (t["name"] == name) return &t;
  }
  return nullptr;
}

std::map<std::string, int> OpCounts(const onnx::ModelProto& proto) {
  std::map<std::string, int> counts;
  for (const auto& n : proto.graph().node()) ++counts[n.op_type()];
  return counts;
}

TEST(EmbeddingsCliTest, Int8EmbeddingRowsRunInPqCloseToFp32) {
  TempDir dir;
  // The MatMuls excluded: the table alone is quantized.
  const nlohmann::json report =
      QuantizeValidated(dir, Llm(), "q.onnx", {"--scheme", "int8-sym", "--weights-only", "--embeddings", "int8",
                                               "--lm-head", "keep", "--exclude-op-types", "MatMul"});
  ASSERT_FALSE(report.is_null());
  const nlohmann::json* t = TensorNamed(report, "model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ((*t)["to_dtype"], "int8");
  EXPECT_EQ((*t)["axis"], 0);
  EXPECT_EQ((*t)["scale"].size(), 1536u);  // one scale per row (token)
  EXPECT_EQ((*t)["selection"]["by"], "embeddings");
  EXPECT_EQ((*t)["selection"]["value"], "int8");
  EXPECT_EQ((*t)["consumers"][0]["op_type"], "Gather");
  EXPECT_EQ(report["config"]["embeddings"], "int8");
  EXPECT_EQ(report["config"]["lm_head"], "keep");
  EXPECT_EQ(report["summary"]["tensors_quantized"]["weights"], 1);
  EXPECT_EQ(report["summary"]["nodes_quantized"], 1);  // the Gather
  EXPECT_GT(MeanKld(report), 0.0);
  EXPECT_LE(MeanKld(report), kMaxKldInt8TableAlone);
  const onnx::ModelProto q = ReadModel(dir.File("q.onnx"));
  for (const auto& init : q.graph().initializer()) EXPECT_NE(init.name(), "model.embed_tokens.weight");
}

TEST(EmbeddingsCliTest, FourBitEmbeddingsAsBlockedDequantizeLinearAndGatherBlockQuantized) {
  TempDir dir;
  // int4-sym --int4-format onnx: INT4 rows read by DequantizeLinear-21 -> Gather.
  const nlohmann::json onnx_report =
      QuantizeValidated(dir, Llm(), "onnx.onnx", {"--scheme", "int4-sym", "--int4-format", "onnx", "--embeddings",
                                                  "4bit"});
  ASSERT_FALSE(onnx_report.is_null());
  const nlohmann::json* t = TensorNamed(onnx_report, "model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ((*t)["to_dtype"], "int4");
  EXPECT_EQ((*t)["written_as"]["form"], "DequantizeLinear");
  EXPECT_EQ((*t)["axis"], 1);  // blocks along the hidden axis
  EXPECT_EQ((*t)["block_size"], 32);
  // --int4-format ort: com.microsoft GatherBlockQuantized, same codes.
  const nlohmann::json ort_report =
      QuantizeValidated(dir, Llm(), "ort.onnx", {"--scheme", "int4-sym", "--embeddings", "4bit"});
  ASSERT_FALSE(ort_report.is_null());
  t = TensorNamed(ort_report, "model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ((*t)["written_as"]["form"], "GatherBlockQuantized");
  EXPECT_EQ((*t)["stored_bytes"], 1536 * 64 + 1536 * 4 * 4);  // codes, then 4 float scales per row
  const onnx::ModelProto q = ReadModel(dir.File("ort.onnx"));
  const std::map<std::string, int> ops = OpCounts(q);
  EXPECT_EQ(ops.count("GatherBlockQuantized") ? ops.at("GatherBlockQuantized") : 0, 1);
  EXPECT_EQ(ops.at("MatMulNBits"), 28);  // 7 per layer; the lm_head is int8 (DequantizeLinear -> MatMul)
  // The same codes and scales in both forms: the same logits.
  EXPECT_NEAR(MeanKld(onnx_report), MeanKld(ort_report), 1e-6);
  EXPECT_LE(MeanKld(ort_report), kMaxKldInt4SymTable);
}

TEST(EmbeddingsCliTest, LmHeadIsInt8ByDefaultForNf4) {
  TempDir dir;
  const nlohmann::json report = QuantizeValidated(dir, Llm(), "q.onnx", {"--scheme", "nf4"});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["config"]["lm_head"], "int8");
  EXPECT_EQ(report["config"]["embeddings"], "keep");
  int nf4 = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (t["name"] == "lm_head.weight") {
      EXPECT_EQ(t["scheme"], "int8-sym");
      EXPECT_EQ(t["to_dtype"], "int8");
      EXPECT_EQ(t["granularity"], "per-channel");
      EXPECT_EQ(t["axis"], 1);  // MatMul B [K, N]: one scale per output (vocabulary) column
      EXPECT_EQ(t["selection"]["by"], "lm_head");
      EXPECT_EQ(t["selection"]["value"], "int8");
    } else if (t["role"] == "weight") {
      EXPECT_EQ(t["scheme"], "nf4") << t["name"];
      EXPECT_FALSE(t.contains("selection")) << t["name"];
      ++nf4;
    }
  }
  EXPECT_EQ(nf4, 28);
  const std::map<std::string, int> ops = OpCounts(ReadModel(dir.File("q.onnx")));
  EXPECT_EQ(ops.at("MatMulBnb4"), 28);
  EXPECT_EQ(ops.at("DequantizeLinear"), 1);
  EXPECT_LE(MeanKld(report), kMaxKldNf4Default);
  // The lm_head in 4 bits too, and kept FP32: it says so.
  const nlohmann::json same = QuantizeValidated(dir, Llm(), "same.onnx", {"--scheme", "nf4", "--lm-head", "same"});
  ASSERT_FALSE(same.is_null());
  EXPECT_EQ(TensorNamed(same, "lm_head.weight")->at("scheme"), "nf4");
  EXPECT_LE(MeanKld(report), kMaxNf4DefaultToSame * MeanKld(same));
  CliRun keep = RunPq({"-q", "quantize", Llm(), "-o", dir.File("keep.onnx"), "--scheme", "nf4", "--lm-head", "keep"});
  ASSERT_EQ(keep.exit_code, 0) << keep.err;
  const nlohmann::json kept = ReadJson(dir.File("keep.report.json"));
  EXPECT_EQ(TensorNamed(kept, "lm_head.weight"), nullptr);
  bool said = false;
  for (const nlohmann::json& s : kept["skipped"]) {
    said = said || (s["tensor"] == "lm_head.weight" && s["reason"] == "lm_head kept FP32 (--lm-head keep)");
  }
  EXPECT_TRUE(said) << kept["skipped"].dump();
}

TEST(EmbeddingsCliTest, TiedEmbeddingIsWrittenOnce) {
  TempDir dir;
  const onnx::ModelProto tied = testing::TiedTinyLlm();
  {
    std::ofstream out(dir.File("tied.onnx"), std::ios::binary);
    ASSERT_TRUE(tied.SerializeToOstream(&out));
  }
  for (const char* embeddings : {"int8", "4bit"}) {
    SCOPED_TRACE(embeddings);
    const std::string out = std::string("tied_") + embeddings + ".onnx";
    // --lm-head same: the table takes --embeddings, one tensor for both readers.
    const nlohmann::json report =
        QuantizeValidated(dir, dir.File("tied.onnx"), out,
                          {"--scheme", "int4-asym", "--embeddings", embeddings, "--lm-head", "same"});
    ASSERT_FALSE(report.is_null());
    const nlohmann::json* t = TensorNamed(report, "model.embed_tokens.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ((*t)["selection"]["by"], "tied");
    EXPECT_EQ((*t)["selection"]["value"], embeddings);
    std::vector<std::string> readers;
    for (const nlohmann::json& c : (*t)["consumers"]) readers.push_back(c["op_type"]);
    EXPECT_EQ(readers, (std::vector<std::string>{"Gather", "Transpose"}));
    // One stored table of [1536, 128] values: no FP32 copy, no second code tensor.
    const onnx::ModelProto q = ReadModel(dir.File(out));
    int tables = 0;
    for (const auto& init : q.graph().initializer()) {
      int64_t count = 1;
      for (int64_t d : init.dims()) count *= d;
      if (count == 1536 * 128) ++tables;
      EXPECT_NE(init.name(), "model.embed_tokens.weight");
    }
    EXPECT_EQ(tables, 1);
    EXPECT_LE(MeanKld(report), std::string(embeddings) == "int8" ? kMaxKldTiedInt8 : kMaxKldTiedInt4);
  }
  // --lm-head int8 with --embeddings 4bit: the more precise int8 serves both.
  const nlohmann::json report = QuantizeValidated(dir, dir.File("tied.onnx"), "tied_mixed.onnx",
                                                  {"--scheme", "nf4", "--embeddings", "4bit"});
  ASSERT_FALSE(report.is_null());
  const nlohmann::json* t = TensorNamed(report, "model.embed_tokens.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ((*t)["selection"]["value"], "int8");
  EXPECT_EQ((*t)["to_dtype"], "int8");
}

TEST(EmbeddingsCliTest, OverridesApplyTheFirstMatchingPatternAndAreRecorded) {
  TempDir dir;
  testing::WriteFile(dir.File("pq.toml"),
                     "[quantize]\n"
                     "scheme = \"nf4\"\n"
                     "[quantize.overrides]\n"
                     "# the first matching pattern wins\n"
                     "\"*layers.0.mlp.down_proj*\" = \"keep\"\n"
                     "\"*down_proj*\" = \"int8-sym\"   # the other three layers\n"
                     "'/layers.1/self_attn/q_proj/MatMul' = 'int4-asym'\n");
  CliRun run = RunPq({"-q", "--config", dir.File("pq.toml"), "quantize", Llm(), "-o", dir.File("q.onnx")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = ReadJson(dir.File("q.report.json"));
  ASSERT_EQ(report["config"]["overrides"].size(), 3u);
  EXPECT_EQ(report["config"]["overrides"][1]["pattern"], "*down_proj*");
  int int8 = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    const std::string name = t["name"];
    if (name.find("down_proj") != std::string::npos) {
      EXPECT_EQ(t["scheme"], "int8-sym") << name;
      EXPECT_EQ(t["selection"]["by"], "override");
      EXPECT_EQ(t["selection"]["pattern"], "*down_proj*");
      EXPECT_EQ(t["selection"]["value"], "int8-sym");
      ++int8;
    }
    if (name == "model.layers.1.self_attn.q_proj.weight") {  // matched by its node's name
      EXPECT_EQ(t["scheme"], "int4-asym");
      EXPECT_EQ(t["written_as"]["form"], "MatMulNBits");
      EXPECT_EQ(t["selection"]["pattern"], "/layers.1/self_attn/q_proj/MatMul");
    }
    EXPECT_NE(name, "model.layers.0.mlp.down_proj.weight");
  }
  EXPECT_EQ(int8, 3);
  bool kept = false;
  for (const nlohmann::json& s : report["skipped"]) {
    kept = kept || (s["tensor"] == "model.layers.0.mlp.down_proj.weight" &&
                    s["reason"] == "kept FP32 by [quantize.overrides] pattern '*layers.0.mlp.down_proj*'");
  }
  EXPECT_TRUE(kept) << report["skipped"].dump();
  CliRun rendered = RunPq({"report", dir.File("q.report.json")});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  EXPECT_NE(rendered.out.find("Schemes chosen by rule"), std::string::npos);
  EXPECT_NE(rendered.out.find("*down_proj*"), std::string::npos);
}

TEST(EmbeddingsCliTest, AnOverrideNamingNoSchemeIsAUsageErrorAndWritesNothing) {
  TempDir dir;
  testing::WriteFile(dir.File("pq.toml"), "[quantize.overrides]\n\"*up_proj*\" = \"int3\"\n");
  ExpectRefusal(RunPq({"--config", dir.File("pq.toml"), "quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme",
                       "nf4"}),
                kExitUsage, "pattern '*up_proj*': unknown scheme 'int3'");
  testing::WriteFile(dir.File("bad.toml"), "[quantize.overrides]\n\"*up_proj*\" int8-sym\n");
  ExpectRefusal(RunPq({"--config", dir.File("bad.toml"), "quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme",
                       "nf4"}),
                kExitUsage, "bad.toml line 2");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"bad.toml", "pq.toml"}));
}

TEST(EmbeddingsCliTest, AccuracyLevelIsWrittenIntoMatMulNBitsOnly) {
  TempDir dir;
  ExpectRefusal(RunPq({"quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--accuracy-level", "4"}),
                kExitUsage, "--accuracy-level needs MatMulNBits");
  ExpectRefusal(RunPq({"quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "int4-sym", "--int4-format", "onnx",
                       "--accuracy-level", "4"}),
                kExitUsage, "MatMulNBits");
  EXPECT_TRUE(dir.List().empty());
  CliRun run = RunPq({"-q", "quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "int4-sym", "--accuracy-level",
                      "4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  int written = 0;
  const onnx::ModelProto q = ReadModel(dir.File("q.onnx"));
  for (const auto& n : q.graph().node()) {
    if (n.op_type() != "MatMulNBits") continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == "accuracy_level") {
        EXPECT_EQ(a.i(), 4);
        ++written;
      }
    }
  }
  EXPECT_EQ(written, 28);
  const nlohmann::json report = ReadJson(dir.File("q.report.json"));
  EXPECT_EQ(report["config"]["accuracy_level"], 4);
  EXPECT_EQ(TensorNamed(report, "model.layers.0.mlp.up_proj.weight")->at("written_as")["accuracy_level"], 4);
}

}  // namespace
}  // namespace pq
