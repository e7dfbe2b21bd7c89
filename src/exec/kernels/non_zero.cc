// NonZero: the indices of the non-zero elements of a tensor, as numpy's
// np.array(np.nonzero(x)) gives them.
#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"

namespace pq::exec {
namespace {

// True when element v is non-zero (NaN is, -0.0 is not).
template <typename T>
bool IsNonZero(T v) {
  return v != T{0};
}

// NonZero (opsets 9, 13): input 0 of any numeric or bool executor dtype.
// Output: int64 [rank, count] with the row-major index of each non-zero
// element in column order; a scalar is read as shape [1] (as numpy does).
Status NonZero(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> shape = x.rank() == 0 ? std::vector<int64_t>{1} : x.shape();
  std::vector<int64_t> flat;  // flat offsets of the non-zero elements
  const bool known = DispatchAll(x.dtype(), [&](auto tag) {
    using T = Stored<decltype(tag)>;
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.size(); ++i) {
      if (IsNonZero(p[i])) flat.push_back(i);
    }
  });
  if (!known) return UnsupportedType(ctx, x);
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t count = static_cast<int64_t>(flat.size());
  Result<Tensor> out = ctx.AllocateUninitialized(kInt64, {rank, count});
  if (!out.ok()) return out.status();
  int64_t* o = out->data<int64_t>();
  for (int64_t j = 0; j < count; ++j) {
    int64_t rest = flat[static_cast<size_t>(j)];
    for (int64_t d = rank; d-- > 0;) {
      const int64_t dim = shape[static_cast<size_t>(d)];
      o[d * count + j] = rest % dim;
      rest /= dim;
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& NonZeroKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"NonZero", "", 9, 0, NonZero},
  };
  return kKernels;
}

}  // namespace pq::exec
