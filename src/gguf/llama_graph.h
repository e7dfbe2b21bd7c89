// Recognizes a Llama-family decoder in an ONNX graph and reads out what a
// GGUF file for llama.cpp's "llama" architecture needs: the hyper-parameters
// and every weight under its GGUF name, in llama.cpp's orientation.
//
// Recognized from the graph's structure, not from names: the embedding
// Gather on input_ids; per block an RMSNorm (decomposed Pow/ReduceMean/Add/
// Sqrt/Div/Mul as torch exports it, or SimplifiedLayerNormalization /
// SkipSimplifiedLayerNormalization), q/k/v projections (separate MatMuls or
// one packed MatMul), attention (MatMul/Softmax or com.microsoft
// GroupQueryAttention / MultiHeadAttention), the output projection, a SwiGLU
// MLP (gate, up, down); the final norm and the lm_head MatMul (or the
// embedding reused: tied). Weights may be initializers or Constant nodes,
// float32 or float16, held inline or in external data.
#ifndef PQ_GGUF_LLAMA_GRAPH_H_
#define PQ_GGUF_LLAMA_GRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"

namespace pq::gguf {

struct LlamaHyperParams {
  int64_t vocab = 0;         // embedding rows
  int64_t embedding = 0;     // hidden size
  int64_t layers = 0;
  int64_t heads = 0;         // query heads
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t feed_forward = 0;  // MLP intermediate size
  int64_t rope_dims = 0;     // rotated dims per head (head_dim unless partial)
  // Fitted to the angles at position 1; snapped to the nearest integer when
  // within a relative 1e-4 of it (float32/float16 tables of an integer base).
  double rope_base = 10000.0;
  // The shortest decimal that rounds to the value the graph stores, in the
  // type it stores it in (1e-5, not float32's 9.99999975e-06).
  double rms_epsilon = 1e-5;
  // Rows of the rotary position table, or 0 when the graph computes the
  // angles at run time (then the caller must be told the context length).
  int64_t context_length = 0;
  // The export rotates the two halves of each head (GPT-NeoX / Hugging Face
  // convention); llama.cpp's llama architecture rotates adjacent pairs, so
  // q and k rows are permuted (see PermuteForInterleavedRope).
  bool rope_half_split = true;
  bool tied_embeddings = false;
};

// One weight under its GGUF name ("token_embd.weight", "blk.3.attn_q.weight",
// "output_norm.weight", ...). `shape` is outermost first: [rows, cols] for a
// matrix whose rows are output features (llama.cpp's orientation: an ONNX
// MatMul's B [in, out] is transposed), [n] for a norm weight.
struct LlamaWeight {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;          // row-major
  std::vector<std::string> sources;   // the ONNX constants it was read from
  // The ONNX activation this matrix multiplies (its K = cols), for
  // importance statistics; "" for norms and the embedding.
  std::string activation;
  bool rope_permuted = false;         // rows permuted for interleaved rope
};

struct LlamaDecoder {
  LlamaHyperParams hparams;
  std::vector<LlamaWeight> weights;  // in GGUF order: token_embd, blocks, output_norm, output
};

// Reads `model` as a Llama decoder. Errors (kNotSupported, naming what was
// not found and where: "no RMSNorm before the attention of block 2 (node
// 'x')", "input_ids feeds no embedding Gather", ...): a graph that is not a
// recognized Llama decoder. kInvalidInput for weights whose shapes
// contradict each other.
Result<LlamaDecoder> RecognizeLlama(const Model& model);

// Permutes the rows of a q or k projection [heads * head_dim, cols] from
// half-split rotary order to interleaved pairs: within each head, row
// half * (rope_dims/2) + i moves to 2 * i + half, for i < rope_dims/2;
// rows past rope_dims stay. REQUIRES: values.size() == heads * head_dim * cols.
void PermuteForInterleavedRope(std::vector<float>* values, int64_t heads, int64_t head_dim,
                               int64_t rope_dims, int64_t cols);

}  // namespace pq::gguf

#endif  // PQ_GGUF_LLAMA_GRAPH_H_
