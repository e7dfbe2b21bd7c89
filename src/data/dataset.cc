#include "pq/dataset.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "data/source.h"
#include "data/token_source.h"
#include "pq/data_type.h"
#include "pq/language_model.h"
#include "pq/npy.h"
#include "pq/npz.h"
#include "pq/tensor_proto_io.h"

namespace pq {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> SortedEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() && a.rfind("input_", 0) == 0 && b.rfind("input_", 0) == 0
               ? a.size() < b.size()
               : a < b;
  });
  return names;
}

std::string DimsText(const TensorInfo& info) {
  std::string out = "[";
  for (size_t d = 0; d < info.dims.size(); ++d) {
    out += (d ? ", " : "") + (info.dims[d] >= 0 ? std::to_string(info.dims[d])
                                                : (info.dim_names[d].empty() ? "?" : info.dim_names[d]));
  }
  return out + "]";
}

// How an array maps onto a model input: `per_sample_rank` is the input's
// rank; when the array has one more dim, each row is a whole feed.
struct ArrayLayout {
  bool row_is_feed = false;  // array rank = input rank + 1
};

// Checks an array's dtype and per-feed shape against the model input.
Status CheckArray(const std::string& what, int32_t stored_dtype, const std::vector<int64_t>& shape,
                  const TensorInfo& info, ArrayLayout* layout) {
  const int32_t dtype = ExecutorFeedType(stored_dtype);
  if (info.dtype != 0 && dtype != ExecutorFeedType(info.dtype)) {
    return Status::InvalidInput(what + " is " + DataTypeName(stored_dtype) + ", input '" +
                                info.name + "' needs " + DataTypeName(info.dtype));
  }
  if (!info.has_shape) return Status::OK();
  const size_t rank = info.dims.size();
  std::vector<int64_t> feed;
  if (shape.size() == rank) {
    feed = shape;
    if (!feed.empty()) feed[0] = 1;
  } else if (shape.size() == rank + 1) {
    layout->row_is_feed = true;
    feed.assign(shape.begin() + 1, shape.end());
  } else {
    return Status::InvalidInput(what + " has shape " + ShapeToString(shape) + "; input '" +
                                info.name + "' has shape " + DimsText(info) +
                                " (the array needs a leading sample axis)");
  }
  for (size_t d = 0; d < rank; ++d) {
    const bool batch_axis = d == 0 && !layout->row_is_feed;
    if (info.dims[d] >= 0 && !batch_axis && info.dims[d] != feed[d]) {
      return Status::InvalidInput(what + " has shape " + ShapeToString(shape) +
                                  "; each sample must fit input '" + info.name + "' " +
                                  DimsText(info));
    }
  }
  return Status::OK();
}

class NpySource : public Dataset::Source {
 public:
  static Result<std::unique_ptr<Dataset::Source>> Open(const std::string& path,
                                                       const std::vector<TensorInfo>& inputs) {
    if (inputs.size() != 1) {
      return Status::InvalidInput(path + ": an .npy file feeds a single-input model, this one has " +
                                  std::to_string(inputs.size()) + " inputs (use .npz)");
    }
    Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
    if (!file.ok()) return file.status();
    auto source = std::unique_ptr<NpySource>(new NpySource());
    const NpyHeader& h = file.value()->header();
    PQ_RETURN_IF_ERROR(CheckArray(path, h.dtype, h.shape, inputs[0], &source->layout_));
    source->file_ = std::move(file).value();
    source->samples_ = h.shape.empty() ? 1 : h.shape[0];
    return std::unique_ptr<Dataset::Source>(std::move(source));
  }
  int64_t samples() const override { return samples_; }
  Result<Tensor> Sample(size_t, int64_t index) const override {
    Result<Tensor> rows = file_->Rows(index, 1);
    if (!rows.ok() || !layout_.row_is_feed) return rows;
    std::vector<int64_t> shape(rows->shape().begin() + 1, rows->shape().end());
    return rows->Reshaped(shape);
  }

 private:
  std::unique_ptr<NpyFile> file_;
  ArrayLayout layout_;
  int64_t samples_ = 0;
};

