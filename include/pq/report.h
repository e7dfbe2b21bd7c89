// The audit report: one JSON document beside every quantized model, built
// from the same records the quantizer wrote into the model. Keys come in a
// fixed order; docs/report.schema.json describes it (schema_version).
#ifndef PQ_REPORT_H_
#define PQ_REPORT_H_

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"

namespace pq {

// The report's schema version; bumped whenever its meaning changes.
inline constexpr const char* kReportSchemaVersion = "1.0";

struct ReportInputs {
  std::vector<std::string> argv;          // the command as given
  const Model* input_model = nullptr;
  const SaveResult* output = nullptr;     // where the quantized model went
  const QuantizeOptions* options = nullptr;
  std::string report_path;
  // Scale and zero-point arrays longer than this many values are replaced
  // by their count, extremes and SHA-256 (of the values as little-endian
  // float32 for scales and int64 for zero points), so huge models get small
  // reports that stay verifiable against the model: kReportAutoArrayLimit
  // ("auto", the default: per-channel arrays in full, 4-bit block scales of
  // big weights digested), kReportSummaryArrayLimit ("summary") or SIZE_MAX
  // ("full").
  size_t array_limit = SIZE_MAX;
  // SHA-256 digests already computed (path -> hex), e.g. of the input files
  // hashed while quantization ran (see BackgroundHasher); files not
  // listed are hashed when the report is built.
  std::map<std::string, std::string> known_sha256;
};

// The input model's file and its external data files, in report order.
std::vector<std::string> InputFiles(const Model& model);

// Hashes files on a background thread while the caller works (the input
// model can be gigabytes). Destroying it before Wait() stops the hashing
// within one 1 MiB read, so a command that fails early does not wait for it.
class BackgroundHasher {
 public:
  explicit BackgroundHasher(std::vector<std::string> paths);
  ~BackgroundHasher();
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;

  // Waits for the hashing; maps each path to its digest, or holds the first
  // error. Call at most once.
  Result<std::map<std::string, std::string>> Wait();

 private:
  std::atomic<bool> cancel_{false};
  std::future<Result<std::map<std::string, std::string>>> result_;
};

inline constexpr size_t kReportSummaryArrayLimit = 16;
inline constexpr size_t kReportAutoArrayLimit = 4096;
// The --report-detail word for an array limit ("full", "auto", "summary").
const char* ReportDetailName(size_t array_limit);

// Builds the report. created_at comes from SOURCE_DATE_EPOCH when set (for
// reproducible reports), else the current UTC time. Errors: files that
// cannot be hashed.
Result<nlohmann::ordered_json> BuildReport(const ReportInputs& inputs, const QuantizeOutcome& outcome);

// Writes `report` to `path` atomically (2-space indented, trailing newline).
// Errors: kOutputError (exists without `force`, unwritable).
Status WriteReport(const nlohmann::ordered_json& report, const std::string& path, bool force);

// Writes `text` to `path` atomically. Errors: kOutputError (exists without
// `force`, unwritable).
Status WriteTextFile(const std::string& text, const std::string& path, bool force);

}  // namespace pq

#endif  // PQ_REPORT_H_
