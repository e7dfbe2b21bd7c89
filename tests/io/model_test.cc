#include "pq/model.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "onnx/onnx_pb.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::TempDir;

Result<std::unique_ptr<Model>> LoadProto(const onnx::ModelProto& proto, const TempDir& dir) {
  const std::string path = dir.File("m.onnx");
  testing::SaveProto(proto, path);
  return Model::Load(path);
}

void ExpectInvalid(const onnx::ModelProto& proto, const std::string& fragment,
                   Status::Code code = Status::Code::kInvalidInput) {
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(proto, dir);
  ASSERT_FALSE(model.ok()) << "expected a refusal mentioning: " << fragment;
  EXPECT_EQ(model.status().code(), code) << model.status().ToString();
  EXPECT_NE(model.status().message().find(fragment), std::string::npos)
      << model.status().message();
  EXPECT_NE(model.status().message().find("m.onnx"), std::string::npos)
      << "the message must name the file: " << model.status().message();
}

TEST(ModelLoadTest, InitializersAreConstants) {
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(testing::TinyMatMulModel(), dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ConstantTensor* w = model.value()->FindConstant("W");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->source, ConstantSource::kInitializer);
  EXPECT_EQ(w->dims, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(w->byte_size, 48);
  const ConstantTensor* b = model.value()->FindConstant("B");
  ASSERT_NE(b, nullptr);
  float first;
  std::memcpy(&first, b->data, 4);
  EXPECT_EQ(first, 0.5f);
  EXPECT_EQ(model.value()->FindConstant("X"), nullptr);
}

TEST(ModelLoadTest, ConstantNodeWeightsAreConstantsToo) {
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(testing::TinyConstantNodeModel(), dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ConstantTensor* w = model.value()->FindConstant("W");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->source, ConstantSource::kConstantNode);
  EXPECT_EQ(w->node_name, "const_W");
  EXPECT_EQ(w->dims, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(w->byte_size, 48);
  // Same bytes as the initializer form of the same model.
  TempDir dir2;
  Result<std::unique_ptr<Model>> init_model = LoadProto(testing::TinyMatMulModel(), dir2);
  const ConstantTensor* w2 = init_model.value()->FindConstant("W");
  EXPECT_EQ(std::memcmp(w->data, w2->data, 48), 0);
}

TEST(ModelLoadTest, TypedFieldsAndScalarConstantsDecode) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* b = proto.mutable_graph()->mutable_initializer(1);
  b->clear_raw_data();
  for (float v : {1.5f, 2.5f, -3.0f}) b->add_float_data(v);
  auto* node = proto.mutable_graph()->add_node();
  node->set_op_type("Constant");
  node->add_output("k");
  auto* attr = node->add_attribute();
  attr->set_name("value_ints");
  attr->set_type(onnx::AttributeProto::INTS);
  attr->add_ints(7);
  attr->add_ints(-9);
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(proto, dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ConstantTensor* bias = model.value()->FindConstant("B");
  ASSERT_EQ(bias->byte_size, 12);
  float values[3];
  std::memcpy(values, bias->data, 12);
  EXPECT_EQ(values[2], -3.0f);
  const ConstantTensor* k = model.value()->FindConstant("k");
  ASSERT_NE(k, nullptr);
  int64_t ints[2];
  std::memcpy(ints, k->data, 16);
  EXPECT_EQ(ints[1], -9);
}

TEST(ModelLoadTest, RefusesRandomBytes) {
  TempDir dir;
  std::mt19937 rng(7);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  testing::WriteFile(dir.File("noise.onnx"), bytes);
  Result<std::unique_ptr<Model>> model = Model::Load(dir.File("noise.onnx"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(model.status().message().find("noise.onnx"), std::string::npos);
}

TEST(ModelLoadTest, RefusesTruncatedFilesAtEveryTenthOffset) {
  TempDir dir;
  const std::string full = testing::TinyMatMulModel().SerializeAsString();
  for (size_t cut = 0; cut < full.size(); cut += full.size() / 10) {
    testing::WriteFile(dir.File("cut.onnx"), full.substr(0, cut));
    Result<std::unique_ptr<Model>> model = Model::Load(dir.File("cut.onnx"));
    EXPECT_FALSE(model.ok()) << "truncated at " << cut << " of " << full.size() << " loaded";
  }
}

TEST(ModelLoadTest, RefusesMissingFile) {
  Result<std::unique_ptr<Model>> model = Model::Load("/nonexistent/m.onnx");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Status::Code::kInvalidInput);
}

TEST(ModelLoadTest, RefusesRawDataSizeMismatch) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(44);
  ExpectInvalid(proto, "initializer 'W': raw data is 44 bytes but its dims and type (float) need 48");
  proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->append(4, '\0');
  ExpectInvalid(proto, "raw data is 52 bytes");
}

TEST(ModelLoadTest, RefusesPetabyteShapeWithTinyData) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(1LL << 25);
  w->add_dims(1LL << 25);
  ExpectInvalid(proto, "initializer 'W': raw data is 48 bytes");
}

TEST(ModelLoadTest, RefusesNegativeAndOverflowingDims) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->set_dims(0, -4);
  ExpectInvalid(proto, "negative dimension -4");
  proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->set_dims(0, 1LL << 40);
  proto.mutable_graph()->mutable_initializer(0)->set_dims(1, 1LL << 40);
  ExpectInvalid(proto, "overflows int64");
}

