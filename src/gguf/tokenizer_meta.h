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
// other than BPE, ids that are not 0..n-1 without gaps; kNotSupported for a
// SentencePiece model of type WORD or CHAR (llama.cpp reads UNIGRAM and BPE).
Result<TokenizerMeta> LoadTokenizer(const std::string& path);

// As LoadTokenizer, on the bytes of a SentencePiece `.model` already in
// memory; `origin` names them in messages. source_path and source_sha256
// are left empty. Sets model "llama", pre "default", add_bos true and
// add_eos false (llama's convention); special ids from the trainer spec,
// dropped (-1) when disabled. Every piece's type must be one of TokenType's.
Result<TokenizerMeta> ParseSentencePieceModel(const std::string& bytes,
                                              const std::string& origin);

// As LoadTokenizer, on the text of a Hugging Face tokenizer.json. Tokens are
// model.vocab plus added_tokens (special ones kControl, others
// kUserDefined; "<0xXX>" pieces kByte when model.byte_fallback); merges are
// "a b" whichever of the two JSON forms holds them (a space inside a part
// of the pair form becomes U+0120, as gguf-py writes it). bos/eos/unk/pad
// are found among added_tokens by their usual contents ("<s>", "</s>",
// "<|endoftext|>" (eos, and bos when there is no other), "<unk>", "<pad>",
// ...), unk also from model.unk_token; add_bos/add_eos from a
// TemplateProcessing post_processor that starts/ends with that token.
// Sets model "gpt2", pre "default".
Result<TokenizerMeta> ParseTokenizerJson(const std::string& text, const std::string& origin);

// The tokenizer.ggml.* key/values of `meta`, in a fixed order: model, pre,
// tokens, scores (when any), token_type, merges (when any), the
// bos/eos/unknown/padding token ids that are not -1 (uint32), add_bos_token,
// add_eos_token.
std::vector<KeyValue> TokenizerKeyValues(const TokenizerMeta& meta);

}  // namespace pq::gguf

#endif  // PQ_GGUF_TOKENIZER_META_H_
