// The audit report of a GGUF export: the same top-level facts as the ONNX
// report (tool, command, input model, calibration data) plus the decoder's
// hyper-parameters, the tokenizer, every tensor written (ggml type, why a
// fallback, blocks, bytes, sha256, error, block scales digested) and every
// ONNX constant that was not carried over, with why.
//
// The report cannot hold the GGUF file's own sha256: the GGUF file holds the
// report's (pq.report.sha256). It holds the sha256 of every tensor's bytes
// instead, which pins all of the file but its metadata.
#ifndef PQ_GGUF_GGUF_REPORT_H_
#define PQ_GGUF_GGUF_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf_schemes.h"
#include "gguf/llama_graph.h"
#include "gguf/tokenizer_meta.h"
#include "gguf/weight_encoder.h"
#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/status.h"

namespace pq::gguf {

struct GgufReportInputs {
  std::vector<std::string> argv;
  const Model* model = nullptr;
  std::map<std::string, std::string> known_sha256;  // path -> digest already computed
  std::string output_path;
  const GgufSchemeEntry* scheme = nullptr;
  const LlamaHyperParams* hparams = nullptr;
  int64_t context_length = 0;
  std::string context_length_source;  // "position table" or "--context-length"
  const TokenizerMeta* tokenizer = nullptr;
  // Calibration data read for the importance matrix (empty: none).
  std::vector<DatasetFile> calibration_files;
  int64_t calibration_samples = 0;
  int64_t calibration_batch = 0;
  const std::vector<EncodedTensorRecord>* tensors = nullptr;
  // ONNX constants not written, each with why.
  std::vector<std::pair<std::string, std::string>> skipped;
  std::vector<std::string> warnings;  // as the job told them
};

// Errors: files that cannot be hashed.
Result<nlohmann::ordered_json> BuildGgufReport(const GgufReportInputs& in);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGUF_REPORT_H_
