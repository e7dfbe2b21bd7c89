// Tests of src/exec/conv_fusion.cc: runs without an observer fold
// BatchNormalization into Conv and fuse Relu; they must agree with the
// unfused (observed) runs, and observers must still see every tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "exec/kernel_test_util.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

// Fused and unfused results differ only by the rounding of the folded
// weights: |fused - unfused| <= kFusionTolerance * max |unfused|.
constexpr double kFusionTolerance = 1e-5;

class NameRecorder : public Observer {
 public:
  void OnTensor(const std::string& name, const Tensor&) override { names.push_back(name); }
  std::vector<std::string> names;
};

void AddNode(onnx::GraphProto* graph, const std::string& op, const std::vector<std::string>& in,
             const std::string& out, int64_t group = 1, int64_t kernel = 3) {
  auto* node = graph->add_node();
  *node = testing::MakeNode(op, in, {out});
  node->set_name(out + "_node");
  if (op == "Conv") {
    testing::SetAttr(node, "kernel_shape", std::vector<int64_t>{kernel, kernel});
    testing::SetAttr(node, "pads", std::vector<int64_t>(4, kernel / 2));
    testing::SetAttr(node, "group", group);
  }
}

void AddBatchNormParams(onnx::GraphProto* graph, const std::string& prefix, int64_t channels,
                        uint32_t seed) {
  *graph->add_initializer() = testing::RandomFloatTensor(prefix + ".scale", {channels}, seed);
  *graph->add_initializer() = testing::RandomFloatTensor(prefix + ".bias", {channels}, seed + 1);
  *graph->add_initializer() = testing::RandomFloatTensor(prefix + ".mean", {channels}, seed + 2);
  std::vector<float> var(static_cast<size_t>(channels));
  for (size_t i = 0; i < var.size(); ++i) var[i] = 0.5f + 0.1f * static_cast<float>(i % 7);
  *graph->add_initializer() = testing::FloatTensor(prefix + ".var", {channels}, var);
}

std::vector<std::string> BatchNormInputs(const std::string& x, const std::string& prefix) {
  return {x, prefix + ".scale", prefix + ".bias", prefix + ".mean", prefix + ".var"};
}

// X[1,8,20,20] -> Conv3x3+bias -> BN -> Relu -> depthwise Conv -> Relu
// -> Conv1x1 (no bias) -> BN = Y. r1 (after a fusable Conv+BN+Relu) and c2
// (a depthwise Conv output read by a Relu) are graph outputs too.
std::unique_ptr<Model> ChainModel() {
  auto proto = std::make_unique<onnx::ModelProto>();
  proto->set_ir_version(8);
  proto->add_opset_import()->set_version(13);
  auto* graph = proto->mutable_graph();
  graph->set_name("conv_chain");
  *graph->add_input() = testing::FloatValueInfo("X", {1, 8, 20, 20});
  *graph->add_initializer() = testing::RandomFloatTensor("w1", {16, 8, 3, 3}, 1);
  *graph->add_initializer() = testing::RandomFloatTensor("b1", {16}, 2);
  *graph->add_initializer() = testing::RandomFloatTensor("w2", {16, 1, 3, 3}, 3);
  *graph->add_initializer() = testing::RandomFloatTensor("w3", {24, 16, 1, 1}, 4);
  AddBatchNormParams(graph, "bn1", 16, 10);
  AddBatchNormParams(graph, "bn3", 24, 20);
  AddNode(graph, "Conv", {"X", "w1", "b1"}, "c1");
  AddNode(graph, "BatchNormalization", BatchNormInputs("c1", "bn1"), "n1");
  AddNode(graph, "Relu", {"n1"}, "r1");
  AddNode(graph, "Conv", {"r1", "w2"}, "c2", /*group=*/16);
  AddNode(graph, "Relu", {"c2"}, "r2");
  AddNode(graph, "Conv", {"r2", "w3"}, "c3", 1, /*kernel=*/1);
  AddNode(graph, "BatchNormalization", BatchNormInputs("c3", "bn3"), "Y");
  *graph->add_output() = testing::FloatValueInfo("Y", {1, 24, 20, 20});
  *graph->add_output() = testing::FloatValueInfo("r1", {1, 16, 20, 20});
  *graph->add_output() = testing::FloatValueInfo("c2", {1, 16, 20, 20});
  auto model = Model::FromProto(std::move(proto), ".", "chain.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

Tensor Input() {
  Tensor x = Tensor::Allocate(kFloat, {1, 8, 20, 20}).value();
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = std::sin(0.71f * static_cast<float>(i));
  return x;
}

void ExpectClose(const Tensor& fused, const Tensor& unfused) {
  const std::vector<double> f = testing::Values(fused), u = testing::Values(unfused);
  ASSERT_EQ(f.size(), u.size());
  double scale = 0;
  for (double v : u) scale = std::max(scale, std::fabs(v));
  ASSERT_GT(scale, 0.0);
  for (size_t i = 0; i < f.size(); ++i) {
    ASSERT_LE(std::fabs(f[i] - u[i]), kFusionTolerance * scale) << "element " << i;
  }
}

TEST(ConvFusionTest, FusedRunsAgreeWithObservedRuns) {
  std::unique_ptr<Model> model = ChainModel();
  auto executor = Executor::Create(*model).value();
  NameRecorder observer;
  auto unfused = executor->Run({{"X", Input()}}, &observer);
  auto fused = executor->Run({{"X", Input()}});
  ASSERT_TRUE(unfused.ok()) << unfused.status().ToString();
  ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  ASSERT_EQ(fused->size(), 3u);
  for (size_t i = 0; i < fused->size(); ++i) ExpectClose(fused.value()[i], unfused.value()[i]);
  // The observed run shows every tensor, fused-away intermediates included.
  EXPECT_EQ(observer.names,
            (std::vector<std::string>{"X", "c1", "n1", "r1", "c2", "r2", "c3", "Y"}));
}

TEST(ConvFusionTest, KeepsIntermediatesThatAreGraphOutputs) {
  // c2 is a graph output: the Relu after it must not be fused into its Conv.
  std::unique_ptr<Model> model = ChainModel();
  auto executor = Executor::Create(*model).value();
  auto fused = executor->Run({{"X", Input()}});
  ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  ASSERT_EQ(fused->size(), 3u);
  const std::vector<double> c2 = testing::Values(fused.value()[2]);
  EXPECT_LT(*std::min_element(c2.begin(), c2.end()), 0.0);
}

TEST(ConvFusionTest, FusedResultsAreIdenticalForEveryThreadCount) {
  std::unique_ptr<Model> model = ChainModel();
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    ExecutorOptions options;
    options.threads = threads;
    auto out = Executor::Create(*model, options).value()->Run({{"X", Input()}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    results.push_back(testing::Values(out.value()[0]));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(ConvFusionTest, FashionCnnFusedAgreesWithUnfused) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto executor = Executor::Create(*model.value()).value();
  Tensor x = Tensor::Allocate(kFloat, {4, 1, 28, 28}).value();
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = std::cos(0.13f * static_cast<float>(i));
  NameRecorder observer;
  auto unfused = executor->Run({{"input", x}}, &observer);
  auto fused = executor->Run({{"input", x}});
  ASSERT_TRUE(unfused.ok() && fused.ok());
  ExpectClose(fused.value()[0], unfused.value()[0]);
  EXPECT_EQ(observer.names.size(), 13u);  // the input and one tensor per node
}

}  // namespace
}  // namespace pq
