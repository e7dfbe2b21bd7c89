// Tokenizer metadata for GGUF files, read from a SentencePiece model
// (`.model`, a serialized sentencepiece ModelProto) or a Hugging Face
// `tokenizer.json` (BPE: vocabulary and merges), mapped to the keys
// llama.cpp reads (tokenizer.ggml.*).
#ifndef PQ_GGUF_TOKENIZER_META_H_
#define PQ_GGUF_TOKENIZER_META_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "pq/status.h"

namespace pq::gguf {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct TokenizerMeta {
  std::string model;  // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (BPE)
  std::string pre;    // tokenizer.ggml.pre ("default" when unknown)
  std::vector<std::string> tokens;
  std::vector<float> scores;          // empty for BPE
  std::vector<TokenType> types;
  std::vector<std::string> merges;    // BPE only, "a b" per merge
  int64_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1: none
  bool add_bos = false;
  bool add_eos = false;
  std::string source_path;
  std::string source_sha256;  // of the tokenizer file
};

// Loads the tokenizer at `path`: a file whose name ends in ".json" is read
// as tokenizer.json, anything else as a SentencePiece model. Errors
// (kInvalidInput, naming the file and what was wrong): unreadable,
// malformed wire format or JSON, no vocabulary, a tokenizer.json model type
// other than BPE, ids that are not 0..n-1 without gaps.
Result<TokenizerMeta> LoadTokenizer(const std::string& path);

// The tokenizer.ggml.* key/values of `meta`, in a fixed order.
std::vector<KeyValue> TokenizerKeyValues(const TokenizerMeta& meta);

}  // namespace pq::gguf

#endif  // PQ_GGUF_TOKENIZER_META_H_
