// Tests of Executor::RunPiece (src/exec/executor.cc): a run in pieces sees
// exactly the tensors, bit for bit, that one observed Run sees, keeping
// only the values that later pieces read.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "testutil/graph_builder.h"

namespace pq {
namespace {

// Every float tensor shown, by name, as its values.
class ValueRecorder : public Observer {
 public:
  void OnTensor(const std::string& name, const Tensor& value) override {
    seen[name] = testing::Values(value);
  }
  std::map<std::string, std::vector<double>> seen;
};

// X[-1, 8] -> MatMul(W1) -> A -> Relu -> R -> Add(X, R) -> S -> MatMul(W2)
// -> B -> Add(S, B) -> Y: S crosses every cut after it, X the first two.
std::unique_ptr<Model> ResidualModel() {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 8}).Output("Y", {-1, 8});
  b.Weight("W1", {8, 8}, 1).Weight("W2", {8, 8}, 2);
  b.Node("MatMul", {"X", "W1"}, {"A"});
  b.Node("Relu", {"A"}, {"R"});
  b.Node("Add", {"X", "R"}, {"S"});
  b.Node("MatMul", {"S", "W2"}, {"B"});
  b.Node("Add", {"S", "B"}, {"Y"});
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(b.proto()), ".", "residual.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

TEST(ExecutorPieceTest, PiecesSeeWhatOneRunSeesKeepingOnlyWhatLaterStepsRead) {
  std::unique_ptr<Model> model = ResidualModel();
  auto executor = Executor::Create(*model);
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  const Executor& run = *executor.value();
  EXPECT_EQ(run.ObservedStepNodes(), (std::vector<int>{0, 1, 2, 3, 4}));
  std::vector<float> x(3 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i % 7) - 0.6f;
  const Tensor feed = testing::Floats({3, 8}, x);
  ValueRecorder whole;
  ASSERT_TRUE(run.Run({{"X", feed}}, &whole).ok());

  ValueRecorder pieces;
  std::map<std::string, Tensor> live = {{"X", feed}};
  const std::vector<std::pair<size_t, size_t>> ranges = {{0, 1}, {1, 3}, {3, 3}, {3, 5}};
  const std::vector<std::vector<std::string>> kept = {{"A", "X"}, {"S"}, {"S"}, {}};
  for (size_t p = 0; p < ranges.size(); ++p) {
    Result<std::map<std::string, Tensor>> out = run.RunPiece(std::move(live), ranges[p].first, ranges[p].second,
                                                             &pieces);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    std::vector<std::string> names;
    for (const auto& [name, value] : out.value()) names.push_back(name);
    EXPECT_EQ(names, kept[p]) << "after piece " << p;
    live = std::move(out).value();
  }
  EXPECT_EQ(pieces.seen, whole.seen);  // Y included: the last piece's output is observed
}

TEST(ExecutorPieceTest, RefusesAPieceWithoutTheValuesItReads) {
  std::unique_ptr<Model> model = ResidualModel();
  auto executor = Executor::Create(*model);
  ASSERT_TRUE(executor.ok());
  Result<std::map<std::string, Tensor>> out = executor.value()->RunPiece({}, 3, 5);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(out.status().message().find("reads 'S'"), std::string::npos) << out.status().ToString();
  EXPECT_EQ(executor.value()->RunPiece({}, 2, 9).status().code(), Status::Code::kInvalidArgument);
  // The first piece checks its feeds as Run does.
  EXPECT_EQ(executor.value()->RunPiece({}, 0, 1).status().code(), Status::Code::kInvalidInput);
}

}  // namespace
}  // namespace pq
