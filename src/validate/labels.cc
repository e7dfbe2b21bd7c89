#include "validate/labels.h"

#include "pq/data_type.h"
#include "pq/npy.h"
#include "pq/tensor.h"

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
  std::vector<int64_t> labels(static_cast<size_t>(t.size()));
  auto copy = [&](const auto* p) {
    for (int64_t i = 0; i < t.size(); ++i) labels[static_cast<size_t>(i)] = static_cast<int64_t>(p[i]);
  };
  switch (t.dtype()) {
    case kInt64: copy(t.data<int64_t>()); break;
    case kInt32: copy(t.data<int32_t>()); break;
    case kInt8: copy(t.data<int8_t>()); break;
    case kUint8: copy(t.data<uint8_t>()); break;
    default:
      return Status::InvalidInput(path + ": labels must be integer class indices (int8, uint8, "
                                  "int32 or int64), got " +
                                  DataTypeName(header.dtype));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return Status::InvalidInput(path + ": label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is negative");
    }
  }
  return labels;
}

}  // namespace pq::validate
