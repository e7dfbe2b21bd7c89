#include "pq/inspect.h"

#include <gtest/gtest.h>

#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

nlohmann::ordered_json Inspect(const onnx::ModelProto& proto) {
  testing::TempDir dir;
  testing::SaveProto(proto, dir.File("m.onnx"));
  Result<std::unique_ptr<Model>> model = Model::Load(dir.File("m.onnx"));
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return InspectModel(*model.value());
}

TEST(InspectTest, DescribesInputsOutputsAndNodes) {
  nlohmann::ordered_json doc = Inspect(testing::TinyMatMulModel(13, 8));
  EXPECT_EQ(doc["ir_version"], 8);
  EXPECT_EQ(doc["opsets"][0]["domain"], "ai.onnx");
  EXPECT_EQ(doc["opsets"][0]["version"], 13);
  ASSERT_EQ(doc["inputs"].size(), 1u);
  EXPECT_EQ(doc["inputs"][0]["name"], "X");
  EXPECT_EQ(doc["inputs"][0]["dtype"], "float");
  EXPECT_EQ(doc["inputs"][0]["shape"], nlohmann::ordered_json::parse(R"(["batch", 4])"));
  EXPECT_EQ(doc["nodes"]["total"], 2);
  EXPECT_EQ(doc["nodes"]["by_op_type"]["MatMul"], 1);
  EXPECT_EQ(doc["parameters"]["count"], 15);
  EXPECT_EQ(doc["parameters"]["bytes"], 60);
  EXPECT_EQ(doc["quantization"]["present"], false);
}

TEST(InspectTest, ListsQuantizableWeightsFromEitherSource) {
  for (bool constant_nodes : {false, true}) {
    nlohmann::ordered_json doc =
        Inspect(constant_nodes ? testing::TinyConstantNodeModel() : testing::TinyMatMulModel());
    ASSERT_EQ(doc["quantizable_weights"].size(), 1u);
    const auto& w = doc["quantizable_weights"][0];
    EXPECT_EQ(w["node"], "matmul");
    EXPECT_EQ(w["tensor"], "W");
    EXPECT_EQ(w["shape"], nlohmann::ordered_json::parse("[4, 3]"));
    EXPECT_EQ(w["source"], constant_nodes ? "constant_node" : "initializer");
  }
}

TEST(InspectTest, ReportsExistingQuantization) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* graph = proto.mutable_graph();
  *graph->add_initializer() = testing::FloatTensor("s", {}, {0.1f});
  auto* q = graph->add_node();
  q->set_op_type("QuantizeLinear");
  q->add_input("X");
  q->add_input("s");
  q->add_output("Xq");
  nlohmann::ordered_json doc = Inspect(proto);
  EXPECT_EQ(doc["quantization"]["present"], true);
  EXPECT_EQ(doc["quantization"]["by_op_type"]["QuantizeLinear"], 1);
}

TEST(InspectTest, InitializersListedAsInputsAreNotInputs) {
  onnx::ModelProto proto = testing::TinyMatMulModel(9, 3);
  *proto.mutable_graph()->add_input() = testing::FloatValueInfo("W", {4, 3});
  nlohmann::ordered_json doc = Inspect(proto);
  ASSERT_EQ(doc["inputs"].size(), 1u);
  EXPECT_EQ(doc["inputs"][0]["name"], "X");
}

TEST(InspectTest, TextRenderingNamesTheEssentials) {
  const std::string text = RenderInspection(Inspect(testing::TinyMatMulModel()));
  EXPECT_NE(text.find("ir_version:  8"), std::string::npos);
  EXPECT_NE(text.find("X  float [batch, 4]"), std::string::npos);
  EXPECT_NE(text.find("matmul (MatMul) W float [4, 3]"), std::string::npos);
}

}  // namespace
}  // namespace pq
