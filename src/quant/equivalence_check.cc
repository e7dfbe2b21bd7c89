#include "quant/equivalence_check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <cstring>
#include <random>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"

namespace pq::quant {
namespace {

// The smallest table an integer graph input indexes: the size along the
// gathered axis of every Gather whose data is a constant and whose indices
// are `input`; 2 (values 0 and 1, fit for masks and any index) when none.
int64_t IndexBound(const Model& model, const std::string& input) {
  int64_t bound = 0;
  for (const onnx::NodeProto& node : model.proto().graph().node()) {
    if (node.op_type() != "Gather" || !IsDefaultDomain(node.domain()) ||
        node.input_size() < 2 || node.input(1) != input) {
      continue;
    }
    const ConstantTensor* table = model.FindConstant(node.input(0));
    if (table == nullptr || table->dims.empty()) continue;
    int64_t axis = 0;
    for (const onnx::AttributeProto& attr : node.attribute()) {
      if (attr.name() == "axis") axis = attr.i();
    }
    const int64_t rank = static_cast<int64_t>(table->dims.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || table->dims[static_cast<size_t>(axis)] <= 0) continue;
    const int64_t size = table->dims[static_cast<size_t>(axis)];
    bound = bound == 0 ? size : std::min(bound, size);
  }
  return bound == 0 ? 2 : bound;
}

// Inputs for every graph input of `executor`, fixed seed, dynamic dims as 1:
// float inputs (float16 ones are fed as float) uniform in [-1, 1]; integer
// inputs uniform in [0, IndexBound); bool inputs 0 or 1.
Result<Feeds> SampleInputs(const Model& model, const Executor& executor) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Feeds feeds;
  for (const TensorInfo& info : executor.inputs()) {
    const int32_t dtype = ExecutorFeedType(info.dtype);
    const bool is_int = dtype == kInt64 || dtype == kInt32;
    if (dtype != kFloat && !is_int && dtype != kBool) {
      return Status::NotSupported("input '" + info.name + "' of type " + DataTypeName(info.dtype));
    }
    std::vector<int64_t> dims = info.dims;
    for (int64_t& d : dims) d = d < 0 ? 1 : d;
    Result<Tensor> t = Tensor::Allocate(dtype, dims);
    if (!t.ok()) return t.status();
    if (dtype == kFloat) {
      for (int64_t i = 0; i < t->size(); ++i) t->data<float>()[i] = dist(rng);
    } else {
      std::uniform_int_distribution<int64_t> pick(0, dtype == kBool ? 1 : IndexBound(model, info.name) - 1);
      for (int64_t i = 0; i < t->size(); ++i) {
        const int64_t v = pick(rng);
        if (dtype == kInt64) t->data<int64_t>()[i] = v;
        if (dtype == kInt32) t->data<int32_t>()[i] = static_cast<int32_t>(v);
        if (dtype == kBool) t->data<uint8_t>()[i] = static_cast<uint8_t>(v);
      }
    }
    feeds[info.name] = std::move(t).value();
  }
  return feeds;
}

// Float outputs agree within `tolerance` (relative L2); all others (integer,
// bool) exactly.
Status CompareOutput(const std::string& name, const Tensor& x, const Tensor& y, double tolerance) {
  const std::string which = "output '" + name + "'";
  if (x.shape() != y.shape() || x.dtype() != y.dtype()) {
    return Status::InvalidInput(which + " differs in shape or type");
  }
  if (x.dtype() != kFloat) {
    if (x.byte_size() != y.byte_size() ||
        std::memcmp(x.data<uint8_t>(), y.data<uint8_t>(), static_cast<size_t>(x.byte_size())) != 0) {
      return Status::InvalidInput(which + " (" + DataTypeName(x.dtype()) + ") differs after conversion");
    }
    return Status::OK();
  }
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    const double d = x.data<float>()[i] - y.data<float>()[i];
    diff += d * d;
    norm += static_cast<double>(x.data<float>()[i]) * x.data<float>()[i];
  }
  if (std::sqrt(diff) > tolerance * std::max(std::sqrt(norm), 1e-12)) {
    return Status::InvalidInput(which + " differs after conversion");
  }
  return Status::OK();
}

// Runs both executors on `feeds` and compares their outputs.
Status CompareRuns(Executor& ea, Executor& eb, const Feeds& feeds, double tolerance) {
  Result<std::vector<Tensor>> ra = ea.Run(feeds);
  if (!ra.ok()) return ra.status();
  Result<std::vector<Tensor>> rb = eb.Run(feeds);
  if (!rb.ok()) return rb.status();
  if (ra->size() != rb->size()) {
    return Status::InvalidInput("the models have " + std::to_string(ra->size()) + " and " +
                                std::to_string(rb->size()) + " outputs");
  }
  const std::vector<TensorInfo>& outputs = ea.outputs();
  for (size_t o = 0; o < ra->size(); ++o) {
    const std::string name = o < outputs.size() ? outputs[o].name : std::to_string(o);
    PQ_RETURN_IF_ERROR(CompareOutput(name, (*ra)[o], (*rb)[o], tolerance));
  }
  return Status::OK();
}

}  // namespace

Status CheckSameOutputs(const Model& a, const Model& b, int threads, double tolerance,
                        const std::vector<Feeds>& feeds) {
  ExecutorOptions options;
  options.threads = threads;
  Result<std::unique_ptr<Executor>> ea = Executor::Create(a, options);
  if (!ea.ok()) return ea.status();
  Result<std::unique_ptr<Executor>> eb = Executor::Create(b, options);
  if (!eb.ok()) return eb.status();
  if (!feeds.empty()) {
    for (const Feeds& f : feeds) PQ_RETURN_IF_ERROR(CompareRuns(*ea.value(), *eb.value(), f, tolerance));
    return Status::OK();
  }
  Result<Feeds> sample = SampleInputs(a, *ea.value());
  if (!sample.ok()) return sample.status();
  return CompareRuns(*ea.value(), *eb.value(), sample.value(), tolerance);
}

}  // namespace pq::quant
