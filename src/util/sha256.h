// SHA-256 of files, for the audit report.
#ifndef PQ_UTIL_SHA256_H_
#define PQ_UTIL_SHA256_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// The SHA-256 of a stream of bytes, computed on a worker thread so that the
// writer producing them does not wait for it: Update copies the bytes into a
// queue of at most kQueuedBuffers buffers of kBufferBytes (blocking while it
// is full) and returns; Finish hashes what is left and returns the lower-case
// hex digest. Not thread-safe: one producer.
class Sha256Stream {
 public:
  static constexpr size_t kBufferBytes = 8 << 20;
  static constexpr size_t kQueuedBuffers = 4;

  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(const void* data, size_t size);
  // REQUIRES: called once; no Update after it.
  std::string Finish();

 private:
  void Hand(bool last);  // queues filling_ for the worker
  void Work();

  struct Digest;
  std::unique_ptr<Digest> digest_;
  std::vector<unsigned char> filling_;
  std::deque<std::vector<unsigned char>> queue_;
  bool done_ = false;
  std::mutex mu_;
  std::condition_variable changed_;
  std::thread worker_;
};

}  // namespace pq

#endif  // PQ_UTIL_SHA256_H_
