#include "exec/kernels/signal_inputs.h"

#include <string>

#include "exec/kernels/movement_common.h"
#include "pq/data_type.h"

namespace pq::exec::signal {

Status ScalarInt(const KernelContext& ctx, int i, const char* what, int64_t* value) {
  const Tensor& t = ctx.input(i);
  if ((t.dtype() != kInt32 && t.dtype() != kInt64) || t.size() != 1 || t.rank() > 1) {
    return ctx.Error(std::string(what) + " must be one int32 or int64 value, got " +
                     DataTypeName(t.dtype()) + " " + ShapeToString(t.shape()));
  }
  *value = t.dtype() == kInt64 ? t.data<int64_t>()[0] : t.data<int32_t>()[0];
  return Status::OK();
}

Status OutputDatatype(const KernelContext& ctx, int32_t* dtype) {
  const int64_t declared = ctx.Int("output_datatype", kFloat);
  if (declared <= 0 || declared > 0x7fffffff) {
    return ctx.Error("output_datatype " + std::to_string(declared) + " is not a tensor type");
  }
  *dtype = ExecutorFeedType(static_cast<int32_t>(declared));
  if (!movement::ForNumericType(*dtype, [](auto) {})) {
    return ctx.Unsupported("output type " + DataTypeName(static_cast<int32_t>(declared)) +
                           " is not supported");
  }
  return Status::OK();
}

}  // namespace pq::exec::signal
