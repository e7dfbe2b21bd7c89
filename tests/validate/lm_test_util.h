// A tiny decoder "language model" for the token-data and --task lm tests:
// logits = MatMul(one_hot(input_ids), table), i.e. row input_ids of a bigram
// table [vocab, vocab] (a MatMul weight pq can quantize), with the inputs
// an optimum export has (attention_mask, position_ids, one past input) so
// that pq must build them; present.0.key passes the past through.
#ifndef PQ_TESTS_VALIDATE_LM_TEST_UTIL_H_
#define PQ_TESTS_VALIDATE_LM_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::testing {

inline constexpr int64_t kLmVocab = 8;
inline constexpr int64_t kLmKvHeads = 2;
inline constexpr int64_t kLmHeadDim = 4;

// `table` holds kLmVocab x kLmVocab logits, row = current token.
onnx::ModelProto BigramDecoder(const std::vector<float>& table);

// A fixed-seed table with values in [-2, 2).
std::vector<float> BigramTable(uint32_t seed);

}  // namespace pq::testing

#endif  // PQ_TESTS_VALIDATE_LM_TEST_UTIL_H_
