// NumPy .npz archives (a zip of .npy members), read and written with libzip.
#ifndef PQ_NPZ_H_
#define PQ_NPZ_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pq/npy.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

// Largest npz member pq reads into memory (a member is read whole).
inline constexpr int64_t kMaxNpzMemberBytes = int64_t{8} << 30;

// An .npz archive whose members are read whole and parsed as .npy.
class NpzFile {
 public:
  ~NpzFile();
  // Opens `path`. Errors (kInvalidInput): not a zip, unreadable.
  static Result<std::unique_ptr<NpzFile>> Open(const std::string& path);
  const std::string& path() const { return path_; }
  // Array names (member names without ".npy"), in archive order.
  const std::vector<std::string>& names() const { return names_; }
  // Reads and validates array `name` (its bytes stay owned by this object).
  // Errors name the archive and the array.
  Result<const NpyHeader*> Load(const std::string& name);
  // Rows of a loaded array; see NpyRows. REQUIRES: Load(name) succeeded.
  Result<Tensor> Rows(const std::string& name, int64_t first, int64_t count) const;

 private:
  NpzFile() = default;
  struct Member;
  std::string path_;
  void* zip_ = nullptr;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Member>> members_;
};

// Writes `arrays` as an uncompressed .npz at `path`, atomically (temporary
// file in the same folder, then rename). Errors: kOutputError.
Status WriteNpz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
                bool force);

}  // namespace pq

#endif  // PQ_NPZ_H_
