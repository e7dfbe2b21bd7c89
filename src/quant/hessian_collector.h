// HessianCollector: the second moments of layer inputs that data-aware
// weight rounding (GPTQ, AWQ) needs, gathered as an executor Observer. For an
// activation A read as the data input of a MatMul/Gemm with K input
// features, X is A flattened to [rows, K] (Gemm transA=1: X = A^T) and the
// collector sums X^T X and |X| per column over every row of every run, in
// double.
//
// Memory: one K x K matrix of doubles per distinct input (8 K^2 bytes: 8 MiB
// at K = 1024, 512 MiB at K = 8192), all held until the end of the data.
#ifndef PQ_QUANT_HESSIAN_COLLECTOR_H_
#define PQ_QUANT_HESSIAN_COLLECTOR_H_

#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "pq/executor.h"
#include "pq/status.h"

namespace pq::quant {

// An activation whose X^T X is wanted, and how its rows are laid out.
struct HessianInput {
  std::string tensor;
  bool transposed = false;  // Gemm transA=1: A is [K, M], X = A^T
  int64_t k = 0;            // input features
  bool operator<(const HessianInput& o) const {
    return std::tie(tensor, transposed, k) < std::tie(o.tensor, o.transposed, o.k);
  }
};

// X^T X of one input over `rows` rows, and the sum of |x_k| per input
// feature (AWQ's activation magnitudes: mean |x_k| = abs_sum[k] / rows).
struct InputHessian {
  int64_t rows = 0;
  Eigen::MatrixXd xtx;      // K x K, symmetric (both triangles filled)
  Eigen::VectorXd abs_sum;  // K
  // Adds `other`'s rows (same K): what the two shards of data give together.
  void Merge(const InputHessian& other);
};

class HessianCollector : public Observer {
 public:
  // `threads`: intra-op threads for the sums (0 = all cores); the sums do
  // not depend on it.
  HessianCollector(const std::vector<HessianInput>& inputs, int threads);
  void OnTensor(const std::string& name, const Tensor& value) override;
  // The inputs not seen yet as float tensors of the expected layout.
  std::vector<std::string> Missing() const;
  // Errors (kInvalidInput): an input never observed, observed with another
  // dtype or with a shape whose K dim is not the weight's, naming it.
  Result<std::map<HessianInput, InputHessian>> Results() const;
  // Results(), moved out: the collector holds no sums afterwards (no second
  // copy of them while they are handed on).
  Result<std::map<HessianInput, InputHessian>> Take();

 private:
  // Results()'s errors, OK when they would succeed.
  Status Check() const;
  // Adds X^T X of the [rows, k] float values (row-major; `transposed`:
  // [k, rows]) to `h`, in fixed tiles summed in a fixed order.
  void Accumulate(const float* values, int64_t rows, int64_t k, bool transposed, InputHessian* h) const;

  std::multimap<std::string, HessianInput> wanted_;
  std::map<HessianInput, InputHessian> sums_;
  std::map<std::string, std::string> problems_;  // tensor -> what was wrong
  int threads_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_HESSIAN_COLLECTOR_H_
