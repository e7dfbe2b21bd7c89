// GGUF files (version 3, little-endian): writing one from metadata and
// tensors already encoded, and reading one back with every count, length and
// offset checked against the file, so hostile files are refused instead of
// trusted.
//
// Layout: "GGUF", uint32 version, uint64 tensor_count, uint64 kv_count;
// kv_count key/values (gguf string key, uint32 value type, value); tensor
// infos (name, uint32 n_dims, uint64 ne[n_dims] innermost first, uint32
// ggml type, uint64 offset relative to the data section); padding to
// `general.alignment` (32 unless the file says otherwise); the data section,
// each tensor at its offset, offsets multiples of the alignment.
// A gguf string is a uint64 byte length followed by the bytes (no NUL).
#ifndef PQ_GGUF_GGUF_FILE_H_
#define PQ_GGUF_GGUF_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/ggml_types.h"
#include "pq/status.h"

namespace pq::gguf {

// GGUF metadata value types, as stored.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// One metadata value. Scalars are held in the field of their kind (integers
// and bools in `integer`, floats in `real`); an array holds `element_type`
// and its elements in `integers`, `reals` or `strings` (arrays of arrays are
// not written by pq and are refused by the reader).
struct Value {
  ValueType type = ValueType::kUint32;
  int64_t integer = 0;   // uint64 values as their bit pattern (>= 2^63 read negative)
  double real = 0;
  std::string string;
  ValueType element_type = ValueType::kUint32;
  std::vector<int64_t> integers;
  std::vector<double> reals;
  std::vector<std::string> strings;

  static Value Uint32(uint32_t v);
  static Value Int32(int32_t v);
  static Value Uint64(uint64_t v);
  static Value Float32(float v);
  static Value Bool(bool v);
  static Value String(std::string v);
  static Value Strings(std::vector<std::string> v);
  static Value Float32s(std::vector<float> v);
  static Value Int32s(std::vector<int32_t> v);
};

struct KeyValue {
  std::string key;
  Value value;
};

// A tensor to write: `dims` innermost first (ggml's ne: a [rows, cols]
// matrix is {cols, rows}), `bytes` already encoded in `type`.
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> dims;
  GgmlType type = GgmlType::kF32;
  std::vector<uint8_t> bytes;
};

// Writes a GGUF v3 file at `path` atomically (temporary file + rename; no
// partial file on failure). `general.alignment` is written only when
// `alignment` is not 32. Tensor data is laid out in the given order.
// Errors: kInvalidArgument for a tensor whose byte count does not match its
// dims and type, more than 4 dims, a name longer than 63 bytes (ggml's
// limit), a duplicate key or tensor name, an alignment that is not a power
// of two or disagrees with a general.alignment key; kOutputError when the
// file cannot be written.
Status WriteGguf(const std::string& path, const std::vector<KeyValue>& kvs,
                 const std::vector<TensorToWrite>& tensors, uint32_t alignment = 32);

// A tensor as a GGUF file describes it.
struct TensorInfoRecord {
  std::string name;
  std::vector<int64_t> dims;  // innermost first
  uint32_t type = 0;
  uint64_t offset = 0;        // relative to the data section
  uint64_t bytes = 0;         // from dims and the type's block layout
};

struct GgufContents {
  uint32_t version = 0;
  uint32_t alignment = 32;
  std::vector<KeyValue> kvs;
  std::vector<TensorInfoRecord> tensors;
  uint64_t data_offset = 0;  // where the data section starts in the file
  uint64_t file_bytes = 0;
};

// Reads the header, metadata and tensor infos of the GGUF file at `path`
// (tensor data is not read). Errors (kInvalidInput, naming the file and what
// was wrong): not a GGUF file, a version other than 2 or 3, counts or string
// lengths beyond the file, an unknown value or ggml type, a tensor whose
// data lies beyond the file, overlaps another or is misaligned, dims that
// are not positive or whose product overflows, more than 4 dims, a first dim
// that is not a multiple of the type's block size, duplicate keys or tensor
// names, nested arrays, a bool other than 0/1, a general.alignment that is
// not a uint32 power of two. Tensor types are those ggml stores (StorageOf),
// not only those pq encodes. Counts are checked against the bytes left
// before anything is allocated for them.
Result<GgufContents> ReadGguf(const std::string& path);

// As ReadGguf, on bytes in memory (`origin` names them in messages).
Result<GgufContents> ParseGguf(const uint8_t* data, size_t size, const std::string& origin);

// The value of `key` in `contents`, or nullptr.
const Value* FindValue(const GgufContents& contents, const std::string& key);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGUF_FILE_H_
