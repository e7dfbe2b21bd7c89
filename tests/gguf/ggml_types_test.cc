// Tests of src/gguf/ggml_types.cc, ggml_scale_search.cc and ggml_q4_k.cc:
// hand-computed block layouts, half rounding, round-trip error thresholds on
// fixed-seed data, and importance weighting.
#include "gguf/ggml_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/float16.h"
#include "gguf/ggml_blocks.h"

namespace pq::gguf {
namespace {

constexpr int64_t kRowLength = 4096;
constexpr int kRows = 16;
constexpr uint32_t kSeed = 20240518;

// Relative RMSE (RMSE / RMS of the data) each type must stay under on
// Gaussian rows without importance; measured: f16 2.1e-4, q8_0 0.0053,
// q5_0 0.0399, q4_0 0.0857, iq4_nl 0.0731, q4_k 0.0700.
struct Threshold {
  GgmlType type;
  double gaussian;
};
constexpr Threshold kThresholds[] = {
    {GgmlType::kF32, 0.0},      {GgmlType::kF16, 2.5e-4},   {GgmlType::kQ8_0, 0.006},
    {GgmlType::kQ5_0, 0.044},   {GgmlType::kQ4_0, 0.094},   {GgmlType::kIq4Nl, 0.08},
    {GgmlType::kQ4_K, 0.077},
};
// Weighted error with importance against without (measured 0.78 to 0.81).
constexpr double kMaxImportanceRatio = 0.9;

std::vector<float> GaussianRows(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kRowLength * kRows);
  for (float& v : x) v = normal(rng);
  return x;
}

// Importance weights spread over two orders of magnitude.
std::vector<float> Importance(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> w(kRowLength * kRows);
  for (float& v : w) v = std::exp(normal(rng));
  return w;
}

std::vector<float> RoundTrip(GgmlType type, const std::vector<float>& x, const float* importance) {
  std::vector<uint8_t> bytes(RowBytes(type, kRowLength));
  std::vector<float> y(x.size());
  for (int r = 0; r < kRows; ++r) {
    const Status s = QuantizeRow(type, x.data() + r * kRowLength, kRowLength,
                                 importance ? importance + r * kRowLength : nullptr, bytes.data());
    EXPECT_TRUE(s.ok()) << s.ToString();
    DequantizeRow(type, bytes.data(), kRowLength, y.data() + r * kRowLength);
  }
  return y;
}

// sqrt(sum w (x - y)^2 / sum w x^2); w == nullptr weighs evenly.
double RelativeError(const std::vector<float>& x, const std::vector<float>& y, const float* w) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double wi = w ? w[i] : 1.0;
    err += wi * (x[i] - y[i]) * (x[i] - y[i]);
    ref += wi * x[i] * x[i];
  }
  return std::sqrt(err / ref);
}

TEST(GgmlTypesTest, TraitsTableMatchesGgml) {
  EXPECT_EQ(TraitsOf(GgmlType::kQ4_K)->block_size, 256);
  EXPECT_EQ(TraitsOf(GgmlType::kQ4_K)->block_bytes, 144);
  EXPECT_EQ(TraitsNamed("iq4_nl")->type, GgmlType::kIq4Nl);
  EXPECT_EQ(TraitsNamed("q6_k"), nullptr);
  EXPECT_EQ(RowBytes(GgmlType::kQ8_0, 64), 68);
  EXPECT_EQ(RowBytes(GgmlType::kF16, 3), 6);
  EXPECT_EQ(GgmlTypeName(14), "q6_K");
  EXPECT_EQ(GgmlTypeName(4), "type 4");
  EXPECT_EQ(GgmlTypeName(99), "type 99");
  for (const char* name : {"f32", "f16", "q8_0", "q4_0", "q5_0", "q4_k", "iq4_nl"}) {
    const GgmlTypeTraits* t = TraitsNamed(name);
    ASSERT_NE(t, nullptr) << name;
    const GgmlStorage* s = StorageOf(static_cast<uint32_t>(t->type));
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->block_size, t->block_size) << name;
    EXPECT_EQ(s->block_bytes, t->block_bytes) << name;
  }
}

TEST(GgmlFloat16Test, RoundsToNearestEven) {
  EXPECT_EQ(FloatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalfBits(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalfBits(65519.0f), 0x7bff);
  EXPECT_EQ(FloatToHalfBits(65520.0f), 0x7c00);  // the tie rounds to even: infinity
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie, down to even
  EXPECT_EQ(FloatToHalfBits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie, up to even
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -24)), 0x0001);              // smallest subnormal
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -25)), 0x0000);              // tie to even zero
  EXPECT_EQ(FloatToHalfBits(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(FloatToHalfBits(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalfBits(INFINITY), 0x7c00);
  EXPECT_EQ(FloatToHalfBits(NAN) & 0x7c00, 0x7c00);
  EXPECT_NE(FloatToHalfBits(NAN) & 0x3ff, 0);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = HalfBitsToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalfBits(f), h) << std::hex << h;
  }
}

