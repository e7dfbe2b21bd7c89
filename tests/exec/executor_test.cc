// Tests of src/exec/executor.cc: input checking, unsupported-op reporting,
// observers and tensor release.
#include "pq/executor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "base/float16.h"
#include "pq/data_type.h"
#include "pq/model.h"
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

TEST(ExecutorRunTest, ReadsAlignedWeightsInPlaceWithoutACopy) {
  // W in 64-byte aligned external data (as pq and make_1b_decoder.py write
  // it), and a graph output that is W itself through Identity.
  onnx::ModelProto proto = testing::TinyMatMulModel();
  *proto.mutable_graph()->mutable_initializer(0) = testing::RandomFloatTensor("W", {4, 3}, 3);
  auto* identity = proto.mutable_graph()->add_node();
  identity->set_op_type("Identity");
  identity->add_input("W");
  identity->add_output("W_out");
  proto.mutable_graph()->add_output()->set_name("W_out");
  testing::TempDir dir;
  testing::SaveProto(proto, dir.File("inline.onnx"));
  Result<std::unique_ptr<Model>> inline_model = Model::Load(dir.File("inline.onnx"));
  ASSERT_TRUE(inline_model.ok()) << inline_model.status().ToString();
  SaveOptions save;
  save.external_data = true;
  save.external_threshold = 1;
  ASSERT_TRUE(SaveModel(*inline_model.value(), dir.File("ext.onnx"), save).ok());
  Result<std::unique_ptr<Model>> model = Model::Load(dir.File("ext.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ConstantTensor* w = model.value()->FindConstant("W");
  ASSERT_TRUE(w != nullptr && w->external);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(w->data) % Tensor::kBorrowAlignment, 0u);
  auto executor = Executor::Create(*model.value());
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  auto out = executor.value()->Run({{"X", testing::Floats({1, 4}, {1, 2, 3, 4})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value().size(), 2u);
  // The executor's W is the model's bytes, not a copy of them.
  EXPECT_EQ(out.value()[1].raw(), static_cast<const void*>(w->data));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{4, 3}));
}

TEST(TensorTest, BorrowsOnlyAlignedDataOfAnExecutorType) {
  alignas(64) static float values[16] = {1, 2, 3};
  const Tensor view = Tensor::Borrowed(kFloat, {2, 8}, values);
  ASSERT_TRUE(view.defined());
  EXPECT_EQ(view.data<float>(), values);
  EXPECT_EQ(view.size(), 16);
  EXPECT_FALSE(Tensor::Borrowed(kFloat, {3}, values + 1).defined());  // 4-byte aligned only
  EXPECT_FALSE(Tensor::Borrowed(kFloat16, {2}, values).defined());   // held as float
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

// float16 and bfloat16 values are held as float and rounded after every
// kernel, as a runtime that stores them in their type does.

float Half(float f) { return HalfBitsToFloat(FloatToHalfBits(f)); }

// Sets `v` to a tensor value `name` of `dtype` and shape [4].
void DeclareTensor(onnx::ValueInfoProto* v, const std::string& name, int32_t dtype) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype);
  tt->mutable_shape()->add_dim()->set_dim_value(4);
}

// Y = X * C + D over [4] vectors of `dtype` (float16 or float): C and D are
// initializers holding `c` and `d` (as halves for float16), with `reshapes`
// Reshapes to [4] between the Mul and the Add.
std::unique_ptr<Model> MulAddModel(int32_t dtype, const std::vector<float>& c, const std::vector<float>& d,
                                   int reshapes = 0) {
  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.add_opset_import()->set_version(17);
  auto* graph = proto.mutable_graph();
  graph->set_name("mul_add");
  for (const auto& [name, values] : {std::pair{"C", c}, std::pair{"D", d}}) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(dtype);
    t.add_dims(4);
    std::string raw;
    for (float v : values) {
      if (dtype == onnx::TensorProto::FLOAT16) {
        const uint16_t h = FloatToHalfBits(v);
        raw.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        raw.append(reinterpret_cast<const char*>(&v), 4);
      }
    }
    t.set_raw_data(raw);
    *graph->add_initializer() = t;
  }
  *graph->add_initializer() = testing::Int64Tensor("shape", {1}, {4});
  auto* mul = graph->add_node();
  mul->set_op_type("Mul");
  mul->add_input("X");
  mul->add_input("C");
  mul->add_output("A");
  std::string a = "A";
  for (int i = 0; i < reshapes; ++i) {
    auto* r = graph->add_node();
    r->set_op_type("Reshape");
    r->add_input(a);
    r->add_input("shape");
    a = "A" + std::to_string(i);
    r->add_output(a);
  }
  auto* add = graph->add_node();
  add->set_op_type("Add");
  add->add_input(a);
  add->add_input("D");
  add->add_output("Y");
  DeclareTensor(graph->add_input(), "X", dtype);
  DeclareTensor(graph->add_output(), "Y", dtype);
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "mul_add.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

