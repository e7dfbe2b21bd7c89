// Direct tests of src/quant/scheme_set.cc: what MakeSchemeSet refuses, which
// encodings a set writes, and the schemes' part of the report's config.
#include "quant/scheme_set.h"

#include <gtest/gtest.h>

namespace pq::quant {
namespace {

using Json = nlohmann::ordered_json;

bool Mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

QuantizeOptions Options(const std::string& scheme, const std::string& fallback = "") {
  QuantizeOptions o;
  o.scheme = scheme;
  o.fallback = fallback;
  return o;
}

void ExpectRefused(const QuantizeOptions& o, const std::string& mention) {
  Result<SchemeSet> set = MakeSchemeSet(o);
  ASSERT_FALSE(set.ok()) << mention;
  EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Mentions(set.status().message(), mention)) << set.status().message();
}

TEST(SchemeSetTest, RefusesBlockSizesFormatsAndUnknownSchemes) {
  for (int64_t bad : {8, 48, 8192}) {
    QuantizeOptions o = Options("nf4");
    o.block_size = bad;
    ExpectRefused(o, std::to_string(bad));
  }
  for (int64_t good : {16, 4096}) {
    QuantizeOptions o = Options("nf4");
    o.block_size = good;
    EXPECT_TRUE(MakeSchemeSet(o).ok()) << good;
  }
  QuantizeOptions o = Options("nf4");
  o.nf4_format = "x";
  ExpectRefused(o, "'x'");
  o = Options("int4-sym");
  o.int4_format = "y";
  ExpectRefused(o, "'y'");
  ExpectRefused(Options("int3"), "int3");
  Result<SchemeSet> set = MakeSchemeSet(Options("nf4", "int3"));
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(set.status().message().rfind("--fallback", 0), 0u) << set.status().message();
}

TEST(SchemeSetTest, MakesMainAndFallbackWithTheirOptions) {
  QuantizeOptions o = Options("nf4", "int8-sym");
  o.block_size = 128;
  Result<SchemeSet> set = MakeSchemeSet(o);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(std::string(set->main->Name()), "nf4");
  ASSERT_NE(set->fallback, nullptr);
  EXPECT_EQ(std::string(set->fallback->Name()), "int8-sym");
  EXPECT_EQ(set->options.block_size, 128);
  EXPECT_EQ(MakeSchemeSet(Options("int8-sym")).value().fallback, nullptr);
}

TEST(SchemeSetTest, WritesNamesTheEncodingsOfMainAndFallback) {
  const WeightEncoding all[] = {WeightEncoding::kDequantizeLinear, WeightEncoding::kMatMulBnb4,
                                WeightEncoding::kMatMulNBits, WeightEncoding::kCodebookDecode,
                                WeightEncoding::kBlockedDequantizeLinear};
  struct Case {
    QuantizeOptions options;
    std::vector<WeightEncoding> writes;
  };
  // --lm-head same: the 4-bit schemes alone (their default int8 lm_head
  // writes DequantizeLinear as well).
  auto same = [](QuantizeOptions o) {
    o.lm_head = "same";
    return o;
  };
  QuantizeOptions nf4_onnx = same(Options("nf4"));
  nf4_onnx.nf4_format = "onnx";
  QuantizeOptions int4_onnx = same(Options("int4-sym"));
  int4_onnx.int4_format = "onnx";
  QuantizeOptions int8_override = same(Options("int4-sym"));
  int8_override.overrides = {{"*down_proj*", "int8-sym"}};
  const Case cases[] = {
      {Options("int8-sym"), {WeightEncoding::kDequantizeLinear}},
      {same(Options("nf4")), {WeightEncoding::kMatMulBnb4}},
      {Options("nf4"), {WeightEncoding::kMatMulBnb4, WeightEncoding::kDequantizeLinear}},
      {nf4_onnx, {WeightEncoding::kCodebookDecode}},
      {same(Options("int4-sym")), {WeightEncoding::kMatMulNBits}},
      {int4_onnx, {WeightEncoding::kBlockedDequantizeLinear}},
      {same(Options("nf4", "int8-asym")), {WeightEncoding::kDequantizeLinear, WeightEncoding::kMatMulBnb4}},
      {int8_override, {WeightEncoding::kDequantizeLinear, WeightEncoding::kMatMulNBits}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options.scheme + " + " + c.options.fallback);
    Result<SchemeSet> set = MakeSchemeSet(c.options);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    for (WeightEncoding e : all) {
      const bool expected = std::find(c.writes.begin(), c.writes.end(), e) != c.writes.end();
      EXPECT_EQ(set->Writes(e), expected) << static_cast<int>(e);
    }
    EXPECT_EQ(set->WritesDequantizeLinear(), set->Writes(WeightEncoding::kDequantizeLinear));
  }
}

Json ConfigFor(const QuantizeOptions& o, bool double_quant_applied = false) {
  Result<SchemeSet> set = MakeSchemeSet(o);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return SchemeReportConfig(set.value(), o, double_quant_applied);
}

TEST(SchemeReportConfigTest, Int8SchemesReportOnlySymmetricWeights) {
  EXPECT_EQ(ConfigFor(Options("int8-sym")), (Json{{"symmetric_weights", true}}));
  // int8-asym's weights are symmetric unless --asymmetric-weights.
  EXPECT_EQ(ConfigFor(Options("int8-asym")), (Json{{"symmetric_weights", true}}));
  QuantizeOptions o = Options("int8-asym");
  o.asymmetric_weights = true;
  EXPECT_EQ(ConfigFor(o), (Json{{"symmetric_weights", false}}));
}

TEST(SchemeReportConfigTest, BlockwiseSchemesReportTheirBlockOptions) {
  const Json nf4 = ConfigFor(Options("nf4"));
  std::vector<std::string> keys;
  for (const auto& [key, value] : nf4.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"symmetric_weights", "granularity", "block_size", "nf4_format",
                                            "int4_format", "double_quant", "fallback", "embeddings", "lm_head"}));
  EXPECT_EQ(nf4["embeddings"], "keep");
  EXPECT_EQ(nf4["lm_head"], "int8");  // the 4-bit schemes' default
  EXPECT_EQ(nf4["granularity"], "per-block");
  EXPECT_EQ(nf4["block_size"], "default");
  EXPECT_EQ(nf4["nf4_format"], "ort");
  EXPECT_EQ(nf4["int4_format"], "ort");
  EXPECT_EQ(nf4["double_quant"], (Json{{"requested", false}, {"applied", false}}));
  EXPECT_TRUE(nf4["fallback"].is_null());
  QuantizeOptions o = Options("nf4");
  o.block_size = 128;
  o.nf4_format = "onnx";
  o.double_quant = true;
  const Json custom = ConfigFor(o, true);
  EXPECT_EQ(custom["block_size"], 128);
  EXPECT_EQ(custom["nf4_format"], "onnx");
  EXPECT_EQ(custom["double_quant"], (Json{{"requested", true}, {"applied", true}}));
}