TEST(GgmlQ8_0Test, ReferenceBlockByHand) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = (j - 15) * 0.5f;  // -7.5 .. 8
  BlockQ8_0 b;
  ASSERT_TRUE(QuantizeRow(GgmlType::kQ8_0, x, 32, nullptr, reinterpret_cast<uint8_t*>(&b)).ok());
  EXPECT_EQ(b.d, FloatToHalfBits(8.0f / 127.0f));
  EXPECT_EQ(b.qs[31], 127);   // 8 * 127/8
  EXPECT_EQ(b.qs[0], -119);   // -7.5 * 127/8 = -119.06
  EXPECT_EQ(b.qs[16], 8);     // 0.5 * 127/8 = 7.94
  EXPECT_EQ(b.qs[15], 0);
}

TEST(GgmlQ4_0Test, ReferenceBlockNibblesByHand) {
  // Values -8..7 then 7..-8: the first -8 sets d = -8 / -8 = 1, so every
  // value is its own level and its nibble is value + 8.
  float x[32];
  for (int j = 0; j < 16; ++j) {
    x[j] = static_cast<float>(j - 8);
    x[j + 16] = static_cast<float>(7 - j);
  }
  uint8_t out[18];
  ASSERT_TRUE(QuantizeRow(GgmlType::kQ4_0, x, 32, nullptr, out).ok());
  EXPECT_EQ(out[0], 0x00);  // d = 1.0 = 0x3c00, little-endian
  EXPECT_EQ(out[1], 0x3c);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(out[2 + j], j | ((15 - j) << 4)) << j;

  // A positive largest value: d = 16 / -8 = -2; 16 maps to nibble 0, zeros to 8.
  float y[32] = {};
  y[3] = 16;
  ASSERT_TRUE(QuantizeRow(GgmlType::kQ4_0, y, 32, nullptr, out).ok());
  EXPECT_EQ(out[0] | (out[1] << 8), 0xc000);
  EXPECT_EQ(out[2 + 3], 0x80);
  EXPECT_EQ(out[2 + 0], 0x88);
  float back[32];
  DequantizeRow(GgmlType::kQ4_0, out, 32, back);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], y[j]) << j;
}

TEST(GgmlQ5_0Test, HighBitsByHand) {
  // Levels j - 16 at d = 1: the search finds the exact fit.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ5_0 b;
  ASSERT_TRUE(QuantizeRow(GgmlType::kQ5_0, x, 32, nullptr, reinterpret_cast<uint8_t*>(&b)).ok());
  EXPECT_EQ(b.d, 0x3c00);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  EXPECT_EQ(qh, 0xffff0000u);  // values 16..31 have q >= 16
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], j | (j << 4)) << j;  // q_j = j, q_{j+16} = j + 16
  float back[32];
  DequantizeRow(GgmlType::kQ5_0, reinterpret_cast<uint8_t*>(&b), 32, back);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], x[j]) << j;
}

TEST(GgmlIq4NlTest, CodebookByHand) {
  BlockIq4Nl b{0x3c00, {}};  // d = 1
  b.qs[0] = 0xf0;            // value 0: level 0 (-127); value 16: level 15 (113)
  b.qs[5] = 0x98;            // value 5: level 8 (1); value 21: level 9 (13)
  float y[32];
  DequantizeRow(GgmlType::kIq4Nl, reinterpret_cast<uint8_t*>(&b), 32, y);
  EXPECT_EQ(y[0], -127);
  EXPECT_EQ(y[16], 113);
  EXPECT_EQ(y[5], 1);
  EXPECT_EQ(y[21], 13);
  EXPECT_EQ(y[1], -127);
  // A block of codebook levels times 0.5 comes back exactly.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * kIq4nlLevels[(j * 7) % 16];
  uint8_t out[18];
  ASSERT_TRUE(QuantizeRow(GgmlType::kIq4Nl, x, 32, nullptr, out).ok());
  DequantizeRow(GgmlType::kIq4Nl, out, 32, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << j;
}

TEST(GgmlQ4KTest, ScalePackingByHand) {
  const uint8_t scales[8] = {5, 17, 33, 63, 40, 9, 62, 1};
  const uint8_t mins[8] = {0, 63, 2, 48, 9, 50, 16, 33};
  uint8_t packed[12];
  PackQ4KScales(scales, mins, packed);
  // Sub-block 4: scale 40 = 0b10'1000, min 9 = 0b00'1001.
  EXPECT_EQ(packed[8], 0x98);                   // low nibbles: scale 8, min 9
  EXPECT_EQ(packed[0], 5 | (2 << 6));           // scale 0, plus scale 4's top bits
  EXPECT_EQ(packed[4], 0 | (0 << 6));           // min 0, plus min 4's top bits
  // Sub-block 6: scale 62 = 0b11'1110, min 16 = 0b01'0000.
  EXPECT_EQ(packed[10], 0x0e);
  EXPECT_EQ(packed[2], 33 | (3 << 6));
  EXPECT_EQ(packed[6], 2 | (1 << 6));
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackQ4KScaleMin(j, packed, &sc, &m);
    EXPECT_EQ(sc, scales[j]) << j;
    EXPECT_EQ(m, mins[j]) << j;
  }
}

