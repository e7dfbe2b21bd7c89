// Fuzz target: the .pqcal reader (ParseCalibrationStatistics) and what is
// done with what it accepts: the serialization round trip, a merge of two
// shards made from it, and every method's range from each tensor.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pq/calibration_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pq::Result<pq::CalibrationStatistics> stats = pq::ParseCalibrationStatistics(bytes, "fuzz.pqcal");
  if (!stats.ok()) return 0;
  // What the reader accepts, it must read back.
  const std::string again = pq::SerializeCalibrationStatistics(stats.value());
  if (!pq::ParseCalibrationStatistics(again, "again.pqcal").ok()) __builtin_trap();

  // Two shards of the same statistics merge.
  pq::CalibrationStatistics a = stats.value(), b = stats.value();
  a.shard_count = b.shard_count = 2;
  a.shards = {{1, 0}};
  b.shards = {{2, 0}};
  a.samples = b.samples = 0;
  if (!pq::MergeCalibrationStatistics({a, b}).ok()) __builtin_trap();

  for (const auto& [name, tensor] : stats->tensors) {
    for (const pq::CalibrationMethod& method : pq::CalibrationMethods()) {
      for (const pq::QuantGrid& grid : {pq::Int8SymmetricGrid(), pq::Uint8AsymmetricGrid()}) {
        pq::CalibrationOptions options;
        options.method = method.name;
        options.bins = stats->bins;
        options.grid = grid;
        (void)pq::RangeFromStatistics(tensor, options);
      }
    }
  }
  return 0;
}
