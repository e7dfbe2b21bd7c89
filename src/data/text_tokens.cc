// Text files as token rows, tokenized with SentencePiece (Debian's
// libsentencepiece).
#include <sentencepiece_processor.h>

#include <fstream>

#include "data/token_source.h"

namespace pq::data {

Result<TokenRows> ReadTokenText(const std::string& path, const std::string& tokenizer,
                                int64_t context, int64_t vocab_size) {
  if (tokenizer.empty()) {
    return Status::InvalidInput(path + ": text data needs a tokenizer (--tokenizer tokenizer.model)");
  }
  sentencepiece::SentencePieceProcessor processor;
  const auto loaded = processor.Load(tokenizer);
  if (!loaded.ok()) {
    return Status::InvalidInput(tokenizer + ": not a SentencePiece model (" + loaded.ToString() + ")");
  }
  if (vocab_size > 0 && processor.GetPieceSize() > vocab_size) {
    return Status::InvalidInput(tokenizer + ": has " + std::to_string(processor.GetPieceSize()) +
                                " pieces, more than the model's vocabulary of " +
                                std::to_string(vocab_size) + " (a tokenizer for another model?)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidInput(path + ": cannot be read");
  // One stream: each line is encoded on its own (SentencePiece normalizes
  // newlines away) and the ids are concatenated.
  std::vector<int64_t> ids;
  std::string line;
  std::vector<int> piece_ids;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto encoded = processor.Encode(line, &piece_ids);
    if (!encoded.ok()) return Status::InvalidInput(path + ": " + encoded.ToString());
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  if (in.bad()) return Status::InvalidInput(path + ": read error");
  const int64_t length = static_cast<int64_t>(ids.size());
  if (length == 0) return Status::InvalidInput(path + ": holds no text");
  return WindowTokens(path, ids, 1, length, context > 0 ? context : kDefaultTextContext, vocab_size);
}

}  // namespace pq::data
