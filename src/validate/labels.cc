#include "validate/labels.h"

#include <fstream>

#include "pq/data_type.h"
#include "pq/npy.h"
#include "pq/tensor.h"
#include "validate/tensor_values.h"

namespace pq::validate {

Result<std::vector<int64_t>> LoadLabels(const std::string& path, int64_t samples, const std::string& noun) {
  Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(path);
  if (!file.ok()) return file.status();
  const NpyHeader& header = file.value()->header();
  const std::vector<int64_t>& shape = header.shape;
  const bool column = shape.size() == 2 && shape[1] == 1;
  if (shape.size() != 1 && !column) {
    return Status::InvalidInput(path + ": " + noun + " must have shape [samples] (one integer per "
                                "sample), got " + ShapeToString(shape));
  }
  if (shape[0] != samples) {
    return Status::InvalidInput(path + ": " + std::to_string(shape[0]) + " " + noun + " for " +
                                std::to_string(samples) + " samples of data");
  }
  Result<Tensor> rows = file.value()->Rows(0, shape[0]);
  if (!rows.ok()) return rows.status();
  const Tensor& t = rows.value();
  const int32_t type = t.dtype();
  if (type != kInt64 && type != kInt32 && type != kInt8 && type != kUint8) {
    return Status::InvalidInput(path + ": " + noun + " must be integers (int8, uint8, "
                                "int32 or int64), got " +
                                DataTypeName(header.dtype));
  }
  std::vector<int64_t> labels = *ConvertElements<int64_t>(t);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return Status::InvalidInput(path + ": " + noun + " value " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is negative");
    }
  }
  return labels;
}

Result<std::vector<std::string>> LoadGroupNames(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidInput(path + ": cannot be read");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
  }
  return names;
}

}  // namespace pq::validate
