// SHA-256 of files, for the audit report.
#ifndef PQ_UTIL_SHA256_H_
#define PQ_UTIL_SHA256_H_

#include <atomic>
#include <string>

#include "pq/status.h"

namespace pq {

// Returns the lower-case hex SHA-256 of the file at `path`. When `cancel` is
// given and becomes true, stops before the next 1 MiB read.
// Errors: kInvalidInput when the file cannot be read; kInternal when stopped.
Result<std::string> Sha256File(const std::string& path,
                               const std::atomic<bool>* cancel = nullptr);

// The SHA-256 of `path` when it is a regular file, "" when it is something
// else (a folder, such as a test_data_set_* calibration set).
// Errors: Sha256File's.
Result<std::string> Sha256IfRegularFile(const std::string& path);

// Returns the lower-case hex SHA-256 of `size` bytes at `data`.
std::string Sha256Bytes(const void* data, size_t size);

}  // namespace pq

#endif  // PQ_UTIL_SHA256_H_
