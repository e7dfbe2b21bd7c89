// Direct tests of src/quant/embedding_tables.cc on the sample decoder LLM
// and its tied variant: which tables are embeddings, which reads tie them,
// and which node is the lm_head.
#include "quant/embedding_tables.h"

#include <gtest/gtest.h>

#include <memory>

#include "gguf/tiny_llm_variants.h"
#include "onnx/onnx_pb.h"
#include "testutil/temp_dir.h"

namespace pq::quant {
namespace {

std::unique_ptr<Model> Load(const std::string& path) {
  Result<std::unique_ptr<Model>> model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto) {
  Result<std::unique_ptr<Model>> model =
      Model::FromProto(std::make_unique<onnx::ModelProto>(proto), testing::TinyLlmDir(), "tied");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

int NodeIndex(const Model& model, const std::string& name) {
  const auto& graph = model.proto().graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    if (graph.node(i).name() == name) return i;
  }
  return -1;
}

TEST(EmbeddingTablesTest, TheTokenTableIsTheDecodersOnlyEmbedding) {
  const std::unique_ptr<Model> model = Load(testing::TinyLlmDir() + "/tiny_llm_optimum.onnx");
  ASSERT_NE(model, nullptr);
  const std::vector<EmbeddingTable> tables = FindEmbeddingTables(*model);
  // The rotary cos/sin tables are gathered by position_ids: not embeddings.
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].tensor, "model.embed_tokens.weight");
  EXPECT_EQ(tables[0].rows, 1536);
  EXPECT_EQ(tables[0].cols, 128);
  ASSERT_EQ(tables[0].gathers.size(), 1u);
  EXPECT_EQ(tables[0].gathers[0], (Use{NodeIndex(*model, "/embed_tokens/Gather"), 0}));
  EXPECT_FALSE(tables[0].tied());
  EXPECT_EQ(FindLmHead(*model), NodeIndex(*model, "/lm_head/MatMul"));
  EXPECT_TRUE(ReadsAsWeight(*model, FindLmHead(*model), "lm_head.weight"));
  EXPECT_FALSE(ReadsAsWeight(*model, FindLmHead(*model), "model.embed_tokens.weight"));
}

TEST(EmbeddingTablesTest, ATableTheLmHeadReadsThroughATransposeIsTied) {
  const std::unique_ptr<Model> model = FromProto(testing::TiedTinyLlm());
  ASSERT_NE(model, nullptr);
  const std::vector<EmbeddingTable> tables = FindEmbeddingTables(*model);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].tied());
  ASSERT_EQ(tables[0].other_reads.size(), 1u);
  EXPECT_EQ(tables[0].other_reads[0], (Use{NodeIndex(*model, "/lm_head/Transpose"), 0}));
  const int lm_head = FindLmHead(*model);
  EXPECT_EQ(lm_head, NodeIndex(*model, "/lm_head/MatMul"));
  EXPECT_TRUE(ReadsAsWeight(*model, lm_head, "model.embed_tokens.weight"));
}

TEST(EmbeddingTablesTest, WithoutLogitsTheLastMatMulReadingAConstantIsTheLmHead) {
  onnx::ModelProto proto = testing::EditedTinyLlm([](onnx::GraphProto* graph) {
    graph->mutable_output(0)->set_name("scores");
    testing::NodeNamed(graph, "/lm_head/MatMul")->set_output(0, "scores");
  });
  const std::unique_ptr<Model> model = FromProto(proto);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(FindLmHead(*model), NodeIndex(*model, "/lm_head/MatMul"));
}

TEST(EmbeddingTablesTest, AModelWithoutTokenIdsHasNoLmHead) {
  const std::unique_ptr<Model> model = Load(testing::ModelsDir() + "/fashion_vit.onnx");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(FindLmHead(*model), -1);  // its Gemm writes "logits", but it is a classifier
}

}  // namespace
}  // namespace pq::quant
