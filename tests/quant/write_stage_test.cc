// Direct tests of src/quant/write_stage.cc: every record is told the names of
// what was written for it, and those names exist in the written model;
// records come constants first, then activations, in decision order.
#include "quant/write_stage.h"

#include <gtest/gtest.h>

#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

using testing::ModelHasTensor;

ActivationStats HandStats() {
  ActivationStats s;
  for (const auto& [name, lo, hi] :
       std::vector<std::tuple<std::string, float, float>>{{"X", -1, 2}, {"R", 0, 3}, {"M", -0.5f, 0.5f}}) {
    CalibratedRange r;
    r.chosen_min = lo;
    r.chosen_max = hi;
    s.ranges[name] = r;
  }
  return s;
}

// Decisions for ConvMlpProto under `options` (static when `static_mode`).
Decisions DecisionsFor(const Model& model, const QuantizeOptions& options, bool static_mode) {
  SchemeSet schemes = std::move(MakeSchemeSet(options)).value();
  const QuantPlan plan = BuildPlan(model, options, static_mode, true, *schemes.main, schemes.fallback.get());
  Result<Decisions> d = Decide(model, plan, HandStats(), {}, schemes, *MakeRoundToNearest(), options, "m.onnx");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return std::move(d).value();
}

TEST(WriteStageTest, RecordsNameWhatTheWrittenModelHolds) {
  auto model = testing::ModelOf(testing::ConvMlpProto());
  QuantizeOptions options;
  Decisions decisions = DecisionsFor(*model, options, true);
  std::vector<std::string> order;
  for (const auto& c : decisions.constants) order.push_back(c.record.name);
  for (const auto& a : decisions.activations) order.push_back(a.record.name);
  ASSERT_EQ(order.size(), 5u + 5u);  // Wc Bc Wm Wg Bg; X C R F M
  std::vector<QuantizedTensorRecord> records;
  Result<std::unique_ptr<Model>> written = WriteDecisions(*model, std::move(decisions), "m.onnx", &records);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written.value()->origin(), "m.onnx (quantized)");
  ASSERT_EQ(records.size(), order.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const QuantizedTensorRecord& r = records[i];
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.name, order[i]) << "decision order";
    for (const std::string* name : {&r.quantized_name, &r.scale_name, &r.zero_point_name, &r.dequantized_name}) {
      EXPECT_FALSE(name->empty());
      EXPECT_TRUE(ModelHasTensor(*written.value(), *name)) << *name;
    }
  }
  EXPECT_EQ(testing::CountOpType(*written.value(), "QuantizeLinear"), 5);
  EXPECT_EQ(testing::CountOpType(*written.value(), "DequantizeLinear"), 10);
  EXPECT_FALSE(ModelHasTensor(*written.value(), "Wc")) << "the FP32 weight is gone";
}

// A fused 4-bit weight names the node that replaced its consumer.
TEST(WriteStageTest, FusedWeightsNameTheirNodes) {
  auto model = testing::ModelOf(testing::ConvMlpProto());
  QuantizeOptions options;
  options.scheme = "nf4";
  Decisions decisions = DecisionsFor(*model, options, false);
  ASSERT_FALSE(decisions.constants.empty());
  std::vector<QuantizedTensorRecord> records;
  Result<std::unique_ptr<Model>> written = WriteDecisions(*model, std::move(decisions), "m.onnx", &records);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_FALSE(records.empty());
  for (const QuantizedTensorRecord& r : records) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.written_form, "MatMulBnb4");
    ASSERT_FALSE(r.written_nodes.empty());
    for (const std::string& node : r.written_nodes) {
      bool found = false;
      for (const auto& n : written.value()->proto().graph().node()) {
        found |= n.name() == node && n.op_type() == "MatMulBnb4";
      }
      EXPECT_TRUE(found) << node;
    }
    EXPECT_TRUE(ModelHasTensor(*written.value(), r.quantized_name)) << r.quantized_name;
    EXPECT_TRUE(ModelHasTensor(*written.value(), r.scale_name)) << r.scale_name;
  }
}

}  // namespace
}  // namespace pq::quant
