// Pieces shared by the GGUF writer and reader (private to src/gguf).
#ifndef PQ_GGUF_GGUF_INTERNAL_H_
#define PQ_GGUF_GGUF_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace pq::gguf {

inline constexpr char kGgufMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr int kMaxDims = 4;            // GGML_MAX_DIMS
inline constexpr size_t kMaxTensorName = 63;  // ggml's names hold 63 bytes + NUL
inline constexpr const char* kAlignmentKey = "general.alignment";

// Bytes of one stored scalar of value type `type` (0 for strings, arrays and
// unknown types).
int ScalarBytes(uint32_t type);

// The bytes of a tensor of ggml type `type` with `dims` (innermost first),
// or nullopt when the type is unknown, a dim is not positive, dims[0] is not
// a multiple of the block size, or the size overflows.
std::optional<uint64_t> TensorBytes(uint32_t type, const std::vector<int64_t>& dims);

inline uint64_t AlignUp(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGUF_INTERNAL_H_
