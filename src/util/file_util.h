// Small file-system helpers shared by pq's readers and writers.
#ifndef PQ_UTIL_FILE_UTIL_H_
#define PQ_UTIL_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "pq/status.h"

namespace pq {

// Returns the folder part of `path` ("." when it has none, "/" for the root).
std::string DirName(const std::string& path);
// Returns the last component of `path`.
std::string BaseName(const std::string& path);

// Returns true if `a` and `b` both exist and are the same file (device and
// inode), whatever names they are reached by.
bool SameFile(const std::string& a, const std::string& b);
// Returns true if the same file as (device, inode) is reached by `path`.
bool IsFile(const std::string& path, uint64_t device, uint64_t inode);
// Returns true if something exists at `path` (a dangling symlink counts).
bool PathExists(const std::string& path);

// A file written under a temporary name in its target's folder and renamed
// onto the target by Commit(). Until Commit() succeeds the target is
// untouched; a destroyed, uncommitted AtomicFile removes its temporary file.
class AtomicFile {
 public:
  // Creates the temporary file. Errors: kOutputError naming `target`.
  static Result<std::unique_ptr<AtomicFile>> Create(const std::string& target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_; }
  const std::string& target() const { return target_; }

  // Appends `size` bytes. Errors: kOutputError with the system's reason.
  Status Write(const void* data, size_t size);
  // Flushes to disk, closes, and renames onto the target.
  Status Commit();
  // Bytes written so far.
  int64_t size() const { return size_; }

 private:
  AtomicFile(std::string target, std::string temp, int fd)
      : target_(std::move(target)), temp_(std::move(temp)), fd_(fd) {}

  std::string target_;
  std::string temp_;
  int fd_ = -1;
  int64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace pq

#endif  // PQ_UTIL_FILE_UTIL_H_
