// ImportanceCollector: per-column activation energy of the inputs of weight
// matrices, gathered as an executor Observer, the statistic llama.cpp's
// importance matrix (imatrix) holds. For an activation A whose last dim has
// K values, it sums A[..., k]^2 over every row of every run (in double, rows
// in order, so the sums do not depend on threads) and counts the rows.
// Memory: K doubles per observed activation.
#ifndef PQ_GGUF_IMPORTANCE_COLLECTOR_H_
#define PQ_GGUF_IMPORTANCE_COLLECTOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pq/executor.h"
#include "pq/status.h"

namespace pq::gguf {

struct ColumnEnergy {
  int64_t rows = 0;
  std::vector<double> sum_squares;  // K values

  // The mean square per column, as the importance of each weight column
  // (rows > 0; all ones when no row was seen).
  std::vector<float> Importance() const;
};

class ImportanceCollector : public Observer {
 public:
  // `wanted`: activation name -> its K (the weight's columns).
  explicit ImportanceCollector(std::map<std::string, int64_t> wanted);
  void OnTensor(const std::string& name, const Tensor& value) override;
  // Errors (kInvalidInput, naming the activation): one never observed, or
  // observed with a dtype other than float or a last dim other than K.
  Result<std::map<std::string, ColumnEnergy>> Results() const;

 private:
  std::map<std::string, int64_t> wanted_;
  std::map<std::string, ColumnEnergy> sums_;
  std::map<std::string, std::string> problems_;
};

}  // namespace pq::gguf

#endif  // PQ_GGUF_IMPORTANCE_COLLECTOR_H_
