// Pieces of the audit report shared by the ONNX report (report.cc) and the
// GGUF report (gguf/gguf_report.cc), so both describe inputs, calibration
// data and time the same way.
#ifndef PQ_REPORT_REPORT_PARTS_H_
#define PQ_REPORT_REPORT_PARTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/status.h"

namespace pq {

// created_at: SOURCE_DATE_EPOCH when set (reproducible reports), else now,
// as "YYYY-MM-DDTHH:MM:SSZ".
std::string UtcTimestamp();

// The size of `path` in bytes, 0 when it cannot be read.
int64_t FileBytes(const std::string& path);

// The digest of `path`: from `known` when listed there, else computed.
Result<std::string> Sha256Of(const std::string& path, const std::map<std::string, std::string>& known);

// path, sha256, bytes, ir_version, opsets, producer and external data of a
// model file; adds the bytes of the file and its data files to *total_bytes.
Result<nlohmann::ordered_json> ModelFacts(const Model& model, const std::string& path,
                                          const std::vector<std::string>& data_files,
                                          const std::map<std::string, std::string>& known_sha256,
                                          int64_t* total_bytes);

// {files: [{path, samples, sha256, tokens}], samples_used, batch}, or null
// when `used` is empty. Errors: a data file that cannot be hashed.
Result<nlohmann::ordered_json> CalibrationFilesJson(const std::vector<DatasetFile>& used, int64_t samples,
                                                    int64_t batch);

// The command as given, less --threads N (the thread count never changes a
// result; leaving it out keeps reports of the same work byte-identical).
std::vector<std::string> ReportCommand(const std::vector<std::string>& argv);

}  // namespace pq

#endif  // PQ_REPORT_REPORT_PARTS_H_
