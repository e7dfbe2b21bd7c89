// Recognizing decoder language models and building their non-token inputs.
#include "pq/language_model.h"

#include <algorithm>

#include "pq/data_type.h"

namespace pq {
namespace {

bool IsIntegerIds(int32_t dtype) { return dtype == kInt64 || dtype == kInt32; }

bool IsFloat(int32_t dtype) {
  return dtype == kFloat || dtype == kFloat16 || dtype == kDouble || dtype == kBfloat16;
}

bool IsPastName(const std::string& name) { return name.rfind("past", 0) == 0; }

bool IsRank3Float(const TensorInfo& o) { return IsFloat(o.dtype) && o.has_shape && o.dims.size() == 3; }

// Hugging Face's name for a base model's hidden states [batch, sequence,
// hidden] (BERT-style encoders, decoders without their lm_head).
bool IsHiddenStates(const TensorInfo& o) { return o.name == "last_hidden_state"; }

// The next-token logits [batch, sequence, vocab]: the output named "logits"
// if it has rank 3, else the only float output of rank 3 that is not named
// as hidden states. (A classifier's "logits" [batch, classes] and an
// encoder's "last_hidden_state" are not next-token logits.)
const TensorInfo* FindLogits(const std::vector<TensorInfo>& outputs) {
  for (const TensorInfo& o : outputs) {
    if (o.name == "logits") return IsRank3Float(o) ? &o : nullptr;
  }
  const TensorInfo* found = nullptr;
  for (const TensorInfo& o : outputs) {
    if (IsRank3Float(o) && !IsHiddenStates(o)) {
      if (found != nullptr) return nullptr;
      found = &o;
    }
  }
  return found;
}

const TensorInfo* FindTokens(const std::vector<TensorInfo>& inputs) {
  for (const TensorInfo& in : inputs) {
    if (in.name == "input_ids" && IsIntegerIds(in.dtype)) return &in;
  }
  return nullptr;
}

// A feed for an input of `dtype` filled by `value(i)` (float16 and double
// inputs are fed as float, as the executor holds them).
template <typename Fn>
Result<Tensor> Filled(int32_t dtype, std::vector<int64_t> shape, const std::string& name, Fn value) {
  const int32_t feed = ExecutorFeedType(dtype);
  Result<Tensor> t = Tensor::Allocate(feed, std::move(shape));
  if (!t.ok()) return t.status().WithPrefix("input '" + name + "'");
  const int64_t n = t->size();
  switch (feed) {
    case kInt64: for (int64_t i = 0; i < n; ++i) t->data<int64_t>()[i] = value(i); break;
    case kInt32: for (int64_t i = 0; i < n; ++i) t->data<int32_t>()[i] = static_cast<int32_t>(value(i)); break;
    case kFloat: for (int64_t i = 0; i < n; ++i) t->data<float>()[i] = static_cast<float>(value(i)); break;
    case kBool:
    case kUint8: for (int64_t i = 0; i < n; ++i) t->data<uint8_t>()[i] = static_cast<uint8_t>(value(i)); break;
    case kInt8: for (int64_t i = 0; i < n; ++i) t->data<int8_t>()[i] = static_cast<int8_t>(value(i)); break;
    default:
      return Status::InvalidInput("input '" + name + "' is " + DataTypeName(dtype) +
                                  "; pq cannot build it from token ids");
  }
  return t;
}

}  // namespace

std::optional<DecoderLayout> RecognizeDecoder(const std::vector<TensorInfo>& inputs,
                                              const std::vector<TensorInfo>& outputs) {
  const TensorInfo* tokens = FindTokens(inputs);
  if (tokens == nullptr) return std::nullopt;
  DecoderLayout layout;
  layout.token_input = tokens->name;
  for (const TensorInfo& in : inputs) {
    DecoderInput d;
    d.info = in;
    if (&in == tokens) {
      d.role = DecoderInputRole::kTokens;
    } else if (in.name == "attention_mask") {
      d.role = DecoderInputRole::kAttentionMask;
    } else if (in.name == "position_ids") {
      d.role = DecoderInputRole::kPositions;
    } else if (IsPastName(in.name) && IsFloat(in.dtype)) {
      d.role = DecoderInputRole::kPast;
    } else {
      layout.unknown_inputs.push_back(in.name);
      continue;
    }
    layout.inputs.push_back(std::move(d));
  }
  if (const TensorInfo* logits = FindLogits(outputs)) {
    layout.logits_output = logits->name;
    if (logits->has_shape && !logits->dims.empty()) layout.vocab_size = std::max<int64_t>(logits->dims.back(), 0);
  }
  return layout;
}

std::string MissingForLanguageModel(const std::vector<TensorInfo>& inputs,
                                    const std::vector<TensorInfo>& outputs) {
  std::string missing;
  if (FindTokens(inputs) == nullptr) missing = "no int32/int64 input 'input_ids' [batch, sequence]";
  if (FindLogits(outputs) == nullptr) {
    missing += std::string(missing.empty() ? "" : " and ") +
               "no output 'logits' (or single float rank-3 output) [batch, sequence, vocab]";
  }
  return missing;
}

Result<Tensor> BuildDecoderFeed(const DecoderInput& input, const int64_t* tokens, int64_t length) {
  const TensorInfo& info = input.info;
  switch (input.role) {
    case DecoderInputRole::kTokens:
      return Filled(info.dtype, {1, length}, info.name, [&](int64_t i) { return tokens[i]; });
    case DecoderInputRole::kAttentionMask:
      return Filled(info.dtype, {1, length}, info.name, [](int64_t) { return 1; });
    case DecoderInputRole::kPositions:
      return Filled(info.dtype, {1, length}, info.name, [](int64_t i) { return i; });
    case DecoderInputRole::kPast: {
      if (!info.has_shape || info.dims.size() != 4 || info.dims[1] < 0 || info.dims[3] < 0) {
        std::string dims = "unknown";
        if (info.has_shape) dims = ShapeToString(info.dims);
        return Status::InvalidInput("input '" + info.name + "' has shape " + dims +
                                    "; pq builds an empty past only for [batch, heads, past, "
                                    "head_dim] with fixed heads and head_dim");
      }
      return Filled(info.dtype, {1, info.dims[1], 0, info.dims[3]}, info.name, [](int64_t) { return 0; });
    }
  }
  return Status::Internal("unknown decoder input role");
}

}  // namespace pq