TEST(ModelLoadTest, RefusesUnknownDataType) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->set_data_type(99);
  ExpectInvalid(proto, "unknown data type 99", Status::Code::kNotSupported);
}

TEST(ModelLoadTest, RefusesUndefinedInputs) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_node(1)->set_input(1, "nowhere");
  ExpectInvalid(proto, "node 'add' (Add) input 'nowhere' is not a graph input");
}

TEST(ModelLoadTest, RefusesGraphOutputThatNoNodeProduces) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_output(0)->set_name("ghost");
  ExpectInvalid(proto, "graph output 'ghost' is not produced");
}

TEST(ModelLoadTest, RefusesDuplicateNames) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_node(1)->set_output(0, "XW");
  ExpectInvalid(proto, "output 'XW' is already defined");
  proto = testing::TinyMatMulModel();
  *proto.mutable_graph()->add_initializer() = proto.graph().initializer(0);
  ExpectInvalid(proto, "initializer 'W' is defined twice");
}

TEST(ModelLoadTest, RefusesCycles) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* graph = proto.mutable_graph();
  graph->mutable_node(0)->set_input(0, "Y");  // MatMul now consumes Add's output
  ExpectInvalid(proto, "cycle");
}

TEST(ModelLoadTest, RefusesDeeplyNestedSubgraphs) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  onnx::GraphProto inner;
  inner.set_name("leaf");
  for (int depth = 0; depth < 40; ++depth) {
    onnx::GraphProto outer;
    outer.set_name("level");
    auto* node = outer.add_node();
    node->set_op_type("If");
    node->add_input("X");
    auto* attr = node->add_attribute();
    attr->set_name("then_branch");
    attr->set_type(onnx::AttributeProto::GRAPH);
    *attr->mutable_g() = inner;
    inner = outer;
  }
  auto* node = proto.mutable_graph()->add_node();
  node->set_op_type("If");
  node->add_input("X");
  auto* attr = node->add_attribute();
  attr->set_name("then_branch");
  *attr->mutable_g() = inner;
  ExpectInvalid(proto, "nested deeper than");
}

TEST(ModelLoadTest, VersionRanges) {
  ExpectInvalid(testing::TinyMatMulModel(13, 2), "ir_version 2", Status::Code::kNotSupported);
  // Opsets 1-6 load; the executor decides which of their nodes it runs.
  for (int64_t opset : {1, 6, 7, 11, 13, 17, 18, 21}) {
    TempDir dir;
    Result<std::unique_ptr<Model>> model = LoadProto(testing::TinyMatMulModel(opset, 8), dir);
    ASSERT_TRUE(model.ok()) << "opset " << opset << ": " << model.status().ToString();
    EXPECT_TRUE(model.value()->warnings().empty());
    EXPECT_EQ(model.value()->OpsetVersion(""), opset);
  }
  for (int64_t ir : {3, 4, 7, 9, 10}) {
    TempDir dir;
    EXPECT_TRUE(LoadProto(testing::TinyMatMulModel(13, ir), dir).ok()) << "ir_version " << ir;
  }
  TempDir dir;
  Result<std::unique_ptr<Model>> newer = LoadProto(testing::TinyMatMulModel(23, 11), dir);
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(newer.value()->warnings().size(), 2u);
}

TEST(ModelLoadTest, ForeignDomainsArePreserved) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* op = proto.add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  auto* node = proto.mutable_graph()->add_node();
  node->set_op_type("FusedGemm");
  node->set_domain("com.microsoft");
  node->add_input("X");
  node->add_output("extra");
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(proto, dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model.value()->OpsetVersion("com.microsoft"), 1);
  EXPECT_EQ(model.value()->proto().graph().node(2).domain(), "com.microsoft");
}

TEST(ModelLoadTest, SymbolicDimsAreKept) {
  TempDir dir;
  Result<std::unique_ptr<Model>> model = LoadProto(testing::TinyMatMulModel(), dir);
  ASSERT_TRUE(model.ok());
  const auto& dim = model.value()->proto().graph().input(0).type().tensor_type().shape().dim(0);
  EXPECT_EQ(dim.dim_param(), "batch");
}

}  // namespace
}  // namespace pq
