// Dataset::Source: where one file's samples come from. Private to src/data.
#ifndef PQ_SRC_DATA_SOURCE_H_
#define PQ_SRC_DATA_SOURCE_H_

#include <cstdint>

#include "pq/dataset.h"

namespace pq {

// Sample(k, i) returns input k of sample i, shaped as one model feed (first
// axis included).
struct Dataset::Source {
  virtual ~Source() = default;
  virtual int64_t samples() const = 0;
  virtual Result<Tensor> Sample(size_t input, int64_t index) const = 0;
};

}  // namespace pq

#endif  // PQ_SRC_DATA_SOURCE_H_
