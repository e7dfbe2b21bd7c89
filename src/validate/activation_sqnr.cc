#include "validate/activation_sqnr.h"

#include <algorithm>
#include <cstring>

#include "pq/executor.h"
#include "validate/output_accumulator.h"

namespace pq::validate {
namespace {

// Keeps a private copy of the watched float tensors of one run.
class Capture : public Observer {
 public:
  explicit Capture(const std::set<std::string>& tensors) : tensors_(tensors) {}
  void OnTensor(const std::string& name, const Tensor& value) override {
    if (tensors_.count(name) == 0 || value.dtype() != kFloat) return;
    Result<Tensor> copy = Tensor::AllocateUninitialized(kFloat, value.shape());
    if (!copy.ok()) return;
    std::memcpy(copy->raw(), value.raw(), static_cast<size_t>(value.byte_size()));
    captured_[name] = std::move(copy).value();
  }
  const std::map<std::string, Tensor>& captured() const { return captured_; }

 private:
  const std::set<std::string>& tensors_;
  std::map<std::string, Tensor> captured_;
};

// Adds the difference between each watched tensor and its captured
// reference to that tensor's sums.
class Accumulate : public Observer {
 public:
  Accumulate(const std::map<std::string, Tensor>& reference,
             std::map<std::string, OutputErrorSums>* sums, std::set<std::string>* mismatched)
      : reference_(reference), sums_(sums), mismatched_(mismatched) {}
  void OnTensor(const std::string& name, const Tensor& value) override {
    auto it = reference_.find(name);
    if (it == reference_.end()) return;
    if (value.dtype() != kFloat || value.shape() != it->second.shape()) {
      mismatched_->insert(name);
      return;
    }
    OutputErrorSums& sums = (*sums_)[name];
    const float* r = it->second.data<float>();
    const float* c = value.data<float>();
    for (int64_t i = 0; i < value.size(); ++i) sums.Add(r[i], c[i]);
  }

 private:
  const std::map<std::string, Tensor>& reference_;
  std::map<std::string, OutputErrorSums>* sums_;
  std::set<std::string>* mismatched_;
};

}  // namespace

Result<std::map<std::string, double>> ActivationSqnr(const Model& reference, const Model& candidate,
                                                     const Dataset& data, int64_t batch, int threads,
                                                     const std::set<std::string>& tensors) {
  ExecutorOptions options;
  options.threads = threads;
  Result<std::unique_ptr<Executor>> ref = Executor::Create(reference, options);
  if (!ref.ok()) return ref.status();
  Result<std::unique_ptr<Executor>> cand = Executor::Create(candidate, options);
  if (!cand.ok()) return cand.status();
  std::map<std::string, OutputErrorSums> sums;
  std::set<std::string> mismatched;
  const int64_t total = data.num_samples();
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t count = std::min(batch, total - first);
    Result<std::map<std::string, Tensor>> feeds = data.Batch(first, count);
    if (!feeds.ok()) return feeds.status();
    Capture capture(tensors);
    Result<std::vector<Tensor>> r = ref.value()->Run(feeds.value(), &capture);
    if (!r.ok()) return r.status();
    Accumulate accumulate(capture.captured(), &sums, &mismatched);
    Result<std::vector<Tensor>> c = cand.value()->Run(feeds.value(), &accumulate);
    if (!c.ok()) return c.status();
  }
  std::map<std::string, double> out;
  for (const auto& [name, s] : sums) {
    if (mismatched.count(name) != 0) continue;
    OutputComparison figures;
    s.Fill(&figures);
    out[name] = figures.sqnr_db;
  }
  return out;
}

}  // namespace pq::validate
