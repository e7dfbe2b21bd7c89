// GgufJob: what `pq quantize MODEL.onnx -o OUT.gguf --scheme gguf-*` does, as
// one library call. It recognizes a Llama-family decoder in the ONNX graph,
// reads its tokenizer, optionally runs the FP32 model over calibration token
// data to weigh each weight column by the energy of its input (an importance
// matrix, as llama.cpp's imatrix), encodes every weight in the scheme's ggml
// type (falling back, tensor by tensor, to a type that can hold rows whose
// length the type cannot), writes a GGUF file for llama.cpp's "llama"
// architecture and the JSON report beside it. Nothing is left behind on
// failure: the report is written first and removed again when the GGUF file
// cannot be written.
#ifndef PQ_GGUF_JOB_H_
#define PQ_GGUF_JOB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/quantize.h"
#include "pq/quantize_job.h"
#include "pq/status.h"

namespace pq {

// A GGUF scheme as `pq schemes` lists it.
struct GgufSchemeDescription {
  std::string name;      // "gguf-q4_k"
  std::string ggml_type; // "q4_k"
  std::string summary;
  bool uses_calibration = false;  // --calib weighs the rounding (importance)
};
std::vector<GgufSchemeDescription> GgufSchemes();
bool IsGgufScheme(const std::string& name);
// Whether `path` names a GGUF output (ends in ".gguf", any case).
bool IsGgufPath(const std::string& path);
// Errors (kInvalidArgument) when the scheme and the output's format
// disagree: a gguf-* scheme with an output not ending in .gguf, or a .gguf
// output with a scheme that writes ONNX. OK otherwise.
Status CheckGgufOutput(const std::string& scheme, const std::string& output);

struct GgufJob {
  std::string model_path;
  std::string output_path;
  std::string report_path;  // "" = OUT with ".gguf" replaced by ".report.json"
  std::string tokenizer_path;  // SentencePiece .model or tokenizer.json (required)
  // scheme (a GgufSchemes() name), calib_paths/calib_samples/calib_batch/
  // calib_tokens (token data for the importance matrix; none = plain
  // rounding) and threads are read; the other members are ignored.
  QuantizeOptions quantize;
  // The context length written when the graph has no rotary position table
  // (0 = take it from the table; required when there is none).
  int64_t context_length = 0;
  bool force = false;
  std::vector<std::string> argv;  // the command as given, for the report
  // An in-toto provenance statement of the run (pq/attestation.h; its
  // subject is the .gguf), written after it; "" = none.
  std::string attestation_path;
};

// What the job tells its caller while it runs: the same events as a
// QuantizeJob's (calibration progress, info, warnings).
using GgufJobEvents = QuantizeJobEvents;

struct GgufJobResult {
  std::string gguf_path;
  int64_t gguf_bytes = 0;
  std::string report_path;
  nlohmann::ordered_json report;  // as written
  int64_t tensors = 0;
  int64_t fallbacks = 0;          // tensors written in another type than the scheme's
  int64_t bytes_before = 0;       // the weights as float32
};

// Errors: kInvalidArgument (not a GGUF scheme, no --tokenizer, no context
// length where the graph has no position table: naming --context-length),
// kNotSupported (a graph that is not a recognized Llama decoder, naming what
// was not found), kInvalidInput (a tokenizer whose vocabulary size differs
// from the embedding rows, unreadable inputs, calibration data that does not
// fit), kOutputError (outputs, the attestation among them, that exist
// without `force`, are an input, or cannot be written). On an error no output is left behind.
Result<GgufJobResult> RunGgufJob(const GgufJob& job, const GgufJobEvents& events);

}  // namespace pq

#endif  // PQ_GGUF_JOB_H_
