// Decoder language models: how pq recognizes one from the names and shapes of
// its inputs and outputs, so that token-id data can feed it (the Dataset
// builds every other input) and `--task lm` can score its logits.
//
// Recognized as Hugging Face optimum and onnxruntime-genai export decoders:
//   input_ids        int32/int64 [batch, sequence]          the tokens
//   attention_mask   [batch, past + sequence]               optional; all ones
//   position_ids     [batch, sequence]                      optional; 0, 1, ...
//   past_*           float [batch, heads, past, head_dim]   optional; empty past
//   logits           float [batch, sequence, vocab]          output
// A past input is any input whose name starts with "past" (optimum's
// "past_key_values.N.key", older "past.N" or "past_key_N"); its heads and
// head_dim must be fixed. The logits must have rank 3 (a classifier's
// "logits" [batch, classes] are not next-token logits); when no output is
// named "logits", the only float output of rank 3 is taken.
#ifndef PQ_LANGUAGE_MODEL_H_
#define PQ_LANGUAGE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

enum class DecoderInputRole { kTokens, kAttentionMask, kPositions, kPast };

struct DecoderInput {
  DecoderInputRole role = DecoderInputRole::kTokens;
  TensorInfo info;
};

struct DecoderLayout {
  std::string token_input;           // "input_ids"
  std::vector<DecoderInput> inputs;  // the recognized inputs, in the model's order
  // Inputs pq cannot build from token ids (an .npz must then give every input).
  std::vector<std::string> unknown_inputs;
  std::string logits_output;  // "" when the model has no logits output
  int64_t vocab_size = 0;     // logits' last dim; 0 when it is not fixed

  bool CanFeedFromTokens() const { return unknown_inputs.empty(); }
};

// Returns the layout of a model with a token input `input_ids`, or nullopt
// when it has none. `inputs` are the inputs a run needs (Executor::GraphInputs),
// `outputs` the graph outputs.
std::optional<DecoderLayout> RecognizeDecoder(const std::vector<TensorInfo>& inputs,
                                              const std::vector<TensorInfo>& outputs);

// What a model lacks to be scored as a language model ("" when nothing):
// e.g. "no int32/int64 input 'input_ids'" or "no logits output [batch,
// sequence, vocab]".
std::string MissingForLanguageModel(const std::vector<TensorInfo>& inputs,
                                    const std::vector<TensorInfo>& outputs);

// The feed of `input` for one row of `length` tokens (`tokens`, already
// checked against the vocabulary): the tokens themselves, a mask of ones,
// positions 0..length-1, or an empty past [1, heads, 0, head_dim].
// Errors (kInvalidInput): a past input without fixed heads and head_dim, a
// dtype pq cannot build, naming the input.
Result<Tensor> BuildDecoderFeed(const DecoderInput& input, const int64_t* tokens, int64_t length);

}  // namespace pq

#endif  // PQ_LANGUAGE_MODEL_H_