TEST(GgmlQ4KTest, DequantizeByHand) {
  BlockQ4_K b;
  b.d = 0x3c00;     // 1.0
  b.dmin = 0x3800;  // 0.5
  uint8_t scales[8], mins[8];
  for (int s = 0; s < 8; ++s) {
    scales[s] = static_cast<uint8_t>(s + 1);
    mins[s] = static_cast<uint8_t>(s);
  }
  PackQ4KScales(scales, mins, b.scales);
  std::memset(b.qs, 0x21, sizeof(b.qs));  // even sub-blocks q = 1, odd ones q = 2
  float y[256];
  DequantizeRow(GgmlType::kQ4_K, reinterpret_cast<uint8_t*>(&b), 256, y);
  for (int s = 0; s < 8; ++s) {
    const float expected = (s + 1) * (s % 2 ? 2.0f : 1.0f) - 0.5f * s;
    EXPECT_EQ(y[s * 32], expected) << s;
    EXPECT_EQ(y[s * 32 + 31], expected) << s;
  }
}

TEST(GgmlTypesTest, RoundTripErrorWithinThresholds) {
  const std::vector<float> x = GaussianRows(kSeed);
  for (const Threshold& t : kThresholds) {
    const double err = RelativeError(x, RoundTrip(t.type, x, nullptr), nullptr);
    EXPECT_LE(err, t.gaussian) << TraitsOf(t.type)->name;
    if (t.type == GgmlType::kF32) {
      EXPECT_EQ(err, 0.0);
    }
  }
}

TEST(GgmlTypesTest, ImportanceLowersWeightedError) {
  const std::vector<float> x = GaussianRows(kSeed + 1);
  const std::vector<float> w = Importance(kSeed + 2);
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_0, GgmlType::kIq4Nl,
                        GgmlType::kQ4_K}) {
    const double plain = RelativeError(x, RoundTrip(type, x, nullptr), w.data());
    const double weighted = RelativeError(x, RoundTrip(type, x, w.data()), w.data());
    EXPECT_LT(weighted, plain * kMaxImportanceRatio) << TraitsOf(type)->name;
  }
}

TEST(GgmlTypesTest, DeterministicAndZeroRows) {
  const std::vector<float> x = GaussianRows(kSeed + 3);
  const std::vector<float> zeros(kRowLength * kRows, 0.0f);
  for (const Threshold& t : kThresholds) {
    std::vector<uint8_t> a(RowBytes(t.type, kRowLength)), b(a.size());
    ASSERT_TRUE(QuantizeRow(t.type, x.data(), kRowLength, nullptr, a.data()).ok());
    ASSERT_TRUE(QuantizeRow(t.type, x.data(), kRowLength, nullptr, b.data()).ok());
    EXPECT_EQ(a, b) << TraitsOf(t.type)->name;
    EXPECT_EQ(RoundTrip(t.type, zeros, nullptr), zeros) << TraitsOf(t.type)->name;
  }
}

TEST(GgmlTypesTest, RefusesBadRows) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(1024);
  Status s = QuantizeRow(GgmlType::kQ4_K, x.data(), 64, nullptr, out.data());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("multiple of 256"), std::string::npos) << s.message();
  x[7] = NAN;
  s = QuantizeRow(GgmlType::kQ8_0, x.data(), 64, nullptr, out.data());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("value 7 is not finite"), std::string::npos) << s.message();
  x[7] = 1;
  std::vector<float> w(64, 1.0f);
  w[3] = -1;
  s = QuantizeRow(GgmlType::kQ4_0, x.data(), 64, w.data(), out.data());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("importance 3"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pq::gguf
