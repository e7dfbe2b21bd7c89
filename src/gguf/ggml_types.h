// GGML tensor types that pq writes into GGUF files, as a traits table
// (ggml's type_traits): one row per type with its block size, its bytes per
// block, and the scalar reference quantizer and dequantizer that are the
// source of truth for its byte layout.
//
// Block layouts (little-endian, as ggml lays them out):
//   F32     4 bytes per value.
//   F16     2 bytes per value (IEEE half, round to nearest even).
//   Q8_0    32 values in 34 bytes: f16 d, int8 q[32]; x = d * q.
//   Q4_0    32 values in 18 bytes: f16 d, uint8 qs[16]; value j (0..15) in
//           the low nibble of qs[j], value j+16 in its high nibble;
//           x = d * (nibble - 8).
//   Q5_0    32 values in 22 bytes: f16 d, uint8 qh[4] (bit j of the
//           little-endian uint32 is the 5th bit of value j), uint8 qs[16]
//           as Q4_0; x = d * (q - 16).
//   Q4_K    256 values in 144 bytes: f16 d, f16 dmin, uint8 scales[12]
//           (eight 6-bit scales and eight 6-bit mins of 32-value
//           sub-blocks, packed as ggml's get_scale_min_k4 reads them),
//           uint8 qs[128] (sub-blocks 2i and 2i+1 share 32 bytes: low
//           nibbles hold 2i, high nibbles 2i+1); x = d*sc*q - dmin*m.
//   IQ4_NL  32 values in 18 bytes: f16 d, uint8 qs[16] (nibbles as Q4_0)
//           indexing the 16-level non-linear codebook kIq4nlLevels;
//           x = d * kIq4nlLevels[nibble].
#ifndef PQ_GGUF_GGML_TYPES_H_
#define PQ_GGUF_GGML_TYPES_H_

#include <cstdint>
#include <string>

#include "pq/status.h"

namespace pq::gguf {

// ggml_type values as GGUF files store them.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ5_0 = 6,
  kQ8_0 = 8,
  kQ4_K = 12,
  kIq4Nl = 20,
};

struct GgmlTypeTraits {
  GgmlType type;
  const char* name;       // "f32", "f16", "q8_0", "q4_0", "q5_0", "q4_k", "iq4_nl"
  int64_t block_size;     // values per block (1 for f32/f16)
  int64_t block_bytes;    // bytes per block
};

// The 16 levels of IQ4_NL (ggml's kvalues_iq4nl), ascending.
inline constexpr int8_t kIq4nlLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// How any tensor type that ggml stores in GGUF files is laid out, whether or
// not pq encodes it: enough to size and name tensors of files written by
// other tools (pq inspect reads them; only the types above are encoded).
struct GgmlStorage {
  uint32_t type;
  const char* name;     // ggml's type name ("q6_K", "bf16", ...)
  int64_t block_size;   // values per block
  int64_t block_bytes;  // bytes per block
};

// The storage row of ggml type id `type`, or nullptr for an id ggml does not
// store (unknown, or removed such as 4, 5, 31..33, 36..38).
const GgmlStorage* StorageOf(uint32_t type);

// The row of `type`, or nullptr for a type pq does not write.
const GgmlTypeTraits* TraitsOf(GgmlType type);
// The row named `name` (as in the table), or nullptr.
const GgmlTypeTraits* TraitsNamed(const std::string& name);
// The name of any ggml type id: pq's name for the types it writes, ggml's
// for the others it stores, "type 99" for an unknown id.
std::string GgmlTypeName(uint32_t type);

// Bytes of a row of `n` values of `type`.
// REQUIRES: TraitsOf(type) and n % block_size == 0.
int64_t RowBytes(GgmlType type, int64_t n);

// Quantizes one row of `n` values `x` into `out` (RowBytes(type, n) bytes).
// `importance` (n non-negative weights, or nullptr) weights the squared
// error of each value when choosing scales and levels, as llama.cpp's
// importance matrix does; nullptr means plain round-to-nearest search.
// Deterministic. Errors (kInvalidArgument): n not a multiple of the block
// size, a non-finite value, naming the type.
Status QuantizeRow(GgmlType type, const float* x, int64_t n, const float* importance, uint8_t* out);

// Decodes one row of `n` values of `type` from `in` into `out`.
// REQUIRES: TraitsOf(type) and n % block_size == 0.
void DequantizeRow(GgmlType type, const uint8_t* in, int64_t n, float* out);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGML_TYPES_H_
