// Direct tests of src/quant/constant_writers.cc: one row per weight
// encoding, the lookup returns that row, and the form names are those the
// report shows (and the quantizer records for a written 4-bit weight).
#include "quant/constant_writers.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pq/quantize.h"
#include "quant/two_layer_model.h"
#include "testutil/graph_builder.h"

namespace pq::quant {
namespace {

// Every enumerator of WeightEncoding with the form the report names.
const std::map<WeightEncoding, std::string>& ExpectedForms() {
  static const std::map<WeightEncoding, std::string> kForms = {
      {WeightEncoding::kDequantizeLinear, "DequantizeLinear"},
      {WeightEncoding::kMatMulBnb4, "MatMulBnb4"},
      {WeightEncoding::kMatMulNBits, "MatMulNBits"},
      {WeightEncoding::kCodebookDecode, "decode"},
      {WeightEncoding::kBlockedDequantizeLinear, "DequantizeLinear"},
      {WeightEncoding::kDynamicMatMul, "DynamicQuantizeMatMul"},
      {WeightEncoding::kGatherBlockQuantized, "GatherBlockQuantized"},
  };
  return kForms;
}

TEST(ConstantWritersTest, EveryEncodingHasExactlyOneRow) {
  EXPECT_EQ(ConstantWriterTable().size(), ExpectedForms().size());
  for (const auto& [encoding, form] : ExpectedForms()) {
    SCOPED_TRACE(form);
    int rows = 0;
    for (const ConstantWriterEntry& e : ConstantWriterTable()) rows += e.encoding == encoding;
    EXPECT_EQ(rows, 1);
  }
}

TEST(ConstantWritersTest, LookupReturnsTheEncodingsRowWithItsFormAndWriter) {
  for (const auto& [encoding, form] : ExpectedForms()) {
    SCOPED_TRACE(form);
    const ConstantWriterEntry& row = ConstantWriterFor(encoding);
    EXPECT_EQ(row.encoding, encoding);
    EXPECT_EQ(std::string(row.form), form);
    EXPECT_NE(row.write, nullptr);
  }
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kDequantizeLinear).write, &WriteDequantizeLinearConstant);
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kMatMulBnb4).write, &WriteFusedBlockwise);
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kMatMulNBits).write, &WriteFusedBlockwise);
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kCodebookDecode).write, &WriteCodebookDecode);
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kBlockedDequantizeLinear).write,
            &WriteBlockedDequantizeLinear);
  EXPECT_EQ(ConstantWriterFor(WeightEncoding::kDynamicMatMul).write, &WriteDynamicMatMul);
}

// The quantizer records the row's form for each 4-bit weight it writes.
TEST(ConstantWritersTest, QuantizerRecordsTheRowsFormForWrittenWeights) {
  struct Case {
    std::string scheme, nf4_format, int4_format;
    WeightEncoding encoding;
  };
  const Case cases[] = {{"nf4", "ort", "ort", WeightEncoding::kMatMulBnb4},
                        {"nf4", "onnx", "ort", WeightEncoding::kCodebookDecode},
                        {"int4-sym", "ort", "ort", WeightEncoding::kMatMulNBits},
                        {"int4-asym", "ort", "onnx", WeightEncoding::kBlockedDequantizeLinear}};
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(testing::TwoLayerModel(false)), ".", "t.onnx");
  ASSERT_TRUE(model.ok());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scheme + " " + c.nf4_format + " " + c.int4_format);
    QuantizeOptions options;
    options.scheme = c.scheme;
    options.nf4_format = c.nf4_format;
    options.int4_format = c.int4_format;
    Result<QuantizeOutcome> out = Quantize(*model.value(), options, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_FALSE(out->tensors.empty());
    for (const QuantizedTensorRecord& r : out->tensors) {
      EXPECT_EQ(r.written_form, ConstantWriterFor(c.encoding).form) << r.name;
    }
  }
}

}  // namespace
}  // namespace pq::quant