TEST(SchemeReportConfigTest, AFallbackBringsTheBlockOptionsToInt8) {
  const Json config = ConfigFor(Options("int8-sym", "int8-asym"));
  EXPECT_EQ(config["symmetric_weights"], true);
  EXPECT_EQ(config["fallback"], "int8-asym");
  EXPECT_EQ(config["block_size"], "default");
  EXPECT_TRUE(config.contains("double_quant"));
}

TEST(SchemeSetTest, RefusesBadEmbeddingsLmHeadOverridesAndAccuracyLevels) {
  QuantizeOptions o = Options("nf4");
  o.embeddings = "int2";
  ExpectRefused(o, "--embeddings 'int2'");
  o = Options("nf4");
  o.lm_head = "fp16";
  ExpectRefused(o, "--lm-head 'fp16'");
  o = Options("nf4");
  o.overrides = {{"*q_proj*", "keep"}, {"*up_proj*", "int3"}};
  ExpectRefused(o, "pattern '*up_proj*': unknown scheme 'int3'");
  o = Options("nf4");
  o.accuracy_level = 4;
  ExpectRefused(o, "MatMulNBits");
  o = Options("int4-sym");
  o.int4_format = "onnx";
  o.accuracy_level = 1;
  ExpectRefused(o, "MatMulNBits");
  o = Options("int4-sym");
  o.accuracy_level = 5;
  ExpectRefused(o, "0 to 4");
  // An override writing MatMulNBits is enough.
  o = Options("nf4");
  o.overrides = {{"*", "int4-asym"}};
  o.accuracy_level = 4;
  EXPECT_TRUE(MakeSchemeSet(o).ok());
}

