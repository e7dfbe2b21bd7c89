// NumPy .npy arrays: a reader written for hostile files, and a writer.
//
// Format 1.0/2.0/3.0: magic "\x93NUMPY", version, header length (2 or 4
// bytes, little-endian), a Python dict literal {'descr', 'fortran_order',
// 'shape'}, then the raw data. The reader bounds the header, refuses object
// and structured dtypes (nothing is ever unpickled), honours fortran_order and
// byte order, and checks the data size against the file with overflow-safe
// arithmetic.
#ifndef PQ_NPY_H_
#define PQ_NPY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

// The largest header pq reads (numpy itself writes a few hundred bytes).
inline constexpr int64_t kMaxNpyHeaderBytes = 65536;

struct NpyHeader {
  int32_t dtype = 0;          // ONNX data type number of the stored elements
  int item_size = 0;          // bytes per stored element
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;    // where the data starts in the file
  int64_t element_count = 0;
};

// Parses the header of an .npy image of `size` bytes whose first `available`
// bytes (all of them when -1) are at `bytes`. `what` names the file (or npz
// member) in messages. Errors: kInvalidInput.
Result<NpyHeader> ParseNpyHeader(const uint8_t* bytes, int64_t size, const std::string& what,
                                 int64_t available = -1);

// Returns elements [first, first + count) along axis 0 of the array as an
// executor tensor of shape [count, shape[1:]...] in C order (float16 and
// float64 become float; int16/uint16/uint32/uint64 are refused).
// REQUIRES: `bytes` holds the whole image that `header` was parsed from.
Result<Tensor> NpyRows(const NpyHeader& header, const uint8_t* bytes, int64_t first,
                       int64_t count, const std::string& what);

// An .npy file read row by row: only the rows asked for are read (pread),
// so memory does not grow with the file.
class NpyFile {
 public:
  ~NpyFile();
  // Opens and validates `path`. Errors: kInvalidInput naming the file.
  static Result<std::unique_ptr<NpyFile>> Open(const std::string& path);
  const NpyHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  // See NpyRows. An array of rank 0 is one row.
  Result<Tensor> Rows(int64_t first, int64_t count) const;

 private:
  NpyFile() = default;
  std::string path_;
  NpyHeader header_;
  int fd_ = -1;
};

// Returns the .npy (format 1.0, little-endian, C order) encoding of `t`.
std::string EncodeNpy(const Tensor& t);

}  // namespace pq

#endif  // PQ_NPY_H_
