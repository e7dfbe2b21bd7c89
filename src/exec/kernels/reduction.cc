// Reduction kernels of pq's executor.
#include "exec/kernel.h"

namespace pq::exec {

const std::vector<KernelDef>& ReductionKernels() {
  static const std::vector<KernelDef> kKernels = {};
  return kKernels;
}

}  // namespace pq::exec
