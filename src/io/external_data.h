// ExternalDataStore: resolves TensorProto external data safely.
//
// A location is accepted only if it is relative, has no ".." component and no
// backslash, and every component below the model folder is a real directory
// or regular file (no symbolic links, opened with O_NOFOLLOW one component at a
// time) whose link count is 1 (no hard links to files elsewhere). Files are
// memory-mapped read-only once and shared by every tensor that uses them.
#ifndef PQ_IO_EXTERNAL_DATA_H_
#define PQ_IO_EXTERNAL_DATA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"

namespace onnx {
class TensorProto;
}

namespace pq {

// A read-only memory mapping of a whole file. Unmapped on destruction.
class MappedFile {
 public:
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  // Device and inode of the mapped file, to recognise it under another name.
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }

 private:
  friend class ExternalDataStore;
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  uint64_t device_ = 0;
  uint64_t inode_ = 0;
};

// The parsed external_data entries of a tensor.
struct ExternalDataRef {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;  // -1: to the end of the file
};

// Returns the external_data entries of `tensor` parsed and checked (numeric,
// non-negative offset and length). `where` names the tensor in messages.
Result<ExternalDataRef> ParseExternalDataRef(const onnx::TensorProto& tensor,
                                             const std::string& where);

// Returns OK if `location` is a syntactically safe relative location.
Status CheckExternalLocation(const std::string& location);

class ExternalDataStore {
 public:
  // `base_dir` is the model's folder; `origin` names the model in messages.
  ExternalDataStore(std::string base_dir, std::string origin);

  // Returns a pointer to `expected_bytes` bytes of `tensor`'s external data,
  // valid while this store lives. `name` names the tensor in messages.
  // Errors (kInvalidInput): unsafe location, missing file, offset/length past
  // the end of the file, length different from `expected_bytes`.
  Result<const uint8_t*> Resolve(const onnx::TensorProto& tensor, const std::string& name,
                                 int64_t expected_bytes);

  // Drops the resident pages of [data, data + size) — bytes this store
  // returned — from memory; later reads fault them back in from the file.
  // Keeps peak memory near one tensor when a large model is streamed.
  static void ReleasePages(const uint8_t* data, int64_t size);

  // Files resolved so far, in first-use order.
  std::vector<ExternalFile> Files() const;

  // The mapped files, to check that an output does not overwrite one.
  std::vector<std::shared_ptr<const MappedFile>> MappedFiles() const;

 private:
  Result<std::shared_ptr<const MappedFile>> Map(const std::string& location);

  std::string base_dir_;
  std::string origin_;
  mutable std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, std::shared_ptr<const MappedFile>> files_;
};

}  // namespace pq

#endif  // PQ_IO_EXTERNAL_DATA_H_
