// The metadata of a GGUF file pq writes for llama.cpp's "llama"
// architecture: general.* keys, the llama.* hyper-parameters llama.cpp
// reads, the tokenizer's tokenizer.ggml.* keys and pq.* provenance keys.
#ifndef PQ_GGUF_GGUF_METADATA_H_
#define PQ_GGUF_GGUF_METADATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_schemes.h"
#include "gguf/llama_graph.h"
#include "gguf/tokenizer_meta.h"

namespace pq::gguf {

// Where the file came from, for the pq.* keys.
struct Provenance {
  std::string source_file;     // the ONNX model's file name
  std::string source_sha256;   // of the ONNX model file
  std::string report_sha256;   // of the report written beside the file
  std::string scheme;          // "gguf-q4_k"
  std::string calibration;     // "" or the calibration data's files and sha256, summarized
};

// The key/values in a fixed order: general.architecture "llama",
// general.name (`name`), general.file_type, general.quantization_version 2;
// llama.context_length (`context_length`), embedding_length, block_count,
// feed_forward_length, rope.dimension_count, rope.freq_base,
// attention.head_count, attention.head_count_kv, attention.key_length,
// attention.value_length, attention.layer_norm_rms_epsilon, vocab_size;
// tokenizer.ggml.*; pq.version, pq.scheme, pq.source.file,
// pq.source.sha256, pq.report.sha256, pq.calibration.
std::vector<KeyValue> LlamaKeyValues(const LlamaHyperParams& hparams, int64_t context_length,
                                     const std::string& name, const GgufSchemeEntry& scheme,
                                     const TokenizerMeta& tokenizer, const Provenance& provenance);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGUF_METADATA_H_
