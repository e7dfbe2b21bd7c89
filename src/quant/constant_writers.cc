#include "quant/constant_writers.h"

namespace pq::quant {

const std::vector<ConstantWriterEntry>& ConstantWriterTable() {
  static const std::vector<ConstantWriterEntry> kWriters = {
      {WeightEncoding::kDequantizeLinear, "DequantizeLinear", WriteDequantizeLinearConstant},
      {WeightEncoding::kMatMulBnb4, "MatMulBnb4", WriteFusedBlockwise},
      {WeightEncoding::kMatMulNBits, "MatMulNBits", WriteFusedBlockwise},
      {WeightEncoding::kCodebookDecode, "decode", WriteCodebookDecode},
      {WeightEncoding::kBlockedDequantizeLinear, "DequantizeLinear", WriteBlockedDequantizeLinear},
      {WeightEncoding::kDynamicMatMul, "DynamicQuantizeMatMul", WriteDynamicMatMul},
      {WeightEncoding::kGatherBlockQuantized, "GatherBlockQuantized", WriteGatherBlockQuantized},
  };
  return kWriters;
}

const ConstantWriterEntry& ConstantWriterFor(WeightEncoding encoding) {
  for (const ConstantWriterEntry& entry : ConstantWriterTable()) {
    if (entry.encoding == encoding) return entry;
  }
  // Every enumerator has a row (a test checks it); the first row is a safe
  // answer should one be added without a row.
  return ConstantWriterTable().front();
}

}  // namespace pq::quant
