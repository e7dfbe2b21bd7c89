// com.microsoft MatMulBnb4 and MatMulNBits: float A times a blockwise
// 4-bit (or 2/8-bit) weight. The weight is dequantized to a float [N, K]
// matrix (the scalar reference below is the source of truth for both packed
// layouts), then Y = A x W^T.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/nf4_codebook.h"
#include "exec/kernel.h"
#include "exec/kernels/quantized_gemm.h"
#include "exec/kernels/quantized_util.h"

namespace pq::exec {
namespace quantized {
namespace {

// ---- MatMulBnb4 ----------------------------------------------------------
//
// Byte layout of B: the [N, K] weight flattened row-major (element
// i = n * K + k), two 4-bit codes per byte, (N * K + 1) / 2 bytes:
//
//   byte j = | element 2j (bits 7..4) | element 2j + 1 (bits 3..0) |
//
// i.e. the first element is in the HIGH nibble. absmax has
// ceil(N * K / block_size) floats; element i is
// codebook[code] * absmax[i / block_size] (the last block may be partial).

// Returns the 4-bit code of flat element `i` of a bnb4-packed buffer.
constexpr uint8_t Bnb4Code(const uint8_t* packed, int64_t i) {
  return (i % 2 == 0) ? static_cast<uint8_t>(packed[i / 2] >> 4)
                      : static_cast<uint8_t>(packed[i / 2] & 0x0F);
}
constexpr uint8_t kBnb4Probe[] = {0xA5, 0x3C};
static_assert(Bnb4Code(kBnb4Probe, 0) == 0xA && Bnb4Code(kBnb4Probe, 1) == 0x5 &&
                  Bnb4Code(kBnb4Probe, 2) == 0x3 && Bnb4Code(kBnb4Probe, 3) == 0xC,
              "bnb4 packs the first element of each byte in the high nibble");

// NF4 (quant_type 1) reads kNf4Codebook of base/nf4_codebook.h.

// FP4 (quant_type 0): bit 3 is the sign; bits 2..0 select a magnitude of
// bitsandbytes' 4-bit float (exponent bias 3, one subnormal), normalised by
// its maximum 12: {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12.
constexpr std::array<float, 16> kFp4Codebook = {
    0.0f,          0.0625f / 12.0f,  8.0f / 12.0f,  12.0f / 12.0f,
    4.0f / 12.0f,  6.0f / 12.0f,     2.0f / 12.0f,  3.0f / 12.0f,
    -0.0f,         -0.0625f / 12.0f, -8.0f / 12.0f, -12.0f / 12.0f,
    -4.0f / 12.0f, -6.0f / 12.0f,    -2.0f / 12.0f, -3.0f / 12.0f};
static_assert(kNf4Codebook.size() == 16 && kFp4Codebook.size() == 16, "one value per 4-bit code");

// Returns the dequantized [N, K] weight. REQUIRES: packed holds
// (n * k + 1) / 2 bytes, absmax ceil(n * k / block_size) floats.
std::vector<float> DequantizeBnb4(const uint8_t* packed, const float* absmax, int64_t n,
                                  int64_t k, int64_t block_size,
                                  const std::array<float, 16>& codebook) {
  std::vector<float> w(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n * k; ++i) {
    w[static_cast<size_t>(i)] = codebook[Bnb4Code(packed, i)] * absmax[i / block_size];
  }
  return w;
}

// Returns true for a power of two >= 16, the block sizes ORT's spec allows
// (capped at 2^30 so that sizes derived from it cannot overflow).
bool ValidQuantBlockSize(int64_t block_size) {
  return block_size >= 16 && block_size <= (int64_t{1} << 30) &&
         (block_size & (block_size - 1)) == 0;
}

// Errors unless 1 <= K, N and N * (K + block_size) * 8 fits in int64, so
// that every size derived from the attributes is exact.
Status CheckWeightDims(const KernelContext& ctx, int64_t k, int64_t n, int64_t block_size) {
  if (k < 1 || n < 1) return ctx.Error("attributes K and N must be >= 1");
  if (!ValidQuantBlockSize(block_size)) {
    return ctx.Error("block_size must be a power of two >= 16, got " + std::to_string(block_size));
  }
  if (k > INT64_MAX / 16 - block_size || n > INT64_MAX / 8 / (k + block_size)) {
    return ctx.Error("attributes K = " + std::to_string(k) + " and N = " + std::to_string(n) +
                     " are too large");
  }
  return Status::OK();
}

// Returns A's shape with its last dim replaced by `cols`; errors unless A's
// last dim is `inner`.
Result<std::vector<int64_t>> RowsTimes(const KernelContext& ctx, const Tensor& a,
                                       int64_t inner, int64_t cols, const std::string& what) {
  if (a.rank() < 1 || a.dim(a.rank() - 1) != inner) {
    return ctx.Error("A has shape " + ShapeToString(a.shape()) + ", expected its last dim to be " +
                     what + " = " + std::to_string(inner));
  }
  std::vector<int64_t> out = a.shape();
  out.back() = cols;
  return out;
}

// Attributes K, N, block_size, quant_type (0 FP4, 1 NF4), transB (default
// 1; 0 computes A[.., N] x W[N, K]); training_mode is ignored. Inputs
// A (float), B (uint8, bnb4-packed), absmax (float).
Status MatMulBnb4(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1, 2}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "A", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "B", {kUint8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 2, "absmax", {kFloat}));
  const int64_t k = ctx.Int("K", 0), n = ctx.Int("N", 0), block_size = ctx.Int("block_size", 0);
  const int64_t quant_type = ctx.Int("quant_type", -1);
  const int64_t trans_b = ctx.Int("transB", 1);
  PQ_RETURN_IF_ERROR(CheckWeightDims(ctx, k, n, block_size));
  if (quant_type != 0 && quant_type != 1) {
    return ctx.Error("quant_type must be 0 (FP4) or 1 (NF4), got " + std::to_string(quant_type));
  }
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& absmax = ctx.input(2);
  const int64_t numel = n * k;
  if (b.size() != (numel + 1) / 2) {
    return ctx.Error("B holds " + std::to_string(b.size()) + " bytes; N=" + std::to_string(n) +
                     ", K=" + std::to_string(k) + " need (N*K+1)/2 = " +
                     std::to_string((numel + 1) / 2));
  }
  const int64_t blocks = (numel + block_size - 1) / block_size;
  if (absmax.size() != blocks) {
    return ctx.Error("absmax holds " + std::to_string(absmax.size()) + " values; N*K=" +
                     std::to_string(numel) + " with block_size " + std::to_string(block_size) +
                     " needs " + std::to_string(blocks));
  }
  const int64_t inner = trans_b != 0 ? k : n, cols = trans_b != 0 ? n : k;
  Result<std::vector<int64_t>> out_shape = RowsTimes(ctx, a, inner, cols, trans_b != 0 ? "K" : "N");
  if (!out_shape.ok()) return out_shape.status();
  std::vector<float> w = DequantizeBnb4(b.data<uint8_t>(), absmax.data<float>(), n, k, block_size,
                                        quant_type == 1 ? kNf4Codebook : kFp4Codebook);
  if (trans_b == 0) {  // Y = A x W: multiply by W^T's transpose, [K, N].
    std::vector<float> wt(w.size());
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c < k; ++c) wt[static_cast<size_t>(c * n + r)] = w[static_cast<size_t>(r * k + c)];
    }
    w.swap(wt);
  }
  Result<Tensor> y = ctx.Allocate(kFloat, out_shape.value());
  if (!y.ok()) return y.status();
  const int64_t rows = inner > 0 ? a.size() / inner : 0;
  MatMulTransposedFloat(a.data<float>(), w.data(), nullptr, y->data<float>(), rows, inner, cols,
                        ctx.threads());
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// ---- MatMulNBits ---------------------------------------------------------
//
// Byte layout of B: [N, k_blocks, blob_size] bytes with
// k_blocks = ceil(K / block_size) and blob_size = block_size * bits / 8.
// Within a block, element j (k = block * block_size + j) occupies bits
// [(j * bits) % 8, + bits) of the block's byte (j * bits) / 8, so the FIRST
// element is in the LOW bits; for bits = 4:
//
//   byte j = | element 2j + 1 (bits 7..4) | element 2j (bits 3..0) |
//
// Codes past K in the last block are padding. scales: N * k_blocks floats,
// [n, block] row-major. zero_points, optional: uint8 [N, ceil(k_blocks *
// bits / 8)], one code per block packed the same way (each row of N starts
// on a byte), or float [N, k_blocks]; default 2^(bits - 1).
// w[n, k] = (code - zero_point) * scale.

