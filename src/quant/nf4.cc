#include "quant/nf4.h"

#include <algorithm>
#include <cmath>

#include "quant/error_sums.h"

namespace pq::quant {
namespace {

// Values per unit of parallel work: blocks are grouped into chunks whose
// error is summed alone and merged in order, so no result depends on the
// number of threads.
constexpr int64_t kChunkValues = 1 << 14;

// Calls block(b, begin, len, deq) for every block of `count` values (in
// parallel over fixed chunks of blocks); it fills deq[0, len) with what the
// model reads back for elements [begin, begin + len). Returns the error of
// those values against `reference`; copies them to `dequantized` when set.
template <typename BlockFn>
ErrorMetrics ForEachBlockSummingError(const float* reference, int64_t count, int64_t block_size,
                                      float* dequantized, BlockFn block) {
  const int64_t blocks = (count + block_size - 1) / block_size;
  const int64_t per_chunk = std::max<int64_t>(1, kChunkValues / block_size);
  const int64_t chunks = (blocks + per_chunk - 1) / per_chunk;
  std::vector<ErrorSums> sums(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    float deq[kNf4MaxBlockSize];
    const int64_t last = std::min(blocks, (chunk + 1) * per_chunk);
    for (int64_t b = chunk * per_chunk; b < last; ++b) {
      const int64_t begin = b * block_size;
      const int64_t len = std::min(block_size, count - begin);
      block(b, begin, len, deq);
      sums[static_cast<size_t>(chunk)].Add(reference + begin, deq, len);
      if (dequantized != nullptr) std::copy(deq, deq + len, dequantized + begin);
    }
  }
  return MergeInOrder(sums);
}

}  // namespace

Nf4Weight QuantizeNf4(const float* values, int64_t count, int64_t block_size, bool pad_to_blocks,
                      const BlockEncoding& encoding) {
  const int64_t blocks = (count + block_size - 1) / block_size;
  const int64_t coded = pad_to_blocks ? blocks * block_size : count;
  Nf4Weight out;
  out.absmax.resize(static_cast<size_t>(blocks));
  out.packed.assign(static_cast<size_t>((coded + 1) / 2),
                    static_cast<char>(PackNf4Pair(kNf4ZeroCode, kNf4ZeroCode)));
  uint8_t* packed = reinterpret_cast<uint8_t*>(out.packed.data());
  const float* reference = encoding.reference != nullptr ? encoding.reference : values;
  out.error = ForEachBlockSummingError(
      reference, count, block_size, encoding.dequantized,
      [&](int64_t b, int64_t begin, int64_t len, float* deq) {
        uint8_t codes[kNf4MaxBlockSize];
        const float* w = values + begin;
        const float absmax = encoding.params != nullptr ? encoding.params[b].scale : Nf4Absmax(w, len);
        out.absmax[static_cast<size_t>(b)] = absmax;
        const float reciprocal = Nf4Reciprocal(absmax);
        for (int64_t j = 0; j < len; ++j) codes[j] = Nf4Code(w[j] * reciprocal);
        for (int64_t j = 0; j < len; ++j) deq[j] = kNf4Levels[codes[j]] * absmax;
        // block_size is even, so every block starts on a byte.
        uint8_t* dst = packed + begin / 2;
        for (int64_t j = 0; j + 1 < len; j += 2) {
          dst[j / 2] = PackNf4Pair(codes[j], codes[j + 1]);
        }
        if (len % 2 != 0) dst[len / 2] = PackNf4Pair(codes[len - 1], kNf4ZeroCode);
      });
  return out;
}

ErrorMetrics Nf4Error(const float* values, int64_t count, int64_t block_size,
                      const std::string& packed, const std::vector<float>& absmax, float* dequantized) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(packed.data());
  return ForEachBlockSummingError(
      values, count, block_size, dequantized, [&](int64_t b, int64_t begin, int64_t len, float* deq) {
        const float scale = absmax[static_cast<size_t>(b)];
        for (int64_t j = 0; j < len; ++j) deq[j] = kNf4Levels[Nf4CodeAt(bytes, begin + j)] * scale;
      });
}

DoubleQuant DoubleQuantize(const std::vector<float>& absmax, int64_t block_size) {
  DoubleQuant dq;
  dq.block_size = block_size;
  const int64_t n = static_cast<int64_t>(absmax.size());
  double sum = 0;
  for (float a : absmax) sum += a;
  dq.offset = n > 0 ? static_cast<float>(sum / static_cast<double>(n)) : 0.0f;
  const int64_t blocks = (n + block_size - 1) / block_size;
  // A single (partial) block is stored as it is: padding it to block_size
  // would cost up to block_size - 1 bytes on every small weight.
  dq.codes.assign(static_cast<size_t>(blocks == 1 ? n : blocks * block_size), 0);
  dq.scales.resize(static_cast<size_t>(blocks));
  dq.reconstructed.resize(static_cast<size_t>(n));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t begin = b * block_size, end = std::min(n, begin + block_size);
    float bound = 0;
    for (int64_t i = begin; i < end; ++i) {
      bound = std::max(bound, std::fabs(absmax[static_cast<size_t>(i)] - dq.offset));
    }
    const float scale = bound > 0 ? bound / 127.0f : 1.0f;
    dq.scales[static_cast<size_t>(b)] = scale;
    for (int64_t i = begin; i < end; ++i) {
      const float q = std::nearbyint((absmax[static_cast<size_t>(i)] - dq.offset) / scale);
      const int8_t code = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
      dq.codes[static_cast<size_t>(i)] = code;
      dq.reconstructed[static_cast<size_t>(i)] = static_cast<float>(code) * scale + dq.offset;
    }
  }
  return dq;
}

}  // namespace pq::quant
