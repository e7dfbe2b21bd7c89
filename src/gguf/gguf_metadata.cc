#include "gguf/gguf_metadata.h"

#include "pq/version.h"

namespace pq::gguf {
namespace {

// ggml's quantization format version; 2 since the Q4/Q5/Q8 layouts of 2023.
constexpr uint32_t kQuantizationVersion = 2;

uint32_t U32(int64_t v) { return static_cast<uint32_t>(v); }

}  // namespace

std::vector<KeyValue> LlamaKeyValues(const LlamaHyperParams& h, int64_t context_length, const std::string& name,
                                     const GgufSchemeEntry& scheme, const TokenizerMeta& tokenizer,
                                     const Provenance& provenance) {
  std::vector<KeyValue> kvs = {
      {"general.architecture", Value::String("llama")},
      {"general.name", Value::String(name)},
      {"general.file_type", Value::Uint32(scheme.llama_ftype)},
      {"general.quantization_version", Value::Uint32(kQuantizationVersion)},
      {"llama.context_length", Value::Uint32(U32(context_length))},
      {"llama.embedding_length", Value::Uint32(U32(h.embedding))},
      {"llama.block_count", Value::Uint32(U32(h.layers))},
      {"llama.feed_forward_length", Value::Uint32(U32(h.feed_forward))},
      {"llama.rope.dimension_count", Value::Uint32(U32(h.rope_dims))},
      {"llama.rope.freq_base", Value::Float32(static_cast<float>(h.rope_base))},
      {"llama.attention.head_count", Value::Uint32(U32(h.heads))},
      {"llama.attention.head_count_kv", Value::Uint32(U32(h.kv_heads))},
      {"llama.attention.key_length", Value::Uint32(U32(h.head_dim))},
      {"llama.attention.value_length", Value::Uint32(U32(h.head_dim))},
      {"llama.attention.layer_norm_rms_epsilon", Value::Float32(static_cast<float>(h.rms_epsilon))},
      {"llama.vocab_size", Value::Uint32(U32(h.vocab))},
  };
  for (KeyValue& kv : TokenizerKeyValues(tokenizer)) kvs.push_back(std::move(kv));
  kvs.push_back({"pq.version", Value::String(kVersion)});
  kvs.push_back({"pq.scheme", Value::String(provenance.scheme)});
  kvs.push_back({"pq.source.file", Value::String(provenance.source_file)});
  kvs.push_back({"pq.source.sha256", Value::String(provenance.source_sha256)});
  kvs.push_back({"pq.report.sha256", Value::String(provenance.report_sha256)});
  if (!provenance.calibration.empty()) kvs.push_back({"pq.calibration", Value::String(provenance.calibration)});
  return kvs;
}

}  // namespace pq::gguf
