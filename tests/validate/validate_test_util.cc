#include "validate/validate_test_util.h"

#include <cstring>
#include <stdexcept>

#include "pq/npy.h"
#include "pq/tensor.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq::testing {
namespace {

// fc2 weights from the switched-off unit: far beyond every real weight
// (|w| < 1), so an int8 scale of kOutlier / 127 rounds the others to 0.
constexpr float kOutlier = 1000.0f;
constexpr int64_t kDeadUnit = 0;
constexpr float kDeadBias = -1.0f;

onnx::TensorProto* FindInitializer(onnx::ModelProto* model, const std::string& name) {
  for (auto& t : *model->mutable_graph()->mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  throw std::runtime_error("no initializer " + name);
}

Tensor FromValues(int32_t dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes) {
  Result<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok()) throw std::runtime_error(t.status().ToString());
  std::memcpy(t->raw(), data, bytes);
  return std::move(t).value();
}

}  // namespace

onnx::ModelProto ThreeClassModel(const std::vector<float>& w) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("pq-tests");
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* graph = model.mutable_graph();
  graph->set_name("three_class");
  *graph->add_input() = FloatValueInfo("X", {-1, 3});
  *graph->add_output() = FloatValueInfo("Y", {-1, 3});
  *graph->add_initializer() = FloatTensor("W", {3, 3}, w);
  auto* node = graph->add_node();
  node->set_name("matmul");
  node->set_op_type("MatMul");
  node->add_input("X");
  node->add_input("W");
  node->add_output("Y");
  return model;
}

onnx::ModelProto PlantedCnn() {
  onnx::ModelProto model = LoadProto(ModelsDir() + "/fashion_cnn.onnx");
  onnx::TensorProto* fc1_w = FindInitializer(&model, "fc1.weight");  // [128, 3136]
  onnx::TensorProto* fc1_b = FindInitializer(&model, "fc1.bias");
  onnx::TensorProto* fc2_w = FindInitializer(&model, "fc2.weight");  // [10, 128]
  std::vector<float> w1 = InitializerFloats(*fc1_w);
  const int64_t in1 = fc1_w->dims(1);
  for (int64_t i = 0; i < in1; ++i) w1[static_cast<size_t>(kDeadUnit * in1 + i)] = 0.0f;
  SetInitializerFloats(fc1_w, w1);
  std::vector<float> b1 = InitializerFloats(*fc1_b);
  b1[kDeadUnit] = kDeadBias;
  SetInitializerFloats(fc1_b, b1);
  std::vector<float> w2 = InitializerFloats(*fc2_w);
  const int64_t in2 = fc2_w->dims(1);
  for (int64_t o = 0; o < fc2_w->dims(0); ++o) w2[static_cast<size_t>(o * in2 + kDeadUnit)] = kOutlier;
  SetInitializerFloats(fc2_w, w2);
  return model;
}

void WriteFloatNpy(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
  WriteFile(path, EncodeNpy(FromValues(kFloat, shape, values.data(), values.size() * sizeof(float))));
}

void WriteLabelsNpy(const std::string& path, const std::vector<int64_t>& labels) {
  WriteFile(path, EncodeNpy(FromValues(kInt64, {static_cast<int64_t>(labels.size())}, labels.data(),
                                       labels.size() * sizeof(int64_t))));
}

void WriteInt64Npy(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& values) {
  WriteFile(path, EncodeNpy(FromValues(kInt64, shape, values.data(), values.size() * sizeof(int64_t))));
}

void WriteValidationSubset(int64_t count, const std::string& images, const std::string& labels) {
  for (const auto& [from, to] : {std::make_pair(std::string("val_images.npy"), images),
                                 std::make_pair(std::string("val_labels.npy"), labels)}) {
    Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(ModelsDir() + "/" + from);
    if (!file.ok()) throw std::runtime_error(file.status().ToString());
    Result<Tensor> rows = file.value()->Rows(0, count);
    if (!rows.ok()) throw std::runtime_error(rows.status().ToString());
    WriteFile(to, EncodeNpy(rows.value()));
  }
}

onnx::ModelProto LoadProto(const std::string& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(ReadFile(path))) throw std::runtime_error("cannot parse " + path);
  return model;
}

std::vector<float> InitializerFloats(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::FLOAT) throw std::runtime_error(t.name() + " is not float");
  if (!t.has_raw_data()) return {t.float_data().begin(), t.float_data().end()};
  std::vector<float> v(t.raw_data().size() / sizeof(float));
  std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
  return v;
}

void SetInitializerFloats(onnx::TensorProto* t, const std::vector<float>& values) {
  t->clear_float_data();
  std::string raw(values.size() * sizeof(float), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  t->set_raw_data(raw);
}

}  // namespace pq::testing
