// Fuzz target: token-id data for decoder language models and the LM input
// builder. The first kParamBytes bytes choose the context, the vocabulary
// size, how the rest is read (.npy, or array "input_ids" of an .npz) and a
// decoder's inputs (dtypes, which of mask/positions/past it has, the past's
// dims); the rest is the data file. Accepted token rows must keep the
// invariants below, and every sample of a token source built from them for
// the decoder is built or refused with a Status, never a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/token_source.h"
#include "fuzz/fuzz_util.h"
#include "pq/data_type.h"
#include "pq/language_model.h"

namespace {

constexpr size_t kParamBytes = 8;
// Samples built per input: enough to cross a row boundary.
constexpr int64_t kMaxSamples = 3;
// Past dims the parameter bytes pick from: unknown, empty, small and huge.
constexpr int64_t kPastDims[] = {-1, 0, 1, 4, int64_t{1} << 40};

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void CheckStatus(const pq::Status& s) {
  Check(!s.ok());
  Check(!s.message().empty());
  Check(s.message().find('\n') == std::string::npos);
}

pq::TensorInfo Info(const std::string& name, int32_t dtype, std::vector<int64_t> dims) {
  pq::TensorInfo info;
  info.name = name;
  info.dtype = dtype;
  info.has_shape = true;
  info.dims = std::move(dims);
  info.dim_names.assign(info.dims.size(), "");
  return info;
}

int32_t PickDtype(uint8_t b) {
  static constexpr int32_t kDtypes[] = {pq::kInt64, pq::kInt32, pq::kFloat, pq::kFloat16,
                                        pq::kBool,  pq::kUint8, pq::kInt8,  pq::kDouble};
  return kDtypes[b % 8];
}

// The decoder the parameter bytes describe: input_ids always, the others when
// their bit is set, logits always.
std::vector<pq::TensorInfo> DecoderInputs(const uint8_t* p) {
  std::vector<pq::TensorInfo> inputs;
  inputs.push_back(Info("input_ids", PickDtype(p[3] & 1), {-1, -1}));
  if (p[4] & 1) inputs.push_back(Info("attention_mask", PickDtype(p[5]), {-1, -1}));
  if (p[4] & 2) inputs.push_back(Info("position_ids", PickDtype(p[5] >> 3), {-1, -1}));
  if (p[4] & 4) {
    const size_t n = sizeof(kPastDims) / sizeof(kPastDims[0]);
    std::vector<int64_t> dims = {-1, kPastDims[p[6] % n], -1, kPastDims[(p[6] / n) % n]};
    if (p[4] & 8) dims.pop_back();  // a past of the wrong rank
    inputs.push_back(Info("past_key_values.0.key", PickDtype(p[7]), dims));
  }
  if (p[4] & 16) inputs.push_back(Info("pixel_values", pq::kFloat, {-1, 3}));  // not buildable
  return inputs;
}

void CheckRows(const pq::data::TokenRows& rows, int64_t vocab) {
  Check(rows.rows > 0);
  Check(rows.length >= 2);
  Check(static_cast<int64_t>(rows.ids.size()) == rows.rows * rows.length);
  for (int64_t id : rows.ids) Check(id >= 0 && (vocab == 0 || id < vocab));
}

void FeedDecoder(const uint8_t* p, const pq::data::TokenRows& rows) {
  const std::vector<pq::TensorInfo> outputs = {Info("logits", pq::kFloat, {-1, -1, 16})};
  const std::optional<pq::DecoderLayout> layout = pq::RecognizeDecoder(DecoderInputs(p), outputs);
  Check(layout.has_value());
  if (!layout->CanFeedFromTokens()) return;
  std::unique_ptr<pq::Dataset::Source> source = pq::data::MakeTokenSource(*layout, rows);
  Check(source->samples() == rows.rows);
  for (int64_t i = 0; i < source->samples() && i < kMaxSamples; ++i) {
    for (size_t k = 0; k < layout->inputs.size(); ++k) {
      pq::Result<pq::Tensor> feed = source->Sample(k, i);
      if (!feed.ok()) {
        CheckStatus(feed.status());
        continue;
      }
      if (layout->inputs[k].role != pq::DecoderInputRole::kPast) {
        Check(feed->shape() == (std::vector<int64_t>{1, rows.length}));
      } else {
        Check(feed->size() == 0);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kParamBytes) return 0;
  const int64_t context = data[0] % 8 == 0 ? 0 : data[0] % 64;
  const int64_t vocab = (data[1] | (data[2] << 8)) % 4096;
  const bool as_npz = (data[3] & 2) != 0;
  const std::string path = pq::fuzz::ScratchDir() + (as_npz ? "/tokens.npz" : "/tokens.npy");
  pq::fuzz::WriteBytes(path, data + kParamBytes, size - kParamBytes);
  pq::Result<pq::data::TokenRows> rows =
      pq::data::ReadTokenArray(path, as_npz ? "input_ids" : "", context, vocab);
  if (!rows.ok()) {
    CheckStatus(rows.status());
    return 0;
  }
  CheckRows(rows.value(), vocab);
  FeedDecoder(data, rows.value());
  return 0;
}
