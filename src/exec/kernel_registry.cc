// The executor's kernel table: every op family, in one explicit list.
#include "exec/kernel.h"

#include "base/onnx_domain.h"

namespace pq::exec {
namespace {

using Family = const std::vector<KernelDef>& (*)();

// Adding an op family is one file in src/exec/kernels/ plus one row here.
constexpr Family kFamilies[] = {
    ElementwiseKernels,     // elementwise.cc
    UnaryKernels,           // unary.cc
    CastKernels,            // cast.cc
    LinearKernels,          // linear.cc
    ConvKernels,            // conv.cc
    NormalizationKernels,   // normalization.cc
    PoolingKernels,         // pooling.cc
    ReductionKernels,       // reduction.cc
    ShapeKernels,           // shape.cc
    MovementKernels,        // movement.cc
    GatherKernels,          // gather.cc
    PadKernels,             // pad.cc
    TopKKernels,            // top_k.cc
    ResizeKernels,          // resize.cc
    EinsumKernels,          // einsum.cc
    SoftmaxKernels,         // softmax.cc
    TriluKernels,           // trilu.cc
    CumSumKernels,          // cumsum.cc
    NonZeroKernels,         // non_zero.cc
    ScatterGatherNDKernels, // scatter_gather_nd.cc
    ScatterElementsKernels, // scatter_elements.cc
    RecurrentKernels,       // recurrent.cc
    QuantizedLinearKernels,     // quantized_linear.cc
    QuantizedMatMulKernels,     // quantized_matmul.cc
    QuantizedConvKernels,       // quantized_conv.cc
    QuantizedBlockwiseKernels,  // quantized_blockwise.cc
    RmsNormKernels,               // rms_norm.cc
    RotaryEmbeddingKernels,       // rotary_embedding.cc
    GroupQueryAttentionKernels,   // group_query_attention.cc
    GatherBlockQuantizedKernels,  // gather_block_quantized.cc
    LossKernels,                  // loss.cc
    SelectionKernels,             // selection.cc
    SignalKernels,                // signal.cc
    DftKernels,                   // dft.cc
    MelWeightMatrixKernels,       // mel_weight_matrix.cc
    DetKernels,                   // det.cc
    DetectionKernels,             // detection.cc
    GridSampleKernels,            // grid_sample.cc
    TfIdfVectorizerKernels,       // tf_idf_vectorizer.cc
    ControlFlowKernels,           // control_flow.cc (If, Loop)
    ScanKernels,                  // scan.cc
};

bool SameDomain(const std::string& a, const char* b) {
  const std::string bs = b;
  return IsDefaultDomain(a) ? IsDefaultDomain(bs) : a == bs;
}

}  // namespace

const KernelDef* FindKernel(const std::string& domain, const std::string& op_type,
                            int64_t opset) {
  for (Family family : kFamilies) {
    for (const KernelDef& def : family()) {
      if (op_type == def.op_type && SameDomain(domain, def.domain) &&
          opset >= def.since_version && (def.until_version == 0 || opset <= def.until_version)) {
        return &def;
      }
    }
  }
  return nullptr;
}

std::vector<KernelDef> AllKernels() {
  std::vector<KernelDef> all;
  for (Family family : kFamilies) {
    for (const KernelDef& def : family()) all.push_back(def);
  }
  return all;
}

}  // namespace pq::exec
