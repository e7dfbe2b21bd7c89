// Fuzz target: pq's executor on small fuzzed models. The input is parsed as a
// ModelProto; models that are not small are skipped (a graph input, output,
// value_info or constant dim over kMaxDim, more than kMaxNodes nodes counting
// subgraphs, constants with more than kMaxConstantElements elements, integer
// constants beyond +-kMaxDim, non-finite or huge float constants). The rest is
// loaded, prepared, and run once on zero-filled inputs (unknown dims = 1).
// Any outcome but a crash is fine: the executor must refuse or compute.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>

#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/tensor.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/graph_limits.h"

// Tensors the bounded models make are small; a kernel that asks for a huge
// one gets nullptr (Tensor::Allocate reports it) instead of a fuzzer OOM.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

namespace {

constexpr int64_t kMaxDim = 64;
constexpr int kMaxNodes = 50;
constexpr int64_t kMaxConstantElements = 4096;
constexpr double kMaxFloatConstant = 64.0;

bool SmallShape(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return true;
  const auto& shape = v.type().tensor_type().shape();
  if (shape.dim_size() > 6) return false;
  for (const auto& d : shape.dim()) {
    if (d.has_dim_value() && (d.dim_value() < 0 || d.dim_value() > kMaxDim)) return false;
  }
  return true;
}

template <typename T>
bool SmallValue(T v) {
  const double d = static_cast<double>(v);
  return std::isfinite(d) && std::fabs(d) <= kMaxFloatConstant;
}

bool SmallTensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) return false;
  if (t.dims_size() > 6) return false;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxDim) return false;
    count *= d;
  }
  if (count > kMaxConstantElements) return false;
  for (float v : t.float_data()) if (!SmallValue(v)) return false;
  for (double v : t.double_data()) if (!SmallValue(v)) return false;
  for (int32_t v : t.int32_data()) if (!SmallValue(v)) return false;
  for (int64_t v : t.int64_data()) if (!SmallValue(v)) return false;
  for (uint64_t v : t.uint64_data()) if (!SmallValue(v)) return false;
  if (t.raw_data().size() > static_cast<size_t>(kMaxConstantElements) * 8) return false;
  const std::string& raw = t.raw_data();
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
      float v;
      std::memcpy(&v, raw.data() + i, 4);
      if (!SmallValue(v)) return false;
    }
  } else if (t.data_type() == onnx::TensorProto::INT64) {
    for (size_t i = 0; i + 8 <= raw.size(); i += 8) {
      int64_t v;
      std::memcpy(&v, raw.data() + i, 8);
      if (!SmallValue(v)) return false;
    }
  } else if (t.data_type() == onnx::TensorProto::INT32) {
    for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
      int32_t v;
      std::memcpy(&v, raw.data() + i, 4);
      if (!SmallValue(v)) return false;
    }
  } else if (t.data_type() == onnx::TensorProto::DOUBLE) {
    for (size_t i = 0; i + 8 <= raw.size(); i += 8) {
      double v;
      std::memcpy(&v, raw.data() + i, 8);
      if (!SmallValue(v)) return false;
    }
  }
  return true;
}

// Constant nodes' scalar and list attributes are bounded as tensors are.
bool SmallConstantAttribute(const onnx::NodeProto& node, const onnx::AttributeProto& attr) {
  if (node.op_type() != "Constant") return true;
  if (!SmallValue(attr.f()) || !SmallValue(attr.i())) return false;
  if (attr.ints_size() > kMaxDim || attr.floats_size() > kMaxDim) return false;
  for (int64_t v : attr.ints()) if (!SmallValue(v)) return false;
  for (float v : attr.floats()) if (!SmallValue(v)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto proto = std::make_unique<onnx::ModelProto>();
  if (!proto->ParseFromArray(data, static_cast<int>(size))) return 0;
  const pq::fuzz::GraphLimits limits{kMaxNodes, SmallShape, SmallTensor, SmallConstantAttribute};
  int nodes = 0;
  if (!pq::fuzz::WithinLimits(proto->graph(), limits, &nodes)) return 0;
  pq::Result<std::unique_ptr<pq::Model>> model =
      pq::Model::FromProto(std::move(proto), pq::fuzz::ScratchDir(), "fuzz.onnx");
  if (!model.ok()) return 0;
  pq::ExecutorOptions options;
  options.threads = 1;
  pq::Result<std::unique_ptr<pq::Executor>> executor =
      pq::Executor::Create(*model.value(), options);
  if (!executor.ok()) return 0;
  std::map<std::string, pq::Tensor> feeds;
  for (const pq::TensorInfo& input : executor.value()->inputs()) {
    std::vector<int64_t> dims = input.dims;
    for (int64_t& d : dims) {
      if (d < 0) d = 1;
    }
    pq::Result<pq::Tensor> zeros = pq::Tensor::Allocate(input.dtype, dims);
    if (!zeros.ok()) return 0;
    feeds.emplace(input.name, std::move(zeros).value());
  }
  (void)executor.value()->Run(feeds);
  return 0;
}
