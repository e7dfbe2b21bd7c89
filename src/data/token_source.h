// Token-id data for decoder language models: each sample is one row of
// token ids; the model's other inputs (mask, positions, empty past) are
// built for it (pq/language_model.h).
#ifndef PQ_SRC_DATA_TOKEN_SOURCE_H_
#define PQ_SRC_DATA_TOKEN_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "data/source.h"
#include "pq/language_model.h"

namespace pq::data {

// Token rows after windowing: `rows` rows of `length` ids each.
struct TokenRows {
  std::vector<int64_t> ids;
  int64_t rows = 0;
  int64_t length = 0;
  int64_t dropped = 0;  // ids in tails that filled no window
};

// Cuts each of `rows` stored rows of `length` ids into windows of `context`
// ids (0 = rows as stored; a row no longer than the context stays whole; the
// tail of a longer row that does not fill a window is dropped, as llama.cpp's
// perplexity does), then checks every id against `vocab_size` (0 = unknown)
// and that each window has at least 2 ids (one to predict).
// Errors (kInvalidInput) name `origin`, the stored row and the position.
Result<TokenRows> WindowTokens(const std::string& origin, const std::vector<int64_t>& ids, int64_t rows,
                               int64_t length, int64_t context, int64_t vocab_size);

// A source feeding `layout`'s inputs from token rows.
// REQUIRES: layout.CanFeedFromTokens().
std::unique_ptr<Dataset::Source> MakeTokenSource(const DecoderLayout& layout, TokenRows rows);

// Reads token ids from an int32/int64 array of shape [N, T] or [T] (.npy, or
// array `name` of an .npz). Errors: other types or ranks, naming the file.
Result<TokenRows> ReadTokenArray(const std::string& path, const std::string& npz_name,
                                 int64_t context, int64_t vocab_size);

// Tokenizes a UTF-8 text file with a SentencePiece model (Debian's
// spm_encode) as one stream and windows it (context 0 = kDefaultTextContext).
// Errors: unreadable files, spm_encode missing or failing (e.g. a file that
// is not a SentencePiece model), naming the text and the tokenizer.
constexpr int64_t kDefaultTextContext = 128;
Result<TokenRows> ReadTokenText(const std::string& path, const std::string& tokenizer,
                                int64_t context, int64_t vocab_size);

}  // namespace pq::data

#endif  // PQ_SRC_DATA_TOKEN_SOURCE_H_
