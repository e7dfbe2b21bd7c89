// Tests of src/exec/executor.cc: input checking, unsupported-op reporting,
// observers and tensor release.
#include "pq/executor.h"

#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

TEST(ExecutorTest, ReportsEveryUnsupportedOpBeforeRunning) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->clear_node();
  proto.mutable_graph()->clear_initializer();
  auto* a = proto.mutable_graph()->add_node();
  a->set_name("weird1");
  a->set_op_type("FrobnicateA");
  a->add_input("X");
  a->add_output("f1");
  auto* b = proto.mutable_graph()->add_node();
  b->set_name("weird2");
  b->set_op_type("FrobnicateB");
  b->add_input("X");
  b->add_output("Y");
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "m.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto executor = Executor::Create(*model.value());
  ASSERT_FALSE(executor.ok());
  EXPECT_EQ(executor.status().code(), Status::Code::kNotSupported);
  const std::string& msg = executor.status().message();
  EXPECT_NE(msg.find("node 'weird1' (FrobnicateA) of domain ai.onnx at opset 13"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("ai.onnx:FrobnicateB-13"), std::string::npos) << msg;
}

}  // namespace
}  // namespace pq
