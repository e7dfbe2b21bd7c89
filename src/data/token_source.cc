// Token-id rows as dataset samples for decoder language models.
#include "data/token_source.h"

#include "pq/data_type.h"
#include "pq/npy.h"
#include "pq/npz.h"

namespace pq::data {
namespace {

class TokenSource : public Dataset::Source {
 public:
  TokenSource(const DecoderLayout& layout, TokenRows rows) : layout_(layout), rows_(std::move(rows)) {}

  int64_t samples() const override { return rows_.rows; }

  Result<Tensor> Sample(size_t input, int64_t index) const override {
    if (input >= layout_.inputs.size() || index < 0 || index >= rows_.rows) {
      return Status::Internal("token sample out of range");
    }
    return BuildDecoderFeed(layout_.inputs[input],
                            rows_.ids.data() + index * rows_.length, rows_.length);
  }

 private:
  DecoderLayout layout_;
  TokenRows rows_;
};

std::string Where(const std::string& origin, int64_t row, int64_t position) {
  return origin + ": row " + std::to_string(row) + ", position " + std::to_string(position);
}

}  // namespace

Result<TokenRows> WindowTokens(const std::string& origin, const std::vector<int64_t>& ids, int64_t rows,
                               int64_t length, int64_t context, int64_t vocab_size) {
  if (rows <= 0 || length <= 0) return Status::InvalidInput(origin + ": holds no token ids");
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < length; ++p) {
      const int64_t id = ids[static_cast<size_t>(r * length + p)];
      if (id < 0 || (vocab_size > 0 && id >= vocab_size)) {
        return Status::InvalidInput(Where(origin, r, p) + ": token id " + std::to_string(id) +
                                    (id < 0 ? " is negative"
                                            : " is not below the vocabulary size " +
                                                  std::to_string(vocab_size)));
      }
    }
  }
  const int64_t window = (context > 0 && length > context) ? context : length;
  if (window < 2) {
    return Status::InvalidInput(origin + ": rows of " + std::to_string(window) +
                                " token; a language model needs at least 2 tokens per row (one to "
                                "predict)");
  }
  const int64_t per_row = length / window;
  TokenRows out;
  out.rows = rows * per_row;
  out.length = window;
  out.dropped = rows * (length - per_row * window);
  out.ids.reserve(static_cast<size_t>(out.rows * window));
  for (int64_t r = 0; r < rows; ++r) {
    const auto begin = ids.begin() + r * length;
    out.ids.insert(out.ids.end(), begin, begin + per_row * window);
  }
  return out;
}

std::unique_ptr<Dataset::Source> MakeTokenSource(const DecoderLayout& layout, TokenRows rows) {
  return std::make_unique<TokenSource>(layout, std::move(rows));
}

Result<TokenRows> ReadTokenArray(const std::string& path, const std::string& npz_name,
                                 int64_t context, int64_t vocab_size) {
  Result<Tensor> array = Status::Internal("unread");
  std::string origin = path;
  if (npz_name.empty()) {
    Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
    if (!file.ok()) return file.status();
    const NpyHeader& h = file.value()->header();
    if (h.shape.empty() || h.shape.size() > 2) {
      return Status::InvalidInput(path + ": token ids must have shape [rows, tokens] or [tokens], not " +
                                  ShapeToString(h.shape));
    }
    array = file.value()->Rows(0, h.shape[0]);
  } else {
    Result<std::unique_ptr<NpzFile>> file = NpzFile::Open(path);
    if (!file.ok()) return file.status();
    origin = path + ": array '" + npz_name + "'";
    Result<const NpyHeader*> h = file.value()->Load(npz_name);
    if (!h.ok()) return h.status();
    const std::vector<int64_t>& shape = h.value()->shape;
    if (shape.empty() || shape.size() > 2) {
      return Status::InvalidInput(origin + ": token ids must have shape [rows, tokens] or [tokens], not " +
                                  ShapeToString(shape));
    }
    array = file.value()->Rows(npz_name, 0, shape[0]);
  }
  if (!array.ok()) return array.status();
  const Tensor& t = array.value();
  if (t.dtype() != kInt64 && t.dtype() != kInt32) {
    return Status::InvalidInput(origin + ": token ids must be int32 or int64, not " +
                                DataTypeName(t.dtype()));
  }
  const int64_t rows = t.rank() == 1 ? 1 : t.dim(0);
  const int64_t length = t.rank() == 1 ? t.dim(0) : t.dim(1);
  std::vector<int64_t> ids(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) {
    ids[static_cast<size_t>(i)] = t.dtype() == kInt64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
  }
  return WindowTokens(origin, ids, rows, length, context, vocab_size);
}

}  // namespace pq::data
