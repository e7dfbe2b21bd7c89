// Normalization kernels of pq's executor.
#include "exec/kernel.h"

namespace pq::exec {

const std::vector<KernelDef>& NormalizationKernels() {
  static const std::vector<KernelDef> kKernels = {};
  return kKernels;
}

}  // namespace pq::exec
