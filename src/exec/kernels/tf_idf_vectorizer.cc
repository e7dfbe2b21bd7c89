// TfIdfVectorizer (opset 9) on integer tokens: counts the pool's n-grams
// (with skips) in each row and weighs the counts (TF, IDF or TFIDF).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

// The most n-gram lookups one node may take.
constexpr double kMaxWork = 4.0e9;

// Reads token `i` of an int32 or int64 tensor.
int64_t TokenAt(const Tensor& x, int64_t i) {
  return x.dtype() == kInt32 ? x.data<int32_t>()[i] : x.data<int64_t>()[i];
}

// X int32/int64 [C] or [N, C]; attributes min_gram_length, max_gram_length,
// max_skip_count, mode, ngram_counts (where each n-gram length starts in the
// pool), ngram_indexes (each pool n-gram's output column), pool_int64s and
// optional weights. Output float [K] or [N, K], K = max(ngram_indexes) + 1.
// An n-gram of length n >= 2 takes tokens d = 1 .. max_skip_count + 1
// apart; unigrams count once. N-grams do not cross rows.
Status TfIdfVectorizer(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kInt32 && x.dtype() != kInt64) {
    return ctx.Unsupported("tokens of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  if (x.rank() != 1 && x.rank() != 2) {
    return ctx.Error("X must be [C] or [N, C], got " + ShapeToString(x.shape()));
  }
  const std::string mode = ctx.String("mode", "");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") {
    return ctx.Error("mode must be TF, IDF or TFIDF, got '" + mode + "'");
  }
  const int64_t min_gram = ctx.Int("min_gram_length", 0), max_gram = ctx.Int("max_gram_length", 0);
  const int64_t max_skip = ctx.Int("max_skip_count", 0);
  const std::vector<int64_t> counts = ctx.Ints("ngram_counts"), indexes = ctx.Ints("ngram_indexes");
  const std::vector<int64_t> pool = ctx.Ints("pool_int64s");
  const std::vector<float> weights = ctx.Floats("weights");
  if (min_gram < 1 || max_gram < min_gram || max_skip < 0) {
    return ctx.Error("need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
  }
  // The pool's n-grams, level by level, each mapped to its output column.
  std::map<std::vector<int64_t>, int64_t> grams;
  size_t next_index = 0;
  int64_t columns = 0;
  for (size_t level = 0; level < counts.size(); ++level) {
    const int64_t n = static_cast<int64_t>(level) + 1;
    const int64_t begin = counts[level];
    const int64_t end = level + 1 < counts.size() ? counts[level + 1] : static_cast<int64_t>(pool.size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) || (end - begin) % n != 0) {
      return ctx.Error("ngram_counts " + std::to_string(begin) + ".." + std::to_string(end) +
                       " do not split the pool into " + std::to_string(n) + "-grams");
    }
    for (int64_t at = begin; at < end; at += n) {
      if (next_index >= indexes.size()) return ctx.Error("ngram_indexes has fewer entries than the pool has n-grams");
      const int64_t column = indexes[next_index++];
      if (column < 0 || column >= (int64_t{1} << 31)) {
        return ctx.Error("ngram_indexes holds " + std::to_string(column));
      }
      grams[std::vector<int64_t>(pool.begin() + at, pool.begin() + at + n)] = column;
      columns = std::max(columns, column + 1);
    }
  }
  if (!weights.empty() && static_cast<int64_t>(weights.size()) < columns) {
    return ctx.Error("weights has " + std::to_string(weights.size()) + " values for " +
                     std::to_string(columns) + " output columns");
  }
  const int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
  const int64_t length = x.dim(x.rank() - 1);
  Result<Tensor> out = ctx.Allocate(kFloat, x.rank() == 2 ? std::vector<int64_t>{rows, columns}
                                                          : std::vector<int64_t>{columns});
  if (!out.ok()) return out.status();
  const int64_t levels = std::min<int64_t>(max_gram, static_cast<int64_t>(counts.size()));
  // Distances beyond the row length only ever form unigrams.
  const int64_t max_distance = max_skip >= length ? std::max<int64_t>(length, 1) : max_skip + 1;
  // Skip-grams pair every token with those within max_distance: refuse
  // the cases whose count would run for minutes rather than loop.
  const double work = static_cast<double>(rows) * static_cast<double>(length) *
                      static_cast<double>(max_distance) * static_cast<double>(levels);
  if (work > kMaxWork) {
    return ctx.Unsupported("counting " + std::to_string(rows) + " rows of " +
                           std::to_string(length) + " tokens with max_skip_count " +
                           std::to_string(max_skip) + " exceeds pq's limit");
  }
  float* y = out->data<float>();
  std::vector<int64_t> gram;
  for (int64_t r = 0; r < rows && columns > 0; ++r) {
    float* row_out = y + r * columns;
    const int64_t base = r * length;
    for (int64_t d = 1; d <= max_distance; ++d) {
      for (int64_t start = 0; start < length; ++start) {
        gram.clear();
        for (int64_t n = 1; n <= levels; ++n) {
          const int64_t at = start + (n - 1) * d;
          if (at >= length) break;
          gram.push_back(TokenAt(x, base + at));
          if (n < min_gram || (n == 1 && d > 1)) continue;
          auto it = grams.find(gram);
          if (it != grams.end()) row_out[it->second] += 1;
        }
      }
    }
    for (int64_t c = 0; c < columns; ++c) {
      const float w = weights.empty() ? 1.0f : weights[static_cast<size_t>(c)];
      if (mode == "IDF") row_out[c] = row_out[c] > 0 ? w : 0;
      else if (mode == "TFIDF") row_out[c] *= w;
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& TfIdfVectorizerKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"TfIdfVectorizer", "", 9, 0, TfIdfVectorizer},
  };
  return kKernels;
}

}  // namespace pq::exec
