// Quantized kernels of pq's executor: ONNX's quantize/dequantize, integer
// and QLinear products, and ONNX Runtime's blockwise 4-bit MatMuls. The
// kernels live in the quantized_*.h headers; this file is their table.
#include "exec/kernel.h"
#include "exec/kernels/quantized_blockwise.h"
#include "exec/kernels/quantized_conv.h"
#include "exec/kernels/quantized_linear.h"
#include "exec/kernels/quantized_matmul.h"

namespace pq::exec {

const std::vector<KernelDef>& QuantizedKernels() {
  // QuantizeLinear/DequantizeLinear: versions 10, 13, 19, 21, 23, 24, 25;
  // the kernels read the features of each from ctx.opset().
  static const std::vector<KernelDef> kKernels = {
      {"QuantizeLinear", "", 10, 25, quantized::QuantizeLinear},
      {"DequantizeLinear", "", 10, 25, quantized::DequantizeLinear},
      {"DynamicQuantizeLinear", "", 11, 0, quantized::DynamicQuantizeLinear},
      {"MatMulInteger", "", 10, 0, quantized::MatMulInteger},
      {"ConvInteger", "", 10, 0, quantized::ConvInteger},
      {"QLinearMatMul", "", 10, 0, quantized::QLinearMatMul},
      {"QLinearConv", "", 10, 0, quantized::QLinearConv},
      {"MatMulBnb4", "com.microsoft", 1, 0, quantized::MatMulBnb4},
      {"MatMulNBits", "com.microsoft", 1, 0, quantized::MatMulNBits},
  };
  return kKernels;
}

}  // namespace pq::exec
