#include "gguf/ggml_types.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "base/float16.h"
#include "gguf/ggml_blocks.h"
#include "gguf/ggml_scale_search.h"

namespace pq::gguf {
namespace {

constexpr GgmlTypeTraits kTraits[] = {
    {GgmlType::kF32, "f32", 1, 4},
    {GgmlType::kF16, "f16", 1, 2},
    {GgmlType::kQ8_0, "q8_0", kQk, sizeof(BlockQ8_0)},
    {GgmlType::kQ4_0, "q4_0", kQk, sizeof(BlockQ4_0)},
    {GgmlType::kQ5_0, "q5_0", kQk, sizeof(BlockQ5_0)},
    {GgmlType::kQ4_K, "q4_k", kQkK, sizeof(BlockQ4_K)},
    {GgmlType::kIq4Nl, "iq4_nl", kQk, sizeof(BlockIq4Nl)},
};

// ggml's storage table (ggml.c type_traits: blck_size, type_size), for the
// ids its GGUF reader accepts.
constexpr GgmlStorage kStorage[] = {
    {0, "f32", 1, 4},          {1, "f16", 1, 2},          {2, "q4_0", 32, 18},
    {3, "q4_1", 32, 20},       {6, "q5_0", 32, 22},       {7, "q5_1", 32, 24},
    {8, "q8_0", 32, 34},       {9, "q8_1", 32, 36},       {10, "q2_K", 256, 84},
    {11, "q3_K", 256, 110},    {12, "q4_K", 256, 144},    {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210},    {15, "q8_K", 256, 292},    {16, "iq2_xxs", 256, 66},
    {17, "iq2_xs", 256, 74},   {18, "iq3_xxs", 256, 98},  {19, "iq1_s", 256, 50},
    {20, "iq4_nl", 32, 18},    {21, "iq3_s", 256, 110},   {22, "iq2_s", 256, 82},
    {23, "iq4_xs", 256, 136},  {24, "i8", 1, 1},          {25, "i16", 1, 2},
    {26, "i32", 1, 4},         {27, "i64", 1, 8},         {28, "f64", 1, 8},
    {29, "iq1_m", 256, 56},    {30, "bf16", 1, 2},        {34, "tq1_0", 256, 54},
    {35, "tq2_0", 256, 66},    {39, "mxfp4", 32, 17},     {40, "nvfp4", 64, 36},
    {41, "q1_0", 128, 18},     {42, "q2_0", 64, 18},
};

// Levels of the uniform symmetric types, and of iq4_nl, as floats.
struct LevelTables {
  float q4[16], q5[32], q8[256], iq4nl[16];
  LevelTables() {
    for (int i = 0; i < 16; ++i) q4[i] = static_cast<float>(i - 8);
    for (int i = 0; i < 32; ++i) q5[i] = static_cast<float>(i - 16);
    for (int i = 0; i < 256; ++i) q8[i] = static_cast<float>(i - 128);
    for (int i = 0; i < 16; ++i) iq4nl[i] = kIq4nlLevels[i];
  }
};
const LevelTables& Levels() {
  static const LevelTables tables;
  return tables;
}

// The signed value of largest magnitude of a block (the first on ties).
float SignedMax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// q8_0 without importance, as ggml's reference: d = amax / 127, q = round(x / d)
// with halves away from zero (roundf), computed through the float reciprocal.
void Q8_0Reference(const float* x, BlockQ8_0* b) {
  float amax = 0;
  for (int j = 0; j < kQk; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  b->d = FloatToHalfBits(d);
  for (int j = 0; j < kQk; ++j) b->qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
}

// q4_0 / q5_0 without importance, as ggml's reference: d = max / -2^(bits-1)
// for the signed value of largest magnitude, q = min(top, trunc(x/d + half + 0.5)).
template <int kHalfRange>
void SymmetricReference(const float* x, uint16_t* d_bits, uint8_t* q) {
  const float d = SignedMax(x, kQk) / -static_cast<float>(kHalfRange);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  *d_bits = FloatToHalfBits(d);
  for (int j = 0; j < kQk; ++j) {
    const float shifted = x[j] * id + (kHalfRange + 0.5f);
    q[j] = static_cast<uint8_t>(std::min(2 * kHalfRange - 1, static_cast<int>(shifted)));
  }
}

void PackNibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < kQk / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xf) | (q[j + 16] << 4));
}

void UnpackNibbles(const uint8_t* qs, uint8_t* q) {
  for (int j = 0; j < kQk / 2; ++j) {
    q[j] = qs[j] & 0xf;
    q[j + 16] = qs[j] >> 4;
  }
}

void QuantizeBlock(GgmlType type, const float* x, const float* w, uint8_t* out) {
  const LevelTables& lv = Levels();
  uint8_t q[kQk];
  switch (type) {
    case GgmlType::kQ8_0: {
      BlockQ8_0 b;
      if (w == nullptr) {
        Q8_0Reference(x, &b);
      } else {
        SearchSymmetricScale(x, w, kQk, {lv.q8, 256, true}, &b.d, q);
        for (int j = 0; j < kQk; ++j) b.qs[j] = static_cast<int8_t>(q[j] - 128);
      }
      std::memcpy(out, &b, sizeof(b));
      return;
    }
    case GgmlType::kQ4_0: {
      BlockQ4_0 b;
      if (w == nullptr) {
        SymmetricReference<8>(x, &b.d, q);
      } else {
        SearchSymmetricScale(x, w, kQk, {lv.q4, 16, true}, &b.d, q);
      }
      PackNibbles(q, b.qs);
      std::memcpy(out, &b, sizeof(b));
      return;
    }
    case GgmlType::kQ5_0: {
      BlockQ5_0 b;
      SearchSymmetricScale(x, w, kQk, {lv.q5, 32, true}, &b.d, q);
      uint32_t qh = 0;
      for (int j = 0; j < kQk; ++j) qh |= static_cast<uint32_t>(q[j] >> 4) << j;
      std::memcpy(b.qh, &qh, 4);
      PackNibbles(q, b.qs);
      std::memcpy(out, &b, sizeof(b));
      return;
    }
    case GgmlType::kIq4Nl: {
      BlockIq4Nl b;
      SearchSymmetricScale(x, w, kQk, {lv.iq4nl, 16, false}, &b.d, q);
      PackNibbles(q, b.qs);
      std::memcpy(out, &b, sizeof(b));
      return;
    }
    default:
      return;
  }
}

