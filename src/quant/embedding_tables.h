// Embedding tables and the lm_head of a decoder LLM, found from the graph
// alone (before any number is computed), for --embeddings and --lm-head.
//
// An embedding table is a 2-D float constant of the main graph that at least
// one default-domain Gather reads as its data along axis 0 with indices that
// are not constants. In a decoder LLM (a graph input named input_ids) the
// indices must be the token ids (input_ids, possibly cast or reshaped): the
// rotary cos/sin tables that position_ids index are computed values whose
// error moves every attention score, not learned rows, and are left alone.
// It is "tied" when another node
// reads it too: an lm_head as MatMul(x, Transpose(table)) or Gemm(x, table,
// transB = 1). A tied table is stored once, every reader reading the same
// quantized tensor.
#ifndef PQ_QUANT_EMBEDDING_TABLES_H_
#define PQ_QUANT_EMBEDDING_TABLES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/model.h"
#include "quant/qdq_writer.h"

namespace pq::quant {

struct EmbeddingTable {
  std::string tensor;
  int64_t rows = 0, cols = 0;
  std::vector<Use> gathers;      // (Gather node, 0)
  std::vector<Use> other_reads;  // every other read of the main graph
  bool tied() const { return !other_reads.empty(); }
};

// The embedding tables of `model`'s main graph, in initializer/constant
// order. Tables that a subgraph reads or that are graph outputs are left
// out (their readers could not all be rewired).
std::vector<EmbeddingTable> FindEmbeddingTables(const Model& model);

// The main-graph index of the lm_head, or -1. Only a decoder LLM (a graph
// input named input_ids) has one: the default-domain MatMul/Gemm producing
// the output "logits", or, without such a node (no logits output, or one
// written by another op), the last MatMul/Gemm in
// graph order whose B input is a constant or a Transpose of one.
int FindLmHead(const Model& model);

// Whether main-graph node `node` reads `tensor` as input 1, directly or
// through a Transpose of it.
bool ReadsAsWeight(const Model& model, int node, const std::string& tensor);

}  // namespace pq::quant

#endif  // PQ_QUANT_EMBEDDING_TABLES_H_
