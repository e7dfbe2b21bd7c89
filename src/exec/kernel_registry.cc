// The executor's kernel table: every op family, in one explicit list.
#include "exec/kernel.h"

#include "base/onnx_domain.h"

namespace pq::exec {
namespace {

using Family = const std::vector<KernelDef>& (*)();

// Adding an op family is one file in src/exec/kernels/ plus one row here.
constexpr Family kFamilies[] = {
    ElementwiseKernels, UnaryKernels,     CastKernels,  LinearKernels,
    ConvKernels,        NormalizationKernels,           PoolingKernels,
    ReductionKernels,   ShapeKernels,     MovementKernels, SoftmaxKernels,
    QuantizedKernels,
};

bool SameDomain(const std::string& a, const char* b) {
  const std::string bs = b;
  return IsDefaultDomain(a) ? IsDefaultDomain(bs) : a == bs;
}

}  // namespace

const KernelDef* FindKernel(const std::string& domain, const std::string& op_type,
                            int64_t opset) {
  for (Family family : kFamilies) {
    for (const KernelDef& def : family()) {
      if (op_type == def.op_type && SameDomain(domain, def.domain) &&
          opset >= def.since_version && (def.until_version == 0 || opset <= def.until_version)) {
        return &def;
      }
    }
  }
  return nullptr;
}

std::vector<KernelDef> AllKernels() {
  std::vector<KernelDef> all;
  for (Family family : kFamilies) {
    for (const KernelDef& def : family()) all.push_back(def);
  }
  return all;
}

}  // namespace pq::exec
