// Tests of src/exec/executor.cc: input checking, unsupported-op reporting,
// observers and tensor release.
#include "pq/executor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

namespace pq {
namespace {

// Records what the executor shows an observer.
class RecordingObserver : public Observer {
 public:
  void OnTensor(const std::string& name, const Tensor& value) override {
    names.push_back(name);
    shapes.push_back(value.shape());
  }
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
};

std::unique_ptr<Model> TinyModel() {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(testing::TinyMatMulModel()), ".",
                                "tiny.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

TEST(ExecutorRunTest, ComputesMatMulAddAndShowsEveryTensorToTheObserver) {
  std::unique_ptr<Model> model = TinyModel();
  auto executor = Executor::Create(*model);
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  ASSERT_EQ(executor.value()->inputs().size(), 1u);
  EXPECT_EQ(executor.value()->inputs()[0].dim_names[0], "batch");
  Tensor x = testing::Floats({2, 4}, {1, 0, 0, 0, 0, 0, 0, 1});
  RecordingObserver observer;
  auto out = executor.value()->Run({{"X", x}}, &observer);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Row 0 picks W's row 0 plus B; row 1 picks W's row 3 plus B.
  const ConstantTensor* w = model->FindConstant("W");
  const float* wv = reinterpret_cast<const float*>(w->data);
  const std::vector<double> y = testing::Values(out.value()[0]);
  EXPECT_FLOAT_EQ(y[0], wv[0] + 0.5f);
  EXPECT_FLOAT_EQ(y[4], wv[10] - 0.25f);
  EXPECT_EQ(observer.names, (std::vector<std::string>{"X", "XW", "Y"}));
  EXPECT_EQ(observer.shapes[1], (std::vector<int64_t>{2, 3}));
}

TEST(ExecutorRunTest, RefusesBadFeedsNamingTheInput) {
  std::unique_ptr<Model> model = TinyModel();
  auto executor = Executor::Create(*model).value();
  auto unknown = executor->Run({{"nope", testing::Floats({1, 4}, {})}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no input 'nope' (its inputs: X)"), std::string::npos);
  auto wrong_type = executor->Run({{"X", testing::Int64s({1, 4}, {})}});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("input 'X' must be float, got int64"),
            std::string::npos);
  auto wrong_shape = executor->Run({{"X", testing::Floats({1, 5}, {})}});
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_NE(wrong_shape.status().message().find("input 'X' must have shape [batch, 4], got [1, 5]"),
            std::string::npos)
      << wrong_shape.status().message();
  auto missing = executor->Run({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("input 'X' was not given"), std::string::npos);
}

TEST(ExecutorRunTest, NanAndInfFlowThrough) {
  std::unique_ptr<Model> model = TinyModel();
  auto executor = Executor::Create(*model).value();
  const float inf = std::numeric_limits<float>::infinity();
  auto out = executor->Run({{"X", testing::Floats({1, 4}, {std::nanf(""), 0, 0, 0})}});
  ASSERT_TRUE(out.ok());
  for (double v : testing::Values(out.value()[0])) EXPECT_TRUE(std::isnan(v));
  auto out_inf = executor->Run({{"X", testing::Floats({1, 4}, {inf, 0, 0, 0})}});
  ASSERT_TRUE(out_inf.ok());
  for (double v : testing::Values(out_inf.value()[0])) EXPECT_TRUE(std::isinf(v) || std::isnan(v));
}

TEST(ExecutorRunTest, RefusesAllocationsLargerThanMemory) {
  Result<Tensor> huge = Tensor::Allocate(kFloat, {1LL << 30, 1LL << 20});
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("more than this machine's memory"), std::string::npos);
  EXPECT_FALSE(Tensor::Allocate(kFloat, {-1, 4}).ok());
}

// Results must not depend on the thread count: run a conv+matmul model with
// 1 and 2 threads and compare bit for bit.
TEST(ExecutorRunTest, ResultsAreIdenticalForEveryThreadCount) {
  const std::string path = testing::ModelsDir() + "/fashion_cnn.onnx";
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Tensor x = Tensor::Allocate(kFloat, {4, 1, 28, 28}).value();
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    ExecutorOptions options;
    options.threads = threads;
    auto executor = Executor::Create(*model.value(), options);
    ASSERT_TRUE(executor.ok()) << executor.status().ToString();
    auto out = executor.value()->Run({{"input", x}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    results.push_back(testing::Values(out.value()[0]));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

// Peak memory is the live activations, not every activation of the run.
TEST(ExecutorRunTest, ReleasesIntermediatesAfterTheirLastUse) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* graph = proto.mutable_graph();
  graph->clear_node();
  std::string previous = "X";
  for (int i = 0; i < 8; ++i) {
    auto* node = graph->add_node();
    node->set_name("mm" + std::to_string(i));
    node->set_op_type("MatMul");
    node->add_input(previous);
    node->add_input("W" + std::to_string(i));
    previous = i == 7 ? "Y" : "h" + std::to_string(i);
    node->add_output(previous);
    *graph->add_initializer() = testing::RandomFloatTensor("W" + std::to_string(i), {4, 4}, i);
  }
  graph->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(4);
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "chain.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto executor = Executor::Create(*model.value()).value();
  RunStats stats;
  auto out = executor->Run({{"X", testing::Floats({1, 4}, {1, 2, 3, 4})}}, nullptr, &stats);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Each activation is 16 bytes; 9 exist over the run (X, h0..h6, Y), but a
  // step only needs its input and its output alive.
  constexpr int64_t kActivationBytes = 16;
  EXPECT_EQ(stats.peak_activation_bytes, 2 * kActivationBytes);
}

}  // namespace
}  // namespace pq
