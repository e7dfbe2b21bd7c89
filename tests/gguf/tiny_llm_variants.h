// Variants of the sample decoder (models/tiny_llm, optimum layout) edited
// in memory, for the tests of the Llama recognition and the GGUF export:
// an lm_head that reads the embedding (tied), and rotary angles computed at
// run time from an inv_freq constant instead of gathered from a table.
#ifndef PQ_TESTS_GGUF_TINY_LLM_VARIANTS_H_
#define PQ_TESTS_GGUF_TINY_LLM_VARIANTS_H_

#include <functional>
#include <string>

#include "onnx/onnx_pb.h"

namespace pq::testing {

// models/tiny_llm.
std::string TinyLlmDir();

// The optimum proto with `edit` applied to its graph.
onnx::ModelProto EditedTinyLlm(const std::function<void(onnx::GraphProto*)>& edit);
// Removes the initializer `name` (a test failure when there is none).
void RemoveInitializer(onnx::GraphProto* graph, const std::string& name);
// The node named `name` (a test failure and nullptr when there is none).
onnx::NodeProto* NodeNamed(onnx::GraphProto* graph, const std::string& name);

// lm_head = MatMul(norm, Transpose(embed_tokens)); lm_head.weight removed.
onnx::ModelProto TiedTinyLlm();

// cos/sin = Cos/Sin(position_ids * inv_freq), base 10000, 32 rotated dims;
// the cos/sin tables removed, so the graph gives no context length.
onnx::ModelProto RunTimeRopeTinyLlm();

}  // namespace pq::testing

#endif  // PQ_TESTS_GGUF_TINY_LLM_VARIANTS_H_
