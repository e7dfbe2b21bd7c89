#include "base/batchnorm_fold.h"

#include <cmath>

namespace pq {

void FoldBatchNormIntoConv(const BatchNormParams& bn, int64_t channels, int64_t per_channel,
                           float* weight, float* bias) {
  for (int64_t m = 0; m < channels; ++m) {
    const float a = bn.scale[m] / std::sqrt(bn.var[m] + bn.epsilon);
    for (int64_t k = 0; k < per_channel; ++k) weight[m * per_channel + k] *= a;
    bias[m] = (bias[m] - bn.mean[m]) * a + bn.b[m];
  }
}

}  // namespace pq