class NpzSource : public Dataset::Source {
 public:
  static Result<std::unique_ptr<Dataset::Source>> Open(const std::string& path,
                                                       const std::vector<TensorInfo>& inputs) {
    Result<std::unique_ptr<NpzFile>> file = NpzFile::Open(path);
    if (!file.ok()) return file.status();
    auto source = std::unique_ptr<NpzSource>(new NpzSource());
    source->layouts_.resize(inputs.size());
    int64_t samples = -1;
    std::string first_name;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const std::vector<std::string>& names = file.value()->names();
      if (std::find(names.begin(), names.end(), inputs[k].name) == names.end()) {
        return Status::InvalidInput(path + ": no array for input '" + inputs[k].name +
                                    "' (arrays must be keyed by input name)");
      }
      Result<const NpyHeader*> h = file.value()->Load(inputs[k].name);
      if (!h.ok()) return h.status();
      const std::string what = path + ": array '" + inputs[k].name + "'";
      PQ_RETURN_IF_ERROR(CheckArray(what, h.value()->dtype, h.value()->shape, inputs[k],
                                    &source->layouts_[k]));
      const int64_t n = h.value()->shape.empty() ? 1 : h.value()->shape[0];
      if (samples >= 0 && n != samples) {
        return Status::InvalidInput(path + ": array '" + inputs[k].name + "' has " +
                                    std::to_string(n) + " samples, array '" + first_name +
                                    "' has " + std::to_string(samples));
      }
      samples = n;
      first_name = inputs[k].name;
    }
    source->samples_ = std::max<int64_t>(samples, 0);
    source->names_.reserve(inputs.size());
    for (const auto& info : inputs) source->names_.push_back(info.name);
    source->file_ = std::move(file).value();
    return std::unique_ptr<Dataset::Source>(std::move(source));
  }
  int64_t samples() const override { return samples_; }
  Result<Tensor> Sample(size_t input, int64_t index) const override {
    Result<Tensor> rows = file_->Rows(names_[input], index, 1);
    if (!rows.ok() || !layouts_[input].row_is_feed) return rows;
    std::vector<int64_t> shape(rows->shape().begin() + 1, rows->shape().end());
    return rows->Reshaped(shape);
  }

 private:
  std::unique_ptr<NpzFile> file_;
  std::vector<std::string> names_;
  std::vector<ArrayLayout> layouts_;
  int64_t samples_ = 0;
};

// test_data_set_N/input_K.pb: one sample per set, tensors fed as they are.
class TestDataSource : public Dataset::Source {
 public:
  static Result<std::unique_ptr<Dataset::Source>> Open(const std::string& dir,
                                                       const std::vector<TensorInfo>& inputs) {
    auto source = std::unique_ptr<TestDataSource>(new TestDataSource());
    std::vector<std::string> files;
    for (const std::string& name : SortedEntries(dir)) {
      if (name.rfind("input_", 0) == 0 && EndsWith(name, ".pb")) files.push_back(dir + "/" + name);
    }
    if (files.size() != inputs.size()) {
      return Status::InvalidInput(dir + ": holds " + std::to_string(files.size()) +
                                  " input_*.pb files, the model has " +
                                  std::to_string(inputs.size()) + " inputs");
    }
    source->tensors_.resize(inputs.size());
    for (size_t i = 0; i < files.size(); ++i) {
      std::string name;
      Result<Tensor> t = ReadTensorProtoFile(files[i], &name);
      if (!t.ok()) return t.status();
      size_t k = i;
      if (!name.empty()) {
        auto it = std::find_if(inputs.begin(), inputs.end(),
                               [&](const TensorInfo& info) { return info.name == name; });
        if (it == inputs.end()) {
          return Status::InvalidInput(files[i] + ": tensor '" + name + "' is not a model input");
        }
        k = static_cast<size_t>(it - inputs.begin());
      }
      ArrayLayout layout;
      PQ_RETURN_IF_ERROR(CheckArray(files[i], t->dtype(), t->shape(), inputs[k], &layout));
      if (layout.row_is_feed) {
        return Status::InvalidInput(files[i] + ": has one dim more than input '" + inputs[k].name + "'");
      }
      source->tensors_[k] = std::move(t).value();
    }
    return std::unique_ptr<Dataset::Source>(std::move(source));
  }
  int64_t samples() const override { return 1; }
  Result<Tensor> Sample(size_t input, int64_t) const override { return tensors_[input]; }

 private:
  std::vector<Tensor> tensors_;
};

// What AddPath needs besides the path.
struct OpenContext {
  const std::vector<TensorInfo>& inputs;
  const std::optional<DecoderLayout>& decoder;
  const TokenDataOptions& tokens;
};

