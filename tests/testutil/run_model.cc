#include "testutil/run_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

#include "pq/executor.h"

namespace pq::testing {

std::vector<float> RunOnFloatInput(const Model& model, const std::string& name, const std::vector<int64_t>& shape,
                                   const std::vector<float>& values) {
  Tensor feed = Tensor::Allocate(kFloat, shape).value();
  EXPECT_EQ(static_cast<size_t>(feed.size()), values.size()) << name;
  if (static_cast<size_t>(feed.size()) != values.size()) return {};
  std::memcpy(feed.data<float>(), values.data(), values.size() * sizeof(float));
  Result<std::unique_ptr<Executor>> exec = Executor::Create(model, {});
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  if (!exec.ok()) return {};
  Result<std::vector<Tensor>> out = exec.value()->Run({{name, std::move(feed)}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  std::vector<float> floats;
  for (const Tensor& t : *out) floats.insert(floats.end(), t.data<float>(), t.data<float>() + t.size());
  return floats;
}

double RelativeL2(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return a.size() == b.size() && norm > 0 ? std::sqrt(diff / norm) : 1e9;
}

}  // namespace pq::testing
