// Det: the determinant of each square matrix in the last two dims,
// by LU decomposition with partial pivoting in double.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

// The determinant of the m x m row-major matrix `a` (overwritten).
double Determinant(std::vector<double>* a, int64_t m) {
  double det = 1;
  double* p = a->data();
  for (int64_t k = 0; k < m; ++k) {
    int64_t pivot = k;
    for (int64_t r = k + 1; r < m; ++r) {
      if (std::fabs(p[r * m + k]) > std::fabs(p[pivot * m + k])) pivot = r;
    }
    if (p[pivot * m + k] == 0) return 0;
    if (pivot != k) {
      for (int64_t c = 0; c < m; ++c) std::swap(p[k * m + c], p[pivot * m + c]);
      det = -det;
    }
    const double diag = p[k * m + k];
    det *= diag;
    for (int64_t r = k + 1; r < m; ++r) {
      const double f = p[r * m + k] / diag;
      if (f == 0) continue;
      for (int64_t c = k + 1; c < m; ++c) p[r * m + c] -= f * p[k * m + c];
    }
  }
  return det;
}

// Det (opsets 11, 22): float x of shape [*, M, M]. Output: [*].
Status Det(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) {
    return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) {
    return ctx.Error("input must be square matrices [*, M, M], got " + ShapeToString(x.shape()));
  }
  const int64_t m = x.dim(x.rank() - 1);
  std::vector<int64_t> shape(x.shape().begin(), x.shape().end() - 2);
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, shape);
  if (!out.ok()) return out.status();
  const float* px = x.data<float>();
  float* py = out->data<float>();
  std::vector<double> a(static_cast<size_t>(m * m));
  for (int64_t b = 0; b < out->size(); ++b) {
    for (int64_t i = 0; i < m * m; ++i) a[static_cast<size_t>(i)] = px[b * m * m + i];
    py[b] = static_cast<float>(Determinant(&a, m));
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& DetKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Det", "", 11, 0, Det},
  };
  return kKernels;
}

}  // namespace pq::exec
