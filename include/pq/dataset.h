// Dataset: samples for a model's inputs, read from the files users' Python
// pipelines write: .npy (single-input models; axis 0 is the sample axis),
// .npz (arrays keyed by input name), folders of .npy/.npz files (sorted by
// name), and ONNX's test-data layout (test_data_set_*/input_*.pb, one sample
// per set). Shapes and dtypes are checked against the model's inputs when the
// dataset is opened, before anything runs.
//
// For decoder language models (pq/language_model.h) the samples may be token
// ids instead: an int32/int64 .npy of shape [N, T] (or an .npz holding only
// `input_ids`), or a UTF-8 .txt file with a SentencePiece tokenizer. Each row
// is one sample; pq builds the attention mask, positions and empty past.
#ifndef PQ_DATASET_H_
#define PQ_DATASET_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

// How a file of token ids (or text) became samples.
struct TokenFileInfo {
  int64_t window = 0;          // tokens per sample
  int64_t dropped_tokens = 0;  // tails that filled no window
  std::string tokenizer;       // the SentencePiece model of a .txt file
};

// One file (or test-data set) the samples come from.
struct DatasetFile {
  std::string path;
  int64_t samples = 0;
  std::optional<TokenFileInfo> tokens;  // token data for a decoder
};

// How token-id data becomes samples.
struct TokenDataOptions {
  // Rows longer than this are cut into windows of `context` tokens (a tail
  // that fills no window is dropped); 0 = rows as stored, and 128 for text.
  int64_t context = 0;
  // SentencePiece model for .txt data ("" = text data is refused).
  std::string tokenizer;
};

struct DatasetOptions {
  // The model's graph outputs: a decoder's logits give the vocabulary size
  // token ids are checked against.
  std::vector<TensorInfo> outputs;
  TokenDataOptions tokens;
};

class Dataset {
 public:
  ~Dataset();

  // Opens `paths` in order for a model whose inputs are `inputs`.
  // Errors (kInvalidInput): unreadable or hostile files, a missing input, a
  // dtype or shape that does not fit the input (naming file, array, expected
  // and actual), arrays of one .npz with different sample counts, no samples;
  // for token data also an id outside [0, vocabulary) (naming file, row and
  // position), rows shorter than 2 tokens, inputs pq cannot build from tokens.
  static Result<std::unique_ptr<Dataset>> Open(const std::vector<std::string>& paths,
                                               const std::vector<TensorInfo>& inputs,
                                               const DatasetOptions& options = {});

  int64_t num_samples() const { return total_; }
  const std::vector<DatasetFile>& files() const { return files_; }

  // Returns the feeds for samples [first, first + count), concatenated along
  // each input's first axis. Errors: a model whose first input dim is fixed
  // and does not fit `count` samples.
  Result<std::map<std::string, Tensor>> Batch(int64_t first, int64_t count) const;

  struct Source;  // one file's samples (implementation detail)

 private:
  Dataset() = default;
  std::vector<TensorInfo> inputs_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<int64_t> starts_;  // first sample index of each source
  std::vector<DatasetFile> files_;
  int64_t total_ = 0;
};

// Concatenates tensors of one dtype along axis 0. REQUIRES: same trailing
// dims. Errors when they differ.
Result<Tensor> ConcatenateRows(const std::vector<Tensor>& parts, const std::string& what);

}  // namespace pq

#endif  // PQ_DATASET_H_
