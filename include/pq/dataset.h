// Dataset: samples for a model's inputs, read from the files users' Python
// pipelines write: .npy (single-input models; axis 0 is the sample axis),
// .npz (arrays keyed by input name), folders of .npy/.npz files (sorted by
// name), and ONNX's test-data layout (test_data_set_*/input_*.pb, one sample
// per set). Shapes and dtypes are checked against the model's inputs when the
// dataset is opened, before anything runs.
#ifndef PQ_DATASET_H_
#define PQ_DATASET_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

// One file (or test-data set) the samples come from.
struct DatasetFile {
  std::string path;
  int64_t samples = 0;
};

class Dataset {
 public:
  ~Dataset();

  // Opens `paths` in order for a model whose inputs are `inputs`.
  // Errors (kInvalidInput): unreadable or hostile files, a missing input, a
  // dtype or shape that does not fit the input (naming file, array, expected
  // and actual), arrays of one .npz with different sample counts, no samples.
  static Result<std::unique_ptr<Dataset>> Open(const std::vector<std::string>& paths,
                                               const std::vector<TensorInfo>& inputs);

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