bool NpzHoldsEveryInput(const std::string& path, const std::vector<TensorInfo>& inputs) {
  Result<std::unique_ptr<NpzFile>> file = NpzFile::Open(path);
  if (!file.ok()) return true;  // NpzSource reports the error
  const std::vector<std::string>& names = file.value()->names();
  return std::all_of(inputs.begin(), inputs.end(), [&](const TensorInfo& in) {
    return std::find(names.begin(), names.end(), in.name) != names.end();
  });
}

// Token data for a decoder: .npy ids, an .npz without every input, .txt.
// Returns nullopt for data that is not token data.
std::optional<Result<data::TokenRows>> ReadTokens(const std::string& path, const OpenContext& ctx) {
  const int64_t vocab = ctx.decoder ? ctx.decoder->vocab_size : 0;
  const int64_t context = ctx.tokens.context;
  if (EndsWith(path, ".txt")) {
    if (!ctx.decoder) {
      return Result<data::TokenRows>(Status::InvalidInput(
          path + ": text data feeds a decoder model with an input 'input_ids'; this model has none"));
    }
    return data::ReadTokenText(path, ctx.tokens.tokenizer, context, vocab);
  }
  if (!ctx.decoder) return std::nullopt;
  if (EndsWith(path, ".npy")) return data::ReadTokenArray(path, "", context, vocab);
  if (EndsWith(path, ".npz") && !NpzHoldsEveryInput(path, ctx.inputs)) {
    return data::ReadTokenArray(path, ctx.decoder->token_input, context, vocab);
  }
  return std::nullopt;
}

Status AddPath(const std::string& path, const OpenContext& ctx,
               std::vector<std::unique_ptr<Dataset::Source>>* sources,
               std::vector<DatasetFile>* files) {
  const std::vector<TensorInfo>& inputs = ctx.inputs;
  auto add = [&](Result<std::unique_ptr<Dataset::Source>> source, const std::string& p) -> Status {
    if (!source.ok()) return source.status();
    files->push_back({p, source.value()->samples(), std::nullopt});
    sources->push_back(std::move(source).value());
    return Status::OK();
  };
  auto add_file = [&](const std::string& p) -> Status {
    if (std::optional<Result<data::TokenRows>> tokens = ReadTokens(p, ctx)) {
      if (!tokens->ok()) return tokens->status();
      if (!ctx.decoder->CanFeedFromTokens()) {
        std::string list;
        for (const std::string& n : ctx.decoder->unknown_inputs) list += (list.empty() ? "'" : ", '") + n + "'";
        return Status::InvalidInput(p + ": token ids cannot feed input " + list +
                                    " (pq builds attention_mask, position_ids and past_*); give "
                                    "an .npz with an array for every input");
      }
      TokenFileInfo info;
      info.window = tokens->value().length;
      info.dropped_tokens = tokens->value().dropped;
      if (EndsWith(p, ".txt")) info.tokenizer = ctx.tokens.tokenizer;
      PQ_RETURN_IF_ERROR(add(data::MakeTokenSource(*ctx.decoder, std::move(tokens->value())), p));
      files->back().tokens = std::move(info);
      return Status::OK();
    }
    if (EndsWith(p, ".npz")) return add(NpzSource::Open(p, inputs), p);
    return add(NpySource::Open(p, inputs), p);
  };
  auto is_data_file = [](const std::string& name) {
    return EndsWith(name, ".npy") || EndsWith(name, ".npz") || EndsWith(name, ".txt");
  };
  if (IsDirectory(path)) {
    std::vector<std::string> entries = SortedEntries(path);
    bool test_layout = false;
    for (const std::string& e : entries) test_layout |= e.rfind("test_data_set_", 0) == 0;
    bool any = false;
    for (const std::string& e : entries) {
      const std::string child = path + "/" + e;
      if (test_layout) {
        if (e.rfind("test_data_set_", 0) != 0 || !IsDirectory(child)) continue;
        PQ_RETURN_IF_ERROR(add(TestDataSource::Open(child, inputs), child));
      } else if (is_data_file(e) && (ctx.decoder || !EndsWith(e, ".txt"))) {
        PQ_RETURN_IF_ERROR(add_file(child));
      } else {
        continue;
      }
      any = true;
    }
    if (!any) {
      return Status::InvalidInput(path + ": holds no .npy, .npz or test_data_set_* data");
    }
    return Status::OK();
  }
  if (is_data_file(path)) return add_file(path);
  if (EndsWith(path, ".pb")) {
    return Status::InvalidInput(path + ": give the test_data_set_* folder, not a single .pb file");
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::InvalidInput(path + ": does not exist");
  return Status::InvalidInput(path + ": not .npy, .npz, .txt or a folder of them");
}

}  // namespace

