// Scheme: one quantization scheme (int8-sym, int8-asym, nf4, ...). A scheme
// computes parameters and quantized values from FP32 data; it never touches
// protobuf. Schemes are registered in one table (scheme_registry.cc).
#ifndef PQ_QUANT_SCHEME_H_
#define PQ_QUANT_SCHEME_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pq/quant_params.h"
#include "pq/quantize.h"
#include "pq/status.h"

namespace pq::quant {

// A weight handed to a scheme: FP32 values in row-major order.
struct WeightView {
  std::string name;
  const float* data = nullptr;
  std::vector<int64_t> shape;
  int64_t channel_axis = -1;  // per-channel axis, or -1 for per-tensor
};

// Where a weight is used, as the planner sees it.
struct WeightSite {
  std::string op_type;          // Conv, ConvTranspose, MatMul, Gemm
  std::vector<int64_t> dims;    // the FP32 constant's dims
  bool trans_a = false;         // Gemm's transA
};

// How the writer stores a scheme's weight and what reads it.
enum class WeightEncoding {
  // Quantized initializer -> DequantizeLinear -> the original consumer.
  kDequantizeLinear,
  // The consumer (MatMul/Gemm) is replaced by com.microsoft MatMulBnb4.
  kMatMulBnb4,
  // The consumer (MatMul/Gemm) is replaced by com.microsoft MatMulNBits.
  kMatMulNBits,
  // Standard ops decode packed codes through a codebook to the FP32 weight
  // that the original consumer reads.
  kCodebookDecode,
  // INT4/UINT4 initializer of the constant's shape -> opset-21
  // DequantizeLinear with axis and block_size -> the original consumer
  // (blocked_dq_writer.h). `blockwise` holds MatMulNBits' layout.
  kBlockedDequantizeLinear,
  // The consumer (MatMul/Gemm) becomes DynamicQuantizeLinear(A) ->
  // MatMulInteger(A_q, W_int8) -> Cast -> Mul(A_scale x W_scale): activations
  // quantized at run time (ONNX Runtime fuses it into DynamicQuantizeMatMul).
  // The int8 weight has the constant's own per-channel parameters.
  kDynamicMatMul,
  // Embedding tables: every Gather reading the table is replaced by
  // com.microsoft GatherBlockQuantized reading the codes as uint8 [rows,
  // cols / 2] (bits 4, first element in the low nibble, blocks along the
  // row), per-block float scales and, asymmetric, packed uint8 zero points
  // (gather_block_quantized_writer.cc). `blockwise` holds MatMulNBits'
  // layout of the [rows, cols] table.
  kGatherBlockQuantized,
};

// Whether schemes of `encoding` see a weight as its [N, K] matrix in blocks
// (the 4-bit encodings) rather than with a per-channel axis.
inline bool IsBlockwiseEncoding(WeightEncoding encoding) {
  return encoding != WeightEncoding::kDequantizeLinear && encoding != WeightEncoding::kDynamicMatMul;
}

// Double quantization of per-block scales (see nf4.h): scale'[i] =
// codes[i] * scales[i / block_size] + offset.
struct ScaleDoubleQuant {
  int64_t block_size = 0;
  float offset = 0;
  std::vector<int8_t> codes;   // [blocks, block_size] padded with 0, or [1, n] (one block)
  std::vector<float> scales;   // one per block of codes
};

// The parameters of one block of a blockwise weight: its scale (NF4: the
// block's absmax) and zero point (int4: the code of 0; 8 when symmetric;
// NF4: unused, 0).
struct BlockParams {
  float scale = 1.0f;
  int64_t zero_point = 0;
};

// How a blockwise encoder takes its block parameters and measures its error
// (the defaults: round to nearest).
struct BlockEncoding {
  // One per block, in the scheme's block order; null = each block's own,
  // fitted from the values being encoded.
  const BlockParams* params = nullptr;
  // What the error is measured against (same layout as the values); null =
  // the values themselves.
  const float* reference = nullptr;
  // When set, receives what the written model reads back for every value.
  float* dequantized = nullptr;
};

// A blockwise 4-bit weight as the writer stores it. The weight is seen as
// its [n, k] matrix (output features x input features).
struct BlockwisePacked {
  int64_t n = 0, k = 0, block_size = 0;
  std::string codes;            // packed as the encoding reads them
  std::vector<float> scales;    // float32 per block (NF4: absmax), as written
  std::string zero_points;      // MatMulNBits asym: packed uint8; else empty (sym: 8)
  std::vector<float> codebook;  // kCodebookDecode: the value of each code
  int64_t quant_type = 1;       // MatMulBnb4: 1 = NF4
  std::optional<ScaleDoubleQuant> double_quant;  // scales written double-quantized
};

// A scheme's quantized weight: parameters and the values to store, packed
// as the model's raw_data of params.dtype (kDequantizeLinear) or as
// `blockwise` says.
struct QuantizedWeight {
  QuantParams params;
  std::string data;
  // How far what the written model gives back is from the FP32 weight,
  // measured while quantizing (no dequantized copy is kept).
  ErrorMetrics error;
  std::optional<BlockwisePacked> blockwise;
  std::string storage_type;        // "nf4", "int4", "uint4"; "" = ONNX type params.dtype
  // How a weight-rounding algorithm other than rtn rounded it.
  std::optional<WeightRoundingRecord> rounding;
};

class BlockwiseWeightScheme;
class WeightGrid;  // quant/weight_grid.h

class Scheme {
 public:
  virtual ~Scheme() = default;
  virtual const char* Name() const = 0;
  // One line for `pq schemes` and --help.
  virtual const char* Summary() const = 0;
  // Whether static quantization of activations applies (int8 yes, nf4 no).
  virtual bool QuantizesActivations() const = 0;
  // The integer grid activations use (for calibrators that optimise for it).
  virtual int32_t ActivationType() const = 0;
  virtual int64_t ActivationQmin() const = 0;
  virtual int64_t ActivationQmax() const = 0;
  virtual bool ActivationSymmetric() const = 0;
  // Per-tensor activation parameters for the real range [min, max]
  // (REQUIRES min <= 0 <= max).
  virtual QuantParams ActivationParams(float min, float max) const = 0;
  // Quantizes a weight. Errors (kInvalidInput): NaN or Inf in the weight,
  // naming the tensor. Encodings other than kDequantizeLinear are handed
  // the weight as its [N, K] matrix (shape {N, K}, channel_axis -1) and
  // return `blockwise`.
  virtual Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const = 0;
  // Whether the scheme takes the weight at `site`; when not, `reason` says
  // why (for the report's skipped list).
  virtual bool TakesWeight(const WeightSite& /*site*/, std::string* /*reason*/) const {
    return true;
  }
  // How the writer stores this scheme's weights.
  virtual WeightEncoding Encoding() const { return WeightEncoding::kDequantizeLinear; }
  // The granularity recorded for its weights ("" = per-channel/per-tensor
  // from the planned axis).
  virtual const char* Granularity() const { return ""; }
  // Whether its weights always have zero point 0 (the report's
  // config.symmetric_weights).
  virtual bool SymmetricWeights() const { return false; }
  // The scheme as a blockwise one (its grid), or null.
  virtual const BlockwiseWeightScheme* AsBlockwise() const { return nullptr; }
  // The grid that rounding algorithms (GPTQ, AWQ) put this scheme's 2-D
  // MatMul/Gemm weights on, or null when it has none. `per_channel`: the
  // weight has a per-channel axis (its output features); `transposed`: it
  // is stored as [K, N] (MatMul, Gemm transB = 0) rather than [N, K]. The
  // blockwise schemes, whose weights are always handed over as [N, K], are
  // their own grid whatever the arguments.
  virtual std::shared_ptr<const WeightGrid> Grid(bool /*per_channel*/, bool /*transposed*/) const {
    return nullptr;
  }
};

// Whether `scheme` sees weights as [N, K] blocks (IsBlockwiseEncoding).
inline bool IsBlockwise(const Scheme& scheme) { return IsBlockwiseEncoding(scheme.Encoding()); }

// Choices a scheme may offer beyond its defaults.
struct SchemeOptions {
  // int8-asym: int8 weights with a zero point per channel instead of the
  // default zero point 0 (uint8 activations keep theirs either way).
  bool asymmetric_weights = false;
  // Blockwise schemes: elements per block (0 = the scheme's default).
  int64_t block_size = 0;
  // nf4: "ort" (com.microsoft MatMulBnb4) or "onnx" (standard ops).
  std::string nf4_format = "ort";
  // int4-*: "ort" (com.microsoft MatMulNBits) or "onnx" (INT4/UINT4 ->
  // blocked DequantizeLinear, opset 21).
  std::string int4_format = "ort";
  // nf4 "onnx": absmax values double-quantized to int8 (QLoRA).
  bool double_quant = false;
};

// The SchemeOptions a scheme may read, by the flag that sets each.
inline constexpr const char* kOptionAsymmetricWeights = "--asymmetric-weights";
inline constexpr const char* kOptionBlockSize = "--block-size";
inline constexpr const char* kOptionNf4Format = "--nf4-format";
inline constexpr const char* kOptionInt4Format = "--int4-format";
inline constexpr const char* kOptionDoubleQuant = "--double-quant";

// A registry row: the scheme's name, how to make it, and the SchemeOptions
// it reads (the flags above; the others do not change it).
struct SchemeEntry {
  const char* name;
  std::unique_ptr<Scheme> (*create)(const SchemeOptions& options);
  std::vector<const char*> options;
};

// Every registered scheme, in `pq schemes` order.
const std::vector<SchemeEntry>& SchemeTable();

// Returns the scheme named `name`. Errors: kInvalidArgument listing the names.
Result<std::unique_ptr<Scheme>> MakeScheme(const std::string& name,
                                           const SchemeOptions& options = {});

std::unique_ptr<Scheme> MakeInt8SymmetricScheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeInt8AsymmetricScheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeInt8DynamicScheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeNf4Scheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeInt4SymmetricScheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeInt4AsymmetricScheme(const SchemeOptions& options = {});

// Whether `site` is a 2-D weight of MatMul or Gemm that a fused 4-bit MatMul
// can replace (`fused`: Gemm's transA must be 0); else `reason` says why.
bool IsBlockwiseMatMulWeight(const WeightSite& site, bool fused, const char* scheme,
                             std::string* reason);

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_H_
