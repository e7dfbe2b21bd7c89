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
  QuantizeOptions nf4_onnx = Options("nf4");
  nf4_onnx.nf4_format = "onnx";
  QuantizeOptions int4_onnx = Options("int4-sym");
  int4_onnx.int4_format = "onnx";
  const Case cases[] = {
      {Options("int8-sym"), {WeightEncoding::kDequantizeLinear}},
      {Options("nf4"), {WeightEncoding::kMatMulBnb4}},
      {nf4_onnx, {WeightEncoding::kCodebookDecode}},
      {Options("int4-sym"), {WeightEncoding::kMatMulNBits}},
      {int4_onnx, {WeightEncoding::kBlockedDequantizeLinear}},
      {Options("nf4", "int8-asym"), {WeightEncoding::kDequantizeLinear, WeightEncoding::kMatMulBnb4}},
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
                                            "int4_format", "double_quant", "fallback"}));
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

}  // namespace
}  // namespace pq::quant