Dataset::~Dataset() = default;

Result<std::unique_ptr<Dataset>> Dataset::Open(const std::vector<std::string>& paths,
                                               const std::vector<TensorInfo>& inputs,
                                               const DatasetOptions& options) {
  if (paths.empty()) return Status::InvalidArgument("no data given");
  auto dataset = std::unique_ptr<Dataset>(new Dataset());
  dataset->inputs_ = inputs;
  const std::optional<DecoderLayout> decoder = RecognizeDecoder(inputs, options.outputs);
  const OpenContext ctx{inputs, decoder, options.tokens};
  for (const std::string& path : paths) {
    PQ_RETURN_IF_ERROR(AddPath(path, ctx, &dataset->sources_, &dataset->files_));
  }
  for (const auto& source : dataset->sources_) {
    dataset->starts_.push_back(dataset->total_);
    dataset->total_ += source->samples();
  }
  if (dataset->total_ == 0) return Status::InvalidInput(paths[0] + ": holds no samples");
  return dataset;
}

Result<std::map<std::string, Tensor>> Dataset::Batch(int64_t first, int64_t count) const {
  if (first < 0 || count <= 0 || first + count > total_) {
    return Status::InvalidArgument("samples " + std::to_string(first) + "+" + std::to_string(count) +
                                   " are outside the " + std::to_string(total_) + " available");
  }
  std::map<std::string, Tensor> feeds;
  for (size_t k = 0; k < inputs_.size(); ++k) {
    std::vector<Tensor> parts;
    for (int64_t i = first; i < first + count; ++i) {
      const size_t s = static_cast<size_t>(
          std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin() - 1);
      Result<Tensor> t = sources_[s]->Sample(k, i - starts_[s]);
      if (!t.ok()) return t.status();
      parts.push_back(std::move(t).value());
    }
    Result<Tensor> feed = parts.size() == 1 ? Result<Tensor>(parts[0])
                                            : ConcatenateRows(parts, "input '" + inputs_[k].name + "'");
    if (!feed.ok()) return feed.status();
    const TensorInfo& info = inputs_[k];
    if (info.has_shape && !info.dims.empty() && info.dims[0] >= 0 && feed->rank() > 0 &&
        feed->dim(0) != info.dims[0]) {
      return Status::InvalidInput("input '" + info.name + "' has a fixed first dim " +
                                  std::to_string(info.dims[0]) + "; a batch of " +
                                  std::to_string(count) + " samples gives " +
                                  std::to_string(feed->dim(0)));
    }
    feeds[info.name] = std::move(feed).value();
  }
  return feeds;
}

Result<Tensor> ConcatenateRows(const std::vector<Tensor>& parts, const std::string& what) {
  if (parts.empty()) return Status::Internal(what + ": nothing to concatenate");
  std::vector<int64_t> shape = parts[0].shape();
  if (shape.empty()) return Status::InvalidInput(what + ": scalars cannot be concatenated");
  int64_t rows = 0;
  for (const Tensor& p : parts) {
    if (p.dtype() != parts[0].dtype() || p.rank() != parts[0].rank() ||
        !std::equal(p.shape().begin() + 1, p.shape().end(), shape.begin() + 1)) {
      return Status::InvalidInput(what + ": samples of shapes " + ShapeToString(parts[0].shape()) +
                                  " and " + ShapeToString(p.shape()) + " cannot be batched");
    }
    rows += p.dim(0);
  }
  shape[0] = rows;
  Result<Tensor> out = Tensor::Allocate(parts[0].dtype(), shape);
  if (!out.ok()) return out.status().WithPrefix(what);
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (const Tensor& p : parts) {
    if (p.byte_size() == 0) continue;  // e.g. an empty past [1, heads, 0, head_dim]
    std::memcpy(dst, p.raw(), static_cast<size_t>(p.byte_size()));
    dst += p.byte_size();
  }
  return out;
}

}  // namespace pq
