// QuantizeJob: what `pq quantize` does, as one library call. It loads the
// model, quantizes it (optionally validating it against the FP32 model, with
// auto-fallback), saves it, writes the JSON report beside it, and never leaves
// a model without its report: when the report cannot be written the model is
// removed again. A failed gate is not an error: the (best) model and its
// report are written and the result says which gates failed.
#ifndef PQ_QUANTIZE_JOB_H_
#define PQ_QUANTIZE_JOB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/report.h"
#include "pq/status.h"
#include "pq/validate.h"

namespace pq {

struct QuantizeJob {
  std::string model_path;
  std::string output_path;
  std::string report_path;  // "" = DefaultReportPath(output_path)
  QuantizeOptions quantize;
  bool force = false;          // overwrite an existing output and report
  bool external_data = false;  // weights in OUTPUT.data
  size_t report_array_limit = kReportAutoArrayLimit;
  // Validation against the FP32 model: none when validation.paths is empty.
  ValidationData validation;
  Gates gates;
  bool auto_fallback = false;  // REQUIRES validation and a gate
  // JUnit XML of the gates (GatesToJunit); "" = none. REQUIRES validation.
  std::string junit_path;
  // An in-toto provenance statement of the run (pq/attestation.h), written
  // after the model, report and JUnit file; "" = none.
  std::string attestation_path;
  // Write the model even when the scheme quantizes nothing (else that is an
  // error: a nightly job must not mistake an unchanged model for success).
  bool allow_unchanged = false;
  std::vector<std::string> argv;  // the command as given, for the report
  // A .pqcal file (`pq calibrate`) to take the activation statistics from
  // instead of running the model over quantize.calib_paths; "" = none. It
  // must have been made for this model file (same sha256).
  std::string calib_stats_path;
};

// What the job tells its caller while it runs; every member may be empty.
struct QuantizeJobEvents {
  std::function<void(int64_t done, int64_t total)> calibration_progress;
  std::function<void(const std::string& message)> info;  // transformations, fallback steps
  std::function<void(const std::string& message)> warn;  // model and quantizer warnings
};

struct QuantizeJobResult {
  SaveResult saved;
  std::string report_path;
  nlohmann::ordered_json report;  // as written
  int64_t nodes_quantized = 0;
  int64_t tensors_quantized = 0;
  int64_t skipped = 0;
  std::vector<GateResult> gates;  // empty without validation
  bool gates_passed = true;
};

// The report's default path: OUT with ".onnx" or ".gguf" replaced by
// ".report.json" (else OUT + ".report.json").
std::string DefaultReportPath(const std::string& output);

// Splits a comma-separated list, dropping spaces and empty items.
std::vector<std::string> SplitNameList(const std::string& list);

// Nodes of the requested op types that the scheme did not take (other than by
// --exclude-nodes / --exclude-op-types) are reported through events.warn, one
// line per reason.
// Errors: kInvalidInput when the scheme quantizes nothing and
// !allow_unchanged, naming why (the skipped nodes' reasons, or that the model
// has no weight of the requested op types); kInvalidArgument (gates, labels, JUnit or auto-fallback without
// validation data; auto-fallback without a gate; an accuracy gate without
// labels), kInvalidInput (a .pqcal that is unreadable, not one, made for
// another model, or without a tensor the plan calibrates), kOutputError (an
// output that is the input model, or exists without `force`; a model,
// report, JUnit file or attestation that cannot be written), and Quantize's, Compare's
// and the loader's errors. On an error no output is left behind.
Result<QuantizeJobResult> RunQuantizeJob(const QuantizeJob& job, const QuantizeJobEvents& events);

}  // namespace pq

#endif  // PQ_QUANTIZE_JOB_H_
