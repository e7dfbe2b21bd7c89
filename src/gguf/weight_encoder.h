// Encodes the weights of a recognized Llama decoder into ggml types and
// records, per tensor, what the report needs to answer an auditor: the type
// written and why (the scheme's, or a fallback), the blocks, the error
// against the float32 values, the block scales summarized with a digest,
// and the sha256 of the bytes written.
#ifndef PQ_GGUF_WEIGHT_ENCODER_H_
#define PQ_GGUF_WEIGHT_ENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/ggml_types.h"
#include "gguf/gguf_file.h"
#include "gguf/llama_graph.h"
#include "pq/status.h"

namespace pq::gguf {

struct EncodedTensorRecord {
  std::string name;
  std::vector<int64_t> shape;      // outermost first, as LlamaWeight
  std::string type;                // ggml type written ("q4_k")
  std::string wanted_type;         // the scheme's type for this tensor
  std::string fallback_reason;     // "" unless type != wanted_type
  int64_t blocks = 0;
  int64_t bytes = 0;
  std::string sha256;              // of the bytes written
  std::vector<std::string> sources;
  std::string activation;          // "" when none
  bool importance = false;         // rounding weighted by calibration statistics
  bool rope_permuted = false;
  // Error of the decoded values against the float32 ones.
  double rmse = 0;
  double max_abs_error = 0;
  double sqnr_db = 0;              // +inf when exact
  double weighted_rmse = 0;        // importance-weighted; equals rmse without importance
  // The per-block scales d (the super-block d for q4_k), as float32.
  int64_t scale_count = 0;
  float scale_min = 0, scale_max = 0;
  std::string scales_sha256;       // of the scales as little-endian float32
};

// Encodes `weight`: 1-D weights (norms) in f32; matrices in
// TypeForRow(wanted, cols). `importance` (cols values, or nullptr) weighs
// the rounding of every row. Rows are encoded in parallel on `threads`
// threads (0 = all cores); the bytes do not depend on the count.
// Errors: QuantizeRow's (a non-finite weight), naming the tensor.
Result<TensorToWrite> EncodeWeight(const LlamaWeight& weight, GgmlType wanted, const std::vector<float>* importance,
                                   int threads, EncodedTensorRecord* record);

}  // namespace pq::gguf

#endif  // PQ_GGUF_WEIGHT_ENCODER_H_
