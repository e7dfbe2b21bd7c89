// Class labels for validation: an .npy of integer class indices, one per
// sample.
#ifndef PQ_SRC_VALIDATE_LABELS_H_
#define PQ_SRC_VALIDATE_LABELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/status.h"

namespace pq::validate {

// Reads `path`: shape [samples] or [samples, 1] of an integer type, exactly
// `samples` long. Errors (kInvalidInput, naming the file and `noun`, e.g.
// "labels" or "group ids"): unreadable, not integer, wrong rank or length
// (naming both counts), negative values. The upper bound of labels is
// checked once the number of classes is known.
Result<std::vector<int64_t>> LoadLabels(const std::string& path, int64_t samples,
                                        const std::string& noun = "labels");

// Reads group names, one per line (line i names group id i). Errors: an
// unreadable file.
Result<std::vector<std::string>> LoadGroupNames(const std::string& path);

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_LABELS_H_