// Returns the `bits`-wide code at index `j` of a low-bits-first buffer.
// REQUIRES: bits is 2, 4 or 8.
constexpr uint8_t LowFirstCode(const uint8_t* packed, int64_t j, int bits) {
  return static_cast<uint8_t>((packed[(j * bits) / 8] >> ((j * bits) % 8)) & ((1u << bits) - 1u));
}
static_assert(LowFirstCode(kBnb4Probe, 0, 4) == 0x5 && LowFirstCode(kBnb4Probe, 1, 4) == 0xA &&
                  LowFirstCode(kBnb4Probe, 2, 4) == 0xC && LowFirstCode(kBnb4Probe, 0, 2) == 0x1 &&
                  LowFirstCode(kBnb4Probe, 3, 2) == 0x2 && LowFirstCode(kBnb4Probe, 1, 8) == 0x3C,
              "MatMulNBits packs the first element of each byte in the low bits");

// Attributes K, N, bits (2, 4 or 8; default 4), block_size; accuracy_level
// is ignored. Inputs A (float), B (uint8), scales (float), zero_points,
// g_idx (deprecated, not supported), bias (float [N]), the last three
// optional.
Status MatMulNBits(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1, 2}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "A", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "B", {kUint8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 2, "scales", {kFloat}));
  const int64_t k = ctx.Int("K", 0), n = ctx.Int("N", 0), block_size = ctx.Int("block_size", 0);
  const int64_t bits = ctx.Int("bits", 4);
  PQ_RETURN_IF_ERROR(CheckWeightDims(ctx, k, n, block_size));
  if (bits != 2 && bits != 4 && bits != 8) {
    return ctx.Unsupported("bits = " + std::to_string(bits) + " is not supported (2, 4 and 8 are)");
  }
  if (ctx.has_input(4)) return ctx.Unsupported("the deprecated g_idx input is not supported");
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& scales = ctx.input(2);
  const int64_t k_blocks = (k + block_size - 1) / block_size;
  const int64_t blob = block_size * bits / 8;
  if (b.size() != n * k_blocks * blob) {
    return ctx.Error("B has shape " + ShapeToString(b.shape()) + "; K=" + std::to_string(k) +
                     ", N=" + std::to_string(n) + ", block_size=" + std::to_string(block_size) +
                     ", bits=" + std::to_string(bits) + " need [" + std::to_string(n) + ", " +
                     std::to_string(k_blocks) + ", " + std::to_string(blob) + "]");
  }
  if (scales.size() != n * k_blocks) {
    return ctx.Error("scales hold " + std::to_string(scales.size()) + " values, expected N * k_blocks = " +
                     std::to_string(n * k_blocks));
  }
  const Tensor* zero_points = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const int64_t zp_row_bytes = (k_blocks * bits + 7) / 8;
  if (zero_points != nullptr) {
    PQ_RETURN_IF_ERROR(CheckType(ctx, 3, "zero_points", {kUint8, kFloat}));
    const int64_t want = zero_points->dtype() == kUint8 ? n * zp_row_bytes : n * k_blocks;
    if (zero_points->size() != want) {
      return ctx.Error("zero_points hold " + std::to_string(zero_points->size()) +
                       " values, expected " + std::to_string(want) +
                       (zero_points->dtype() == kUint8 ? " packed bytes [N, ceil(k_blocks * bits / 8)]"
                                                       : " floats [N, k_blocks]"));
    }
  }
  const float* bias = nullptr;
  if (ctx.has_input(5)) {
    PQ_RETURN_IF_ERROR(CheckType(ctx, 5, "bias", {kFloat}));
    if (ctx.input(5).size() != n) {
      return ctx.Error("bias has shape " + ShapeToString(ctx.input(5).shape()) + ", expected [" +
                       std::to_string(n) + "]");
    }
    bias = ctx.input(5).data<float>();
  }
  Result<std::vector<int64_t>> out_shape = RowsTimes(ctx, a, k, n, "K");
  if (!out_shape.ok()) return out_shape.status();
  std::vector<float> w(static_cast<size_t>(n * k));
  const uint8_t* packed = b.data<uint8_t>();
  const float* s = scales.data<float>();
  const float default_zp = static_cast<float>(1 << (bits - 1));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t blk = 0; blk < k_blocks; ++blk) {
      float zp = default_zp;
      if (zero_points != nullptr && zero_points->dtype() == kUint8) {
        zp = LowFirstCode(zero_points->data<uint8_t>() + r * zp_row_bytes, blk, static_cast<int>(bits));
      } else if (zero_points != nullptr) {
        zp = zero_points->data<float>()[r * k_blocks + blk];
      }
      const float scale = s[r * k_blocks + blk];
      const uint8_t* block = packed + (r * k_blocks + blk) * blob;
      const int64_t len = std::min(block_size, k - blk * block_size);
      float* dst = w.data() + r * k + blk * block_size;
      for (int64_t j = 0; j < len; ++j) {
        dst[j] = (static_cast<float>(LowFirstCode(block, j, static_cast<int>(bits))) - zp) * scale;
      }
    }
  }
  Result<Tensor> y = ctx.Allocate(kFloat, out_shape.value());
  if (!y.ok()) return y.status();
  MatMulTransposedFloat(a.data<float>(), w.data(), bias, y->data<float>(), a.size() / k, k, n,
                        ctx.threads());
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

}  // namespace
}  // namespace quantized

const std::vector<KernelDef>& QuantizedBlockwiseKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"MatMulBnb4", "com.microsoft", 1, 0, quantized::MatMulBnb4},
      {"MatMulNBits", "com.microsoft", 1, 0, quantized::MatMulNBits},
  };
  return kKernels;
}

}  // namespace pq::exec
