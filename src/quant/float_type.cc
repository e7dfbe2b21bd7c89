#include "quant/float_type.h"

#include <cstring>

#include "base/float16.h"
#include "pq/data_type.h"

namespace pq::quant {

bool IsQuantizableFloat(int32_t dtype) { return dtype == kFloat || dtype == kFloat16 || dtype == kBfloat16; }

std::vector<float> ReadFloats(const ConstantTensor& c) {
  std::vector<float> out(static_cast<size_t>(c.element_count));
  if (out.empty()) return out;
  if (c.data_type == kFloat) {
    std::memcpy(out.data(), c.data, out.size() * sizeof(float));
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t bits = 0;
    std::memcpy(&bits, c.data + 2 * i, 2);
    if (c.data_type == kFloat16) {
      out[i] = HalfBitsToFloat(bits);
    } else {
      out[i] = Bfloat16BitsToFloat(bits);
    }
  }
  return out;
}

std::string FloatRaw(const std::vector<float>& values, int32_t dtype) {
  if (dtype == kFloat) {
    std::string raw(values.size() * sizeof(float), '\0');
    if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
    return raw;
  }
  std::vector<float> rounded = RoundedTo(values, dtype);
  std::string raw(values.size() * 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits = 0;
    if (dtype == kFloat16) {
      bits = FloatToHalfBits(values[i]);
    } else {
      uint32_t wide = 0;
      std::memcpy(&wide, &rounded[i], 4);
      bits = static_cast<uint16_t>(wide >> 16);
    }
    std::memcpy(raw.data() + 2 * i, &bits, 2);
  }
  return raw;
}

std::vector<float> RoundedTo(std::vector<float> values, int32_t dtype) {
  const auto n = static_cast<int64_t>(values.size());
  if (dtype == kFloat16) RoundToHalfInPlace(values.data(), n);
  if (dtype == kBfloat16) RoundToBfloat16InPlace(values.data(), n);
  return values;
}

}  // namespace pq::quant
