// SHA-256 of files, for the audit report.
#ifndef PQ_UTIL_SHA256_H_
#define PQ_UTIL_SHA256_H_

#include <string>

#include "pq/status.h"

namespace pq {

// Returns the lower-case hex SHA-256 of the file at `path`.
// Errors: kInvalidInput when the file cannot be read.
Result<std::string> Sha256File(const std::string& path);

}  // namespace pq

#endif  // PQ_UTIL_SHA256_H_