void DequantizeBlock(GgmlType type, const uint8_t* in, float* y) {
  uint8_t q[kQk];
  switch (type) {
    case GgmlType::kQ8_0: {
      BlockQ8_0 b;
      std::memcpy(&b, in, sizeof(b));
      const float d = HalfBitsToFloat(b.d);
      for (int j = 0; j < kQk; ++j) y[j] = b.qs[j] * d;
      return;
    }
    case GgmlType::kQ4_0: {
      BlockQ4_0 b;
      std::memcpy(&b, in, sizeof(b));
      const float d = HalfBitsToFloat(b.d);
      UnpackNibbles(b.qs, q);
      for (int j = 0; j < kQk; ++j) y[j] = (q[j] - 8) * d;
      return;
    }
    case GgmlType::kQ5_0: {
      BlockQ5_0 b;
      std::memcpy(&b, in, sizeof(b));
      const float d = HalfBitsToFloat(b.d);
      uint32_t qh;
      std::memcpy(&qh, b.qh, 4);
      UnpackNibbles(b.qs, q);
      for (int j = 0; j < kQk; ++j) {
        y[j] = (static_cast<int>(q[j] | (((qh >> j) & 1u) << 4)) - 16) * d;
      }
      return;
    }
    case GgmlType::kIq4Nl: {
      BlockIq4Nl b;
      std::memcpy(&b, in, sizeof(b));
      const float d = HalfBitsToFloat(b.d);
      UnpackNibbles(b.qs, q);
      for (int j = 0; j < kQk; ++j) y[j] = d * kIq4nlLevels[q[j]];
      return;
    }
    default:
      return;
  }
}

}  // namespace

const GgmlStorage* StorageOf(uint32_t type) {
  for (const GgmlStorage& row : kStorage) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

const GgmlTypeTraits* TraitsOf(GgmlType type) {
  for (const GgmlTypeTraits& row : kTraits) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

const GgmlTypeTraits* TraitsNamed(const std::string& name) {
  for (const GgmlTypeTraits& row : kTraits) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

std::string GgmlTypeName(uint32_t type) {
  if (const GgmlTypeTraits* t = TraitsOf(static_cast<GgmlType>(type))) return t->name;
  if (const GgmlStorage* s = StorageOf(type)) return s->name;
  return "type " + std::to_string(type);
}

int64_t RowBytes(GgmlType type, int64_t n) {
  const GgmlTypeTraits* t = TraitsOf(type);
  return t == nullptr ? 0 : n / t->block_size * t->block_bytes;
}

Status QuantizeRow(GgmlType type, const float* x, int64_t n, const float* importance,
                   uint8_t* out) {
  const GgmlTypeTraits* t = TraitsOf(type);
  if (t == nullptr) {
    return Status::InvalidArgument("ggml type " + GgmlTypeName(static_cast<uint32_t>(type)) +
                                   " cannot be encoded by pq");
  }
  if (n < 0 || n % t->block_size != 0) {
    return Status::InvalidArgument(std::string(t->name) + " row of " + std::to_string(n) +
                                   " values: expected a multiple of " +
                                   std::to_string(t->block_size));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      return Status::InvalidArgument(std::string(t->name) + " row: value " + std::to_string(i) +
                                     " is not finite");
    }
    if (importance != nullptr && !(importance[i] >= 0 && std::isfinite(importance[i]))) {
      return Status::InvalidArgument(std::string(t->name) + " row: importance " +
                                     std::to_string(i) + " is not a finite non-negative number");
    }
  }
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out, x, static_cast<size_t>(n) * 4);
      return Status::OK();
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToHalfBits(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return Status::OK();
    case GgmlType::kQ4_K:
      QuantizeQ4K(x, n / kQkK, importance, out);
      return Status::OK();
    default:
      break;
  }
  // A block whose weights are all zero has no preference: weigh it evenly.
  // Without importance, types other than q8_0/q4_0 (whose reference rule
  // ggml fixes) search with even weights.
  const float kOnes[kQk] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const bool reference = type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0;
  for (int64_t b = 0; b < n / kQk; ++b) {
    const float* w = importance != nullptr ? importance + b * kQk : nullptr;
    if (w != nullptr) {
      float sum = 0;
      for (int j = 0; j < kQk; ++j) sum += w[j];
      if (!(sum > 0)) w = kOnes;
    } else if (!reference) {
      w = kOnes;
    }
    QuantizeBlock(type, x + b * kQk, w, out + b * t->block_bytes);
  }
  return Status::OK();
}

void DequantizeRow(GgmlType type, const uint8_t* in, int64_t n, float* out) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out, in, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        out[i] = HalfBitsToFloat(h);
      }
      return;
    case GgmlType::kQ4_K:
      DequantizeQ4K(in, n / kQkK, out);
      return;
    default:
      break;
  }
  const GgmlTypeTraits* t = TraitsOf(type);
  if (t == nullptr) return;
  for (int64_t b = 0; b < n / kQk; ++b) DequantizeBlock(type, in + b * t->block_bytes, out + b * kQk);
}

}  // namespace pq::gguf
