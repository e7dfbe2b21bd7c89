#include "quant/equivalence_check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "pq/executor.h"

namespace pq::quant {
namespace {

// Inputs for every graph input of `executor`: uniform in [-1, 1], fixed seed.
Result<std::map<std::string, Tensor>> SampleInputs(const Executor& executor) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::map<std::string, Tensor> feeds;
  for (const TensorInfo& info : executor.inputs()) {
    if (info.dtype != kFloat) return Status::NotSupported("non-float input '" + info.name + "'");
    std::vector<int64_t> dims = info.dims;
    for (int64_t& d : dims) d = d < 0 ? 1 : d;
    Result<Tensor> t = Tensor::Allocate(kFloat, dims);
    if (!t.ok()) return t.status();
    for (int64_t i = 0; i < t->size(); ++i) t->data<float>()[i] = dist(rng);
    feeds[info.name] = std::move(t).value();
  }
  return feeds;
}

Status CompareOutput(const std::string& name, const Tensor& x, const Tensor& y) {
  const std::string which = "output '" + name + "'";
  if (x.shape() != y.shape() || x.dtype() != kFloat || y.dtype() != kFloat) {
    return Status::InvalidInput(which + " differs in shape or type");
  }
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    const double d = x.data<float>()[i] - y.data<float>()[i];
    diff += d * d;
    norm += static_cast<double>(x.data<float>()[i]) * x.data<float>()[i];
  }
  if (std::sqrt(diff) > kEquivalenceTolerance * std::max(std::sqrt(norm), 1e-12)) {
    return Status::InvalidInput(which + " differs after conversion");
  }
  return Status::OK();
}

}  // namespace

Status CheckSameOutputs(const Model& a, const Model& b, int threads) {
  ExecutorOptions options;
  options.threads = threads;
  Result<std::unique_ptr<Executor>> ea = Executor::Create(a, options);
  if (!ea.ok()) return ea.status();
  Result<std::unique_ptr<Executor>> eb = Executor::Create(b, options);
  if (!eb.ok()) return eb.status();
  Result<std::map<std::string, Tensor>> feeds = SampleInputs(*ea.value());
  if (!feeds.ok()) return feeds.status();
  Result<std::vector<Tensor>> ra = ea.value()->Run(feeds.value());
  if (!ra.ok()) return ra.status();
  Result<std::vector<Tensor>> rb = eb.value()->Run(feeds.value());
  if (!rb.ok()) return rb.status();
  if (ra->size() != rb->size()) {
    return Status::InvalidInput("the models have " + std::to_string(ra->size()) + " and " +
                                std::to_string(rb->size()) + " outputs");
  }
  const std::vector<TensorInfo>& outputs = ea.value()->outputs();
  for (size_t o = 0; o < ra->size(); ++o) {
    const std::string name = o < outputs.size() ? outputs[o].name : std::to_string(o);
    PQ_RETURN_IF_ERROR(CompareOutput(name, (*ra)[o], (*rb)[o]));
  }
  return Status::OK();
}

}  // namespace pq::quant
