// SHA-256 of files, for the audit report.
#ifndef PQ_UTIL_SHA256_H_
#define PQ_UTIL_SHA256_H_

#include <string>

#include "pq/status.h"

namespace pq {

// Returns the lower-case hex SHA-256 of the file at `path`.
// Errors: kInvalidInput when the file cannot be read.
Result<std::string> Sha256File(const std::string& path);

// Returns the lower-case hex SHA-256 of `size` bytes at `data`.
std::string Sha256Bytes(const void* data, size_t size);

}  // namespace pq

#endif  // PQ_UTIL_SHA256_H_
