// q4_K: super-blocks of 256 values in eight sub-blocks of 32, each with a
// 6-bit scale and 6-bit min against the super-block's half d and dmin.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/float16.h"
#include "gguf/ggml_blocks.h"

namespace pq::gguf {
namespace {

constexpr int kSub = 32;        // values per sub-block
constexpr int kMaxQ = 15;       // 4-bit levels 0..15
constexpr int kMaxScale = 63;   // 6-bit sub-block scales and mins
// Sub-block search: inverse scales (kMaxQ + k * kStep) / range, |k| <= kSteps.
constexpr int kSteps = 12;
constexpr float kStep = 0.1f;
constexpr int kRefineRounds = 2;

// x ~= scale * q - min for one sub-block, before the 6-bit quantization.
struct SubFit {
  float scale = 0;
  float min = 0;
  double error = INFINITY;
};

int ClampQ(float v, int top) {
  if (!(v > 0)) return 0;
  return v >= top ? top : static_cast<int>(v);
}

// Weighted squared error of x against scale*q - min, with q nearest.
double ErrorAt(const float* x, const float* w, float scale, float min, uint8_t* q) {
  double error = 0;
  for (int j = 0; j < kSub; ++j) {
    const int l = scale != 0 ? ClampQ(std::nearbyint((x[j] + min) / scale), kMaxQ) : 0;
    if (q != nullptr) q[j] = static_cast<uint8_t>(l);
    const float diff = scale * l - min - x[j];
    error += static_cast<double>(w[j]) * diff * diff;
  }
  return error;
}

// The weighted least-squares (scale, min >= 0) for the levels `q`.
SubFit FitLevels(const float* x, const float* w, const uint8_t* q) {
  double sw = 0, sq = 0, sq2 = 0, sx = 0, sqx = 0;
  for (int j = 0; j < kSub; ++j) {
    sw += w[j];
    sq += w[j] * q[j];
    sq2 += static_cast<double>(w[j]) * q[j] * q[j];
    sx += w[j] * x[j];
    sqx += static_cast<double>(w[j]) * q[j] * x[j];
  }
  SubFit fit;
  const double det = sq2 * sw - sq * sq;
  if (det > 0) {
    fit.scale = static_cast<float>((sw * sqx - sq * sx) / det);
    fit.min = static_cast<float>(-(sq2 * sx - sq * sqx) / det);
  }
  if (!(det > 0) || fit.min < 0) {  // offsets above zero are not storable
    fit.min = 0;
    fit.scale = sq2 > 0 ? static_cast<float>(sqx / sq2) : 0;
  }
  fit.scale = std::max(fit.scale, 0.0f);
  fit.error = ErrorAt(x, w, fit.scale, fit.min, nullptr);
  return fit;
}

// Searches the sub-block's (scale, min) minimising the weighted error.
SubFit SearchSubBlock(const float* x, const float* w) {
  float lo = 0, hi = x[0];
  for (int j = 0; j < kSub; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  SubFit best;
  best.scale = (hi - lo) / kMaxQ;
  best.min = -lo;
  best.error = ErrorAt(x, w, best.scale, best.min, nullptr);
  if (!(hi > lo)) return best;
  uint8_t q[kSub];
  for (int k = -kSteps; k <= kSteps; ++k) {
    const float iscale = (kMaxQ + k * kStep) / (hi - lo);
    for (int j = 0; j < kSub; ++j) q[j] = static_cast<uint8_t>(ClampQ(std::nearbyint(iscale * (x[j] - lo)), kMaxQ));
    const SubFit fit = FitLevels(x, w, q);
    if (fit.error < best.error) best = fit;
  }
  for (int round = 0; round < kRefineRounds; ++round) {
    ErrorAt(x, w, best.scale, best.min, q);
    const SubFit fit = FitLevels(x, w, q);
    if (!(fit.error < best.error)) break;
    best = fit;
  }
  return best;
}

struct SuperChoice {
  uint16_t d = 0, dmin = 0;
  uint8_t scales[kQ4KSubBlocks] = {}, mins[kQ4KSubBlocks] = {};
  double error = INFINITY;
};

// The exact error of sub-block `x` stored with 6-bit `sc`, `m` against halves `d`, `dmin`.
double StoredError(const float* x, const float* w, float d, float dmin, int sc, int m) {
  return ErrorAt(x, w, d * static_cast<float>(sc), dmin * static_cast<float>(m), nullptr);
}

// Rounds every sub-block's fit to 6 bits against d_bits/dmin_bits; with
// `neighbours`, also tries the adjacent integers of each.
SuperChoice Choose(const float* x, const float* w, const SubFit* fits, uint16_t d_bits,
                   uint16_t dmin_bits, bool neighbours) {
  SuperChoice c;
  c.d = d_bits;
  c.dmin = dmin_bits;
  c.error = 0;
  const float d = HalfBitsToFloat(d_bits), dmin = HalfBitsToFloat(dmin_bits);
  if (!std::isfinite(d) || !std::isfinite(dmin) || d < 0 || dmin < 0) {
    c.error = INFINITY;
    return c;
  }
  const int reach = neighbours ? 1 : 0;
  for (int s = 0; s < kQ4KSubBlocks; ++s) {
    const float* xs = x + s * kSub;
    const float* ws = w + s * kSub;
    const int sc0 = d > 0 ? ClampQ(std::nearbyint(fits[s].scale / d), kMaxScale) : 0;
    const int m0 = dmin > 0 ? ClampQ(std::nearbyint(fits[s].min / dmin), kMaxScale) : 0;
    double best = INFINITY;
    for (int sc = std::max(0, sc0 - reach); sc <= std::min(kMaxScale, sc0 + reach); ++sc) {
      for (int m = std::max(0, m0 - reach); m <= std::min(kMaxScale, m0 + reach); ++m) {
        const double e = StoredError(xs, ws, d, dmin, sc, m);
        if (e < best) {
          best = e;
          c.scales[s] = static_cast<uint8_t>(sc);
          c.mins[s] = static_cast<uint8_t>(m);
        }
      }
    }
    c.error += best;
  }
  return c;
}

void QuantizeSuperBlock(const float* x, const float* w, BlockQ4_K* b) {
  SubFit fits[kQ4KSubBlocks];
  float smax = 0, mmax = 0;
  for (int s = 0; s < kQ4KSubBlocks; ++s) {
    fits[s] = SearchSubBlock(x + s * kSub, w + s * kSub);
    smax = std::max(smax, fits[s].scale);
    mmax = std::max(mmax, fits[s].min);
  }
  // The halves nearest smax/63 and mmax/63 and their neighbours, compared by
  // the exact error of rounding every sub-block against them.
  const uint16_t d0 = FloatToHalfBits(smax / kMaxScale);
  const uint16_t m0 = FloatToHalfBits(mmax / kMaxScale);
  SuperChoice best;
  for (int dd = -1; dd <= 1; ++dd) {
    for (int dm = -1; dm <= 1; ++dm) {
      if ((d0 == 0 && dd < 0) || (m0 == 0 && dm < 0)) continue;
      const SuperChoice c = Choose(x, w, fits, static_cast<uint16_t>(d0 + dd),
                                   static_cast<uint16_t>(m0 + dm), false);
      if (c.error < best.error) best = c;
    }
  }
  if (best.error == INFINITY) best = Choose(x, w, fits, d0, m0, false);  // out of half range
  best = Choose(x, w, fits, best.d, best.dmin, true);

  b->d = best.d;
  b->dmin = best.dmin;
  PackQ4KScales(best.scales, best.mins, b->scales);
  const float d = HalfBitsToFloat(best.d), dmin = HalfBitsToFloat(best.dmin);
  uint8_t q[kQkK];
  for (int s = 0; s < kQ4KSubBlocks; ++s) {
    ErrorAt(x + s * kSub, w + s * kSub, d * static_cast<float>(best.scales[s]),
            dmin * static_cast<float>(best.mins[s]), q + s * kSub);
  }
  for (int g = 0; g < kQ4KSubBlocks / 2; ++g) {
    for (int j = 0; j < kSub; ++j) {
      b->qs[g * kSub + j] = static_cast<uint8_t>(q[2 * g * kSub + j] | (q[(2 * g + 1) * kSub + j] << 4));
    }
  }
}

}  // namespace

void PackQ4KScales(const uint8_t* scales, const uint8_t* mins, uint8_t* packed) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 4; ++j) {
    packed[j] = scales[j];
    packed[j + 4] = mins[j];
  }
  for (int j = 4; j < 8; ++j) {
    packed[j + 4] = static_cast<uint8_t>((scales[j] & 0xf) | ((mins[j] & 0xf) << 4));
    packed[j - 4] |= static_cast<uint8_t>((scales[j] >> 4) << 6);
    packed[j] |= static_cast<uint8_t>((mins[j] >> 4) << 6);
  }
}

