#include "validate/labels.h"

#include "pq/data_type.h"
#include "pq/npy.h"
#include "pq/tensor.h"
#include "validate/tensor_values.h"

namespace pq::validate {

Result<std::vector<int64_t>> LoadLabels(const std::string& path, int64_t samples) {
  Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
  if (!file.ok()) return file.status();
  const NpyHeader& header = file.value()->header();
  const std::vector<int64_t>& shape = header.shape;
  const bool column = shape.size() == 2 && shape[1] == 1;
  if (shape.size() != 1 && !column) {
    return Status::InvalidInput(path + ": labels must have shape [samples] (one class index per "
                                "sample), got " + ShapeToString(shape));
  }
  if (shape[0] != samples) {
    return Status::InvalidInput(path + ": " + std::to_string(shape[0]) + " labels for " +
                                std::to_string(samples) + " samples of data");
  }
  Result<Tensor> rows = file.value()->Rows(0, shape[0]);
  if (!rows.ok()) return rows.status();
  const Tensor& t = rows.value();
  const int32_t type = t.dtype();
  if (type != kInt64 && type != kInt32 && type != kInt8 && type != kUint8) {
    return Status::InvalidInput(path + ": labels must be integer class indices (int8, uint8, "
                                "int32 or int64), got " +
                                DataTypeName(header.dtype));
  }
  std::vector<int64_t> labels = *ConvertElements<int64_t>(t);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return Status::InvalidInput(path + ": label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is negative");
    }
  }
  return labels;
}

}  // namespace pq::validate
