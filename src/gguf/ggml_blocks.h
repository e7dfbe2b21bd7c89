// The packed blocks of the ggml types pq encodes (private to src/gguf), laid
// out byte for byte as ggml's block_q8_0, block_q4_0, block_q5_0, block_q4_K
// and block_iq4_nl (see ggml_types.h for what each field means). Fields are
// little-endian; `d`/`dmin` are IEEE half bits. Blocks sit unaligned in a
// row, so code copies them with std::memcpy rather than casting pointers.
#ifndef PQ_GGUF_GGML_BLOCKS_H_
#define PQ_GGUF_GGML_BLOCKS_H_

#include <cstddef>
#include <cstdint>

namespace pq::gguf {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "GGUF blocks are copied as little-endian");

inline constexpr int kQk = 32;    // values per block of q8_0, q4_0, q5_0, iq4_nl
inline constexpr int kQkK = 256;  // values per super-block of q4_K
inline constexpr int kQ4KSubBlocks = kQkK / 32;

// Byte 0-1 d | bytes 2-33 qs[32] (int8): x = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQk];
};
static_assert(sizeof(BlockQ8_0) == 34 && offsetof(BlockQ8_0, qs) == 2, "q8_0 layout");

// Byte 0-1 d | bytes 2-17 qs[16]: value j in the low nibble of qs[j], value
// j+16 in its high nibble; x = d * (nibble - 8).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQk / 2];
};
static_assert(sizeof(BlockQ4_0) == 18 && offsetof(BlockQ4_0, qs) == 2, "q4_0 layout");

// Byte 0-1 d | bytes 2-5 qh (bit j of the little-endian uint32 is bit 4 of
// value j) | bytes 6-21 qs[16] as q4_0; x = d * (q - 16).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQk / 2];
};
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qh) == 2 &&
                  offsetof(BlockQ5_0, qs) == 6,
              "q5_0 layout");

// Byte 0-1 d | 2-3 dmin | 4-15 scales[12] | 16-143 qs[128].
// scales: sub-block j < 4 has its 6-bit scale in scales[j] bits 0-5 and its
// 6-bit min in scales[j+4] bits 0-5; j >= 4 has the low 4 bits of its scale
// in scales[j+4] bits 0-3 and of its min in bits 4-7, the high 2 bits of its
// scale in scales[j-4] bits 6-7 and of its min in scales[j] bits 6-7.
// qs: 32-byte group g holds sub-block 2g in low nibbles, 2g+1 in high ones.
// x = d*scale_j*q - dmin*min_j.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQkK / 2];
};
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, scales) == 4 &&
                  offsetof(BlockQ4_K, qs) == 16,
              "q4_K layout");

// Byte 0-1 d | bytes 2-17 qs[16] (nibbles as q4_0); x = d * kIq4nlLevels[nibble].
struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[kQk / 2];
};
static_assert(sizeof(BlockIq4Nl) == 18 && offsetof(BlockIq4Nl, qs) == 2, "iq4_nl layout");

// Packs the eight 6-bit scales and mins of a q4_K super-block into the 12
// bytes `packed` as BlockQ4_K describes. REQUIRES: every value < 64.
void PackQ4KScales(const uint8_t* scales, const uint8_t* mins, uint8_t* packed);
// Reads sub-block `j`'s scale and min (j < 8) back from `packed`.
void UnpackQ4KScaleMin(int j, const uint8_t* packed, uint8_t* scale, uint8_t* min);

// Per-type encoders of `blocks` consecutive blocks (importance may be null).
void QuantizeQ4K(const float* x, int64_t blocks, const float* importance, uint8_t* out);
void DequantizeQ4K(const uint8_t* in, int64_t blocks, float* out);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGML_BLOCKS_H_
