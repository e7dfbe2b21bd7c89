// pq quantize MODEL -o OUT.gguf --scheme gguf-*: see quantize_gguf.h.
#include "quantize_gguf.h"

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "pq/gguf_job.h"

namespace pq::cli {

int RunGgufQuantize(const QuantizeJob& flags, int64_t context_length, bool json,
                    const QuantizeJobEvents& events) {
  const QuantizeOptions& q = flags.quantize;
  if (!flags.validation.paths.empty() || flags.auto_fallback || !flags.junit_path.empty() ||
      flags.external_data || !flags.calib_stats_path.empty()) {
    return Fail(Status::InvalidArgument(
        "--validate, --auto-fallback, --junit, --external-data and --calib-stats apply to ONNX outputs; a "
        "GGUF file is validated by running it in llama.cpp"));
  }
  if (q.equalize || q.bias_correction) {
    return Fail(Status::InvalidArgument(std::string(q.equalize ? "--equalize" : "--bias-correction") +
                                        " rewrites the weights or biases of an ONNX output; a GGUF export does not "
                                        "take it"));
  }
  const Status format = CheckGgufOutput(q.scheme, flags.output_path);
  if (!format.ok()) return Fail(format);
  const auto start = std::chrono::steady_clock::now();
  GgufJob job;
  job.model_path = flags.model_path;
  job.output_path = flags.output_path;
  job.report_path = flags.report_path;
  job.tokenizer_path = q.calib_tokens.tokenizer;
  job.quantize = q;
  job.context_length = context_length;
  job.force = flags.force;
  job.attestation_path = flags.attestation_path;
  job.argv = CommandLine();
  Result<GgufJobResult> result = RunGgufJob(job, events);
  if (!result.ok()) return Fail(result.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const GgufJobResult& r = result.value();
  if (json) {
    nlohmann::ordered_json doc;
    doc["model"] = r.gguf_path;
    doc["report"] = r.report_path;
    doc["format"] = "gguf";
    doc["scheme"] = q.scheme;
    doc["tensors"] = r.tensors;
    doc["fallbacks"] = r.fallbacks;
    doc["bytes_before"] = r.bytes_before;
    doc["bytes_after"] = r.gguf_bytes;
    doc["seconds"] = seconds;
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "model:  " << r.gguf_path << "\n";
    std::cout << "report: " << r.report_path << "\n";
    std::cout << "scheme " << q.scheme << ": " << r.tensors << " tensors (" << r.fallbacks << " in a fallback type); "
              << r.bytes_before << " -> " << r.gguf_bytes << " bytes\n";
  }
  return kExitOk;
}

}  // namespace pq::cli
