// Internal: reads one decoder block (attention and MLP) of a Llama graph
// for RecognizeLlama. Not part of pq's API.
#ifndef PQ_GGUF_LLAMA_BLOCKS_H_
#define PQ_GGUF_LLAMA_BLOCKS_H_

#include <string>

#include "gguf/llama_graph.h"
#include "gguf/llama_match.h"

namespace pq::gguf::internal {

// The weights of one block as the graph holds them: q and k still in the
// export's rotary order, every matrix [out, in].
struct BlockWeights {
  NormMatch attn_norm;
  NormMatch ffn_norm;
  Projection q, k, v, o;
  Projection gate, up, down;
};

// Reads the block whose attention norm is `attn_norm`: the q/k/v
// projections (separate or one packed MatMul split into rows q, k, v), the
// attention (written out with Softmax, or com.microsoft GroupQueryAttention /
// MultiHeadAttention), its rotary embedding, the output projection, the
// second norm and the SwiGLU MLP. The first block sets heads, kv_heads,
// head_dim, feed_forward and the rope fields of `hparams`; later blocks must
// agree. On success `*residual` / `*pending` are the stream after the
// attention's residual sum and the MLP output not yet added.
// Errors: kNotSupported naming what was not found in `where`;
// kInvalidInput for contradicting shapes.
Result<BlockWeights> ReadBlock(const GraphView& view, const NormMatch& attn_norm,
                               const std::string& where, LlamaHyperParams* hparams,
                               std::string* residual, std::string* pending);

}  // namespace pq::gguf::internal

#endif  // PQ_GGUF_LLAMA_BLOCKS_H_
