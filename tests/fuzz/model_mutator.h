// Structural mutations of an ONNX model for the model_mutator fuzz target:
// instead of flipping bytes, each mutation changes one thing a model author
// could write (an attribute's value or length, a tensor's rank, dims or
// dtype, which tensor a node reads, the op a node runs, the opset), so a
// mutated valid model still parses and reaches the kernels' arithmetic.
#ifndef PQ_TESTS_FUZZ_MODEL_MUTATOR_H_
#define PQ_TESTS_FUZZ_MODEL_MUTATOR_H_

#include <cstdint>
#include <string>

#include "onnx/onnx_pb.h"

namespace pq::fuzz {

// Applies one structural mutation to `model` (its graph and subgraphs),
// chosen and parameterised by `seed`; the same model and seed give the same
// result. Returns a short name of what it did ("attribute-value", ...), or
// "" when no mutation applied (e.g. a model without nodes).
std::string MutateModel(onnx::ModelProto* model, uint32_t seed);

}  // namespace pq::fuzz

#endif  // PQ_TESTS_FUZZ_MODEL_MUTATOR_H_