TEST(SchemeSetTest, EmbeddingTablesTakeTheSchemesGridInAFormEveryReaderReads) {
  struct Case {
    std::string scheme, int4_format, embeddings;
    std::string table_scheme;
    WeightEncoding gathers_only, tied;
  };
  const Case cases[] = {
      {"int8-sym", "ort", "int8", "int8-sym", WeightEncoding::kDequantizeLinear, WeightEncoding::kDequantizeLinear},
      {"int4-sym", "ort", "4bit", "int4-sym", WeightEncoding::kGatherBlockQuantized,
       WeightEncoding::kBlockedDequantizeLinear},
      {"int4-asym", "onnx", "4bit", "int4-asym", WeightEncoding::kBlockedDequantizeLinear,
       WeightEncoding::kBlockedDequantizeLinear},
      {"nf4", "ort", "4bit", "nf4", WeightEncoding::kCodebookDecode, WeightEncoding::kCodebookDecode},
      {"int8-asym", "ort", "4bit", "int4-sym", WeightEncoding::kGatherBlockQuantized,
       WeightEncoding::kBlockedDequantizeLinear},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scheme + " " + c.int4_format + " " + c.embeddings);
    QuantizeOptions o = Options(c.scheme);
    o.int4_format = c.int4_format;
    o.embeddings = c.embeddings;
    Result<SchemeSet> set = MakeSchemeSet(o);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    ASSERT_NE(set->embedding, nullptr);
    EXPECT_EQ(set->embedding->Name(), c.table_scheme);
    EXPECT_EQ(set->EmbeddingEncoding(false, 128), c.gathers_only);
    EXPECT_EQ(set->EmbeddingEncoding(true, 128), c.tied);
  }
  // GatherBlockQuantized packs two codes per byte of a row: an odd row does not fit.
  QuantizeOptions o = Options("int4-sym");
  o.embeddings = "4bit";
  EXPECT_EQ(MakeSchemeSet(o)->EmbeddingEncoding(false, 127), WeightEncoding::kBlockedDequantizeLinear);
  EXPECT_EQ(MakeSchemeSet(Options("int4-sym"))->embedding, nullptr);  // keep
}

TEST(SchemeReportConfigTest, OverridesAndAccuracyLevelAreReportedWhenGiven) {
  QuantizeOptions o = Options("int4-sym");
  o.overrides = {{"*down_proj*", "int8-sym"}, {"lm_head*", "keep"}};
  o.accuracy_level = 4;
  const Json config = ConfigFor(o);
  EXPECT_EQ(config["overrides"], (Json::array({{{"pattern", "*down_proj*"}, {"scheme", "int8-sym"}},
                                               {{"pattern", "lm_head*"}, {"scheme", "keep"}}})));
  EXPECT_EQ(config["accuracy_level"], 4);
  EXPECT_FALSE(ConfigFor(Options("int8-sym")).contains("embeddings"));
}

}  // namespace
}  // namespace pq::quant