// Element 0: X * C = 1 + 2^-9 + 2^-20, which float16 rounds to 1 + 2^-9;
// adding 2^-11 is then a tie that goes to even (1 + 2^-9), while unrounded
// the sum rounds up to 1 + 2^-9 + 2^-10.
const float kX0 = 1 + 0x1p-10f;
const std::vector<float> kX = {kX0, 3.0f, 0.1f, 1000.0f}, kC = {kX0, 1.0f / 3, 0.7f, 77.7f},
                         kD = {0x1p-11f, 0.25f, -0.3f, 5.0f};

std::vector<float> RunMulAdd(const Model& model) {
  auto executor = Executor::Create(model).value();
  Tensor feed = testing::Floats({4}, {Half(kX[0]), Half(kX[1]), Half(kX[2]), Half(kX[3])});
  auto out = executor->Run({{"X", feed}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  const float* y = out.value()[0].data<float>();
  return std::vector<float>(y, y + 4);
}

// As ONNX Runtime's CPU provider: Mul and Add have no float16 kernel there,
// so A passes between them as float; Y, a graph output, is rounded. So does a
// lone Reshape between them (ORT runs such an isolated node in float32 too).
TEST(ExecutorFloat16Test, ValuesBetweenOpsOrtRunsInFloat32AreNotRounded) {
  for (int reshapes : {0, 1}) {
    const std::vector<float> y = RunMulAdd(*MulAddModel(onnx::TensorProto::FLOAT16, kC, kD, reshapes));
    ASSERT_EQ(y.size(), 4u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], Half(Half(kX[i]) * Half(kC[i]) + Half(kD[i]))) << i;
    EXPECT_EQ(y[0], 1 + 0x1p-9f + 0x1p-10f) << reshapes;
  }
}

// Two Reshapes (float16 kernels in ORT, not isolated) read A as float16: A
// is rounded.
TEST(ExecutorFloat16Test, ValuesReadByAFloat16KernelAreRounded) {
  const std::vector<float> y = RunMulAdd(*MulAddModel(onnx::TensorProto::FLOAT16, kC, kD, 2));
  ASSERT_EQ(y.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], Half(Half(Half(kX[i]) * Half(kC[i])) + Half(kD[i]))) << i;
  EXPECT_EQ(y[0], 1 + 0x1p-9f);
}

TEST(ExecutorFloat16Test, RoundsFloat16FeedsIntoACopy) {
  std::unique_ptr<Model> model = MulAddModel(onnx::TensorProto::FLOAT16, {1, 1, 1, 1}, {0, 0, 0, 0});
  auto executor = Executor::Create(*model).value();
  Tensor feed = testing::Floats({4}, {0.1f, 1.0f / 3, 70000.0f, -0.0f});
  auto out = executor->Run({{"X", feed}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_EQ(y[0], Half(0.1f));
  EXPECT_EQ(y[1], Half(1.0f / 3));
  EXPECT_TRUE(std::isinf(y[2]));
  EXPECT_EQ(feed.data<float>()[0], 0.1f);  // the caller's tensor is not changed
}

TEST(ExecutorFloat16Test, Float32ModelsAreNotRounded) {
  const float x0 = 1 + 0x1p-10f;
  std::unique_ptr<Model> model =
      MulAddModel(onnx::TensorProto::FLOAT, {x0, 0.7f, 1, 1}, {0x1p-11f, 0, 0, 0}, 2);
  auto executor = Executor::Create(*model).value();
  auto out = executor->Run({{"X", testing::Floats({4}, {x0, 0.1f, 1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].data<float>()[0], x0 * x0 + 0x1p-11f);
  EXPECT_EQ(out.value()[0].data<float>()[1], 0.1f * 0.7f);
}

TEST(ExecutorFloat16Test, CastToBfloat16RoundsWithoutChangingItsInput) {
  onnx::ModelProto proto = testing::OneNodeModel("Cast", "to_bf16", {"X"}, {4}, {});
  auto* graph = proto.mutable_graph();
  graph->mutable_node(0)->set_output(0, "B");
  testing::AddIntsAttr(graph->mutable_node(0), "to", {onnx::TensorProto::BFLOAT16}, true);
  auto* back = graph->add_node();
  back->set_op_type("Relu");
  back->add_input("B");
  back->add_output("R");
  auto* to_float = graph->add_node();
  to_float->set_op_type("Cast");
  to_float->add_input("R");
  to_float->add_output("Y");
  testing::AddIntsAttr(to_float, "to", {onnx::TensorProto::FLOAT}, true);
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "bf16.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto executor = Executor::Create(*model.value()).value();
  // 1 + 2^-8 is a tie between bfloat16's 1 and 1 + 2^-7: even is 1.
  Tensor feed = testing::Floats({4}, {1 + 0x1p-8f, 1 + 0x1p-8f + 0x1p-20f, 3.14159265f, -2.0f});
  auto out = executor->Run({{"X", feed}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 1 + 0x1p-7f);
  EXPECT_EQ(y[2], 3.140625f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(feed.data<float>()[0], 1 + 0x1p-8f);  // Cast passed X through; X is not changed
}

}  // namespace
}  // namespace pq