void UnpackQ4KScaleMin(int j, const uint8_t* packed, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((packed[j + 4] & 0xf) | ((packed[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

void QuantizeQ4K(const float* x, int64_t blocks, const float* importance, uint8_t* out) {
  float ones[kQkK];
  std::fill(ones, ones + kQkK, 1.0f);
  for (int64_t i = 0; i < blocks; ++i) {
    const float* w = importance != nullptr ? importance + i * kQkK : ones;
    double sum = 0;
    for (int j = 0; j < kQkK; ++j) sum += w[j];
    if (!(sum > 0)) w = ones;  // all-zero importance: no preference
    BlockQ4_K b;
    QuantizeSuperBlock(x + i * kQkK, w, &b);
    std::memcpy(out + i * sizeof(BlockQ4_K), &b, sizeof(b));
  }
}

void DequantizeQ4K(const uint8_t* in, int64_t blocks, float* out) {
  for (int64_t i = 0; i < blocks; ++i) {
    BlockQ4_K b;
    std::memcpy(&b, in + i * sizeof(BlockQ4_K), sizeof(b));
    const float d = HalfBitsToFloat(b.d), dmin = HalfBitsToFloat(b.dmin);
    float* y = out + i * kQkK;
    for (int s = 0; s < kQ4KSubBlocks; ++s) {
      uint8_t sc, m;
      UnpackQ4KScaleMin(s, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      const uint8_t* qs = b.qs + (s / 2) * kSub;
      const int shift = (s % 2) * 4;
      for (int j = 0; j < kSub; ++j) y[s * kSub + j] = d1 * ((qs[j] >> shift) & 0xf) - m1;
    }
  }
}

}  // namespace pq::gguf
