// Fuzz target: pq's executor on structurally mutated valid models. The
// corpus holds real models (ONNX's node tests, windows of the sample models;
// tools/fuzz_model_seeds.py); LLVMFuzzerCustomMutator parses an input as a
// ModelProto, applies one structural mutation (model_mutator.h) and writes
// it back, so inputs stay models and reach the kernels' arithmetic instead
// of the parser. LLVMFuzzerTestOneInput loads the model, feeds every input
// small deterministic values of its declared shape (unknown dims 1), and runs
// it once. It asserts only that the executor computes or returns a one-line
// Status that is not an internal error (exit 1 in the CLI); a crash or an
// uncaught exception is a finding as always.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "fuzz/graph_limits.h"
#include "fuzz/model_mutator.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/tensor.h"

// Tensors the bounded models make are small; a kernel that asks for a huge
// one gets nullptr (Tensor::Allocate reports it) instead of a fuzzer OOM.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

// libFuzzer's byte mutator; absent (null) in the replay build (replay_main.cc).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

namespace {

constexpr int kMaxNodes = 300;                 // counting subgraphs
constexpr int64_t kMaxDeclaredDim = 256;       // of graph inputs, outputs, value_info
constexpr int64_t kMaxConstantElements = 1 << 16;
constexpr int64_t kMaxFeedElements = 1 << 16;  // per graph input
// Loop iterations per Loop node. The executor's default bound (1,000,000)
// takes minutes under the sanitizers for a Loop whose condition never turns
// false; a small bound reaches the same refusal in milliseconds.
constexpr int64_t kMaxLoopIterations = 1000;

bool SmallShape(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return true;
  const auto& shape = v.type().tensor_type().shape();
  if (shape.dim_size() > 8) return false;
  for (const auto& d : shape.dim()) {
    if (d.has_dim_value() && d.dim_value() > kMaxDeclaredDim) return false;
  }
  return true;
}

bool SmallTensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) return false;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxConstantElements) return false;
    count *= d;
    if (count > kMaxConstantElements) return false;
  }
  return t.raw_data().size() <= static_cast<size_t>(kMaxConstantElements) * 8;
}

// True when a name in the model holds a line break (the raw-byte fallback
// can make one): a message quoting it may then span lines.
bool NamesHaveLineBreaks(const onnx::GraphProto& graph) {
  auto has = [](const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; };
  for (const auto& v : graph.input()) if (has(v.name())) return true;
  for (const auto& v : graph.output()) if (has(v.name())) return true;
  for (const auto& t : graph.initializer()) if (has(t.name())) return true;
  for (const auto& node : graph.node()) {
    if (has(node.name()) || has(node.op_type()) || has(node.domain())) return true;
    for (const auto& s : node.input()) if (has(s)) return true;
    for (const auto& s : node.output()) if (has(s)) return true;
    for (const auto& attr : node.attribute()) {
      if (has(attr.name()) || has(attr.s())) return true;
      for (const auto& s : attr.strings()) if (has(s)) return true;
      if (attr.has_g() && NamesHaveLineBreaks(attr.g())) return true;
      for (const auto& g : attr.graphs()) if (NamesHaveLineBreaks(g)) return true;
    }
  }
  return false;
}

// The assertion: a refusal is one line and not an internal error.
void CheckStatus(const pq::Status& status, bool line_breaks_allowed) {
  if (status.ok()) return;
  const bool multi_line = status.message().find_first_of("\r\n") != std::string::npos;
  if (status.code() == pq::Status::Code::kInternal || (multi_line && !line_breaks_allowed)) {
    std::fprintf(stderr, "model_mutator: bad status: %s\n", status.ToString().c_str());
    std::abort();
  }
}

// Fills `t` with small values that vary by element: floats in [-2.75, 2.75],
// integers in [-2, 6] (some negative or out-of-range indices), alternating bools.
void Fill(pq::Tensor* t) {
  const int64_t n = t->size();
  switch (t->dtype()) {
    case pq::kFloat:
      for (int64_t i = 0; i < n; ++i) t->data<float>()[i] = static_cast<float>((i * 37 + 11) % 23 - 11) * 0.25f;
      break;
    case pq::kInt64:
      for (int64_t i = 0; i < n; ++i) t->data<int64_t>()[i] = (i * 7 + 3) % 9 - 2;
      break;
    case pq::kInt32:
      for (int64_t i = 0; i < n; ++i) t->data<int32_t>()[i] = static_cast<int32_t>((i * 7 + 3) % 9 - 2);
      break;
    case pq::kInt8:
      for (int64_t i = 0; i < n; ++i) t->data<int8_t>()[i] = static_cast<int8_t>((i * 37) % 256 - 128);
      break;
    case pq::kUint8:
      for (int64_t i = 0; i < n; ++i) t->data<uint8_t>()[i] = static_cast<uint8_t>((i * 37) % 256);
      break;
    case pq::kBool:
      for (int64_t i = 0; i < n; ++i) t->data<bool>()[i] = i % 3 == 0;
      break;
    default:
      break;  // zeros
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  onnx::ModelProto model;
  if (size > 0 && model.ParseFromArray(data, static_cast<int>(size)) && model.has_graph() &&
      !pq::fuzz::MutateModel(&model, seed).empty()) {
    const std::string bytes = model.SerializeAsString();
    if (!bytes.empty() && bytes.size() <= max_size) {
      std::memcpy(data, bytes.data(), bytes.size());
      return bytes.size();
    }
  }
  // Not a model (or no mutation fits): libFuzzer's byte mutations.
  return LLVMFuzzerMutate != nullptr ? LLVMFuzzerMutate(data, size, max_size) : size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto proto = std::make_unique<onnx::ModelProto>();
  if (!proto->ParseFromArray(data, static_cast<int>(size))) return 0;
  const pq::fuzz::GraphLimits limits{kMaxNodes, SmallShape, SmallTensor, nullptr};
  int nodes = 0;
  if (!pq::fuzz::WithinLimits(proto->graph(), limits, &nodes)) return 0;
  const bool line_breaks = NamesHaveLineBreaks(proto->graph());
  pq::Result<std::unique_ptr<pq::Model>> model =
      pq::Model::FromProto(std::move(proto), pq::fuzz::ScratchDir(), "fuzz.onnx");
  if (!model.ok()) {
    CheckStatus(model.status(), line_breaks);
    return 0;
  }
  pq::ExecutorOptions options;
  options.threads = 1;
  options.max_loop_iterations = kMaxLoopIterations;
  pq::Result<std::unique_ptr<pq::Executor>> executor = pq::Executor::Create(*model.value(), options);
  if (!executor.ok()) {
    CheckStatus(executor.status(), line_breaks);
    return 0;
  }
  std::map<std::string, pq::Tensor> feeds;
  for (const pq::TensorInfo& input : executor.value()->inputs()) {
    std::vector<int64_t> dims = input.dims;
    int64_t count = 1;
    for (int64_t& d : dims) {
      if (d < 0) d = 1;
      count *= d;
      if (count > kMaxFeedElements) return 0;
    }
    pq::Result<pq::Tensor> values = pq::Tensor::Allocate(pq::ExecutorFeedType(input.dtype), dims);
    if (!values.ok()) return 0;
    Fill(&values.value());
    feeds.emplace(input.name, std::move(values).value());
  }
  pq::Result<std::vector<pq::Tensor>> outputs = executor.value()->Run(feeds);
  if (!outputs.ok()) CheckStatus(outputs.status(), line_breaks);
  return 0;
}
