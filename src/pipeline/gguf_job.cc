#include "pq/gguf_job.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <set>

#include "gguf/gguf_file.h"
#include "gguf/gguf_metadata.h"
#include "gguf/gguf_report.h"
#include "gguf/gguf_schemes.h"
#include "gguf/importance_collector.h"
#include "gguf/llama_graph.h"
#include "gguf/tokenizer_meta.h"
#include "gguf/weight_encoder.h"
#include "pq/attestation.h"
#include "pq/quantize_job.h"
#include "pq/report.h"
#include "quant/calibrate_stage.h"
#include "report/report_parts.h"
#include "util/sha256.h"

namespace pq {
namespace {

using gguf::GgufSchemeEntry;

void Tell(const std::function<void(const std::string&)>& f, const std::string& message) {
  if (f) f(message);
}

// Per-column importance of every matrix input, from the calibration data.
struct Importance {
  std::map<std::string, gguf::ColumnEnergy> by_activation;
  quant::CalibrationPass pass;  // empty when no data was read
};

Result<Importance> CollectImportance(const Model& model, const gguf::LlamaDecoder& decoder,
                                     const QuantizeOptions& options,
                                     const std::function<void(int64_t, int64_t)>& progress) {
  std::map<std::string, int64_t> wanted;
  for (const gguf::LlamaWeight& w : decoder.weights) {
    if (!w.activation.empty() && w.shape.size() == 2) wanted[w.activation] = w.shape[1];
  }
  Result<quant::CalibrationRun> run = quant::OpenCalibrationRun(model, options);
  if (!run.ok()) return run.status();
  gguf::ImportanceCollector collector(wanted);
  Result<quant::CalibrationPass> pass = quant::ObserveCalibrationRun(run.value(), options, &collector, {}, progress);
  if (!pass.ok()) return pass.status();
  Result<std::map<std::string, gguf::ColumnEnergy>> sums = collector.Results();
  if (!sums.ok()) return sums.status();
  Importance out;
  out.by_activation = std::move(sums).value();
  out.pass = std::move(pass).value();
  return out;
}

// The ONNX constants no GGUF tensor was read from, with why.
std::vector<std::pair<std::string, std::string>> SkippedConstants(const Model& model,
                                                                  const gguf::LlamaDecoder& decoder) {
  std::set<std::string> used;
  for (const gguf::LlamaWeight& w : decoder.weights) used.insert(w.sources.begin(), w.sources.end());
  std::vector<std::pair<std::string, std::string>> skipped;
  for (const ConstantTensor& c : model.constants()) {
    if (used.count(c.name) != 0 || c.element_count <= 1) continue;
    skipped.emplace_back(c.name,
                         "not a weight of llama.cpp's llama architecture (graph plumbing such as shapes, "
                         "masks or rotary tables, which llama.cpp recomputes from the llama.* keys)");
  }
  return skipped;
}

std::string StemOf(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

std::vector<GgufSchemeDescription> GgufSchemes() {
  size_t count = 0;
  const GgufSchemeEntry* table = gguf::GgufSchemeTable(&count);
  std::vector<GgufSchemeDescription> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back({table[i].name, gguf::TraitsOf(table[i].type)->name, table[i].summary, table[i].uses_importance});
  }
  return out;
}

bool IsGgufScheme(const std::string& name) { return gguf::FindGgufScheme(name) != nullptr; }

bool IsGgufPath(const std::string& path) {
  const std::string suffix = ".gguf";
  if (path.size() <= suffix.size()) return false;
  std::string tail = path.substr(path.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
  return tail == suffix;
}

Status CheckGgufOutput(const std::string& scheme, const std::string& output) {
  if (IsGgufScheme(scheme) && !IsGgufPath(output)) {
    return Status::InvalidArgument("scheme " + scheme + " writes GGUF: the output '" + output + "' must end in .gguf");
  }
  if (IsGgufPath(output) && !IsGgufScheme(scheme)) {
    return Status::InvalidArgument("output '" + output + "' is GGUF but --scheme " + scheme +
                                   " writes ONNX: use a gguf-* scheme (see pq schemes)");
  }
  return Status::OK();
}

namespace {

// The scheme of `job`, after checking the flags and that no output would
// overwrite an input or (without --force) an existing file.
Result<const GgufSchemeEntry*> CheckJob(const GgufJob& job, const std::string& report_path) {
  PQ_RETURN_IF_ERROR(CheckGgufOutput(job.quantize.scheme, job.output_path));
  const GgufSchemeEntry* scheme = gguf::FindGgufScheme(job.quantize.scheme);
  if (scheme == nullptr) {
    return Status::InvalidArgument("scheme '" + job.quantize.scheme + "' does not write GGUF (see pq schemes)");
  }
  if (job.tokenizer_path.empty()) {
    return Status::InvalidArgument("--tokenizer is required for a GGUF output: llama.cpp reads the vocabulary "
                                   "from the file (a SentencePiece .model or a tokenizer.json)");
  }
  std::vector<std::string> inputs = {job.model_path, job.tokenizer_path};
  inputs.insert(inputs.end(), job.quantize.calib_paths.begin(), job.quantize.calib_paths.end());
  std::vector<std::string> outputs = {job.output_path, report_path};
  if (!job.attestation_path.empty()) outputs.push_back(job.attestation_path);
  PQ_RETURN_IF_ERROR(CheckOutputPaths(outputs, inputs, job.force));
  return scheme;
}

// The context length written into the file, and where it came from: the
// model's position table, or --context-length (required without a table).
struct ContextLength {
  int64_t value = 0;
  std::string source;
};

Result<ContextLength> ResolveContextLength(const GgufJob& job, const gguf::LlamaHyperParams& h,
                                           const std::function<void(const std::string&)>& warn) {
  if (job.context_length > 0) {
    if (h.context_length > 0 && job.context_length > h.context_length) {
      warn("--context-length " + std::to_string(job.context_length) + " exceeds the " +
           std::to_string(h.context_length) + " rows of the model's rotary position table");
    }
    return ContextLength{job.context_length, "--context-length"};
  }
  if (h.context_length == 0) {
    return Status::InvalidArgument("model '" + job.model_path +
                                   "' computes its rotary angles at run time and has no position table to "
                                   "read the context length from: pass --context-length N");
  }
  return ContextLength{h.context_length, "position table"};
}

// The tokenizer of --tokenizer, which must have one token per embedding row.
Result<gguf::TokenizerMeta> LoadMatchingTokenizer(const std::string& path, int64_t vocab) {
  Result<gguf::TokenizerMeta> tokenizer = gguf::LoadTokenizer(path);
  if (!tokenizer.ok()) return tokenizer.status();
  if (static_cast<int64_t>(tokenizer->tokens.size()) != vocab) {
    return Status::InvalidInput("tokenizer '" + path + "' has " + std::to_string(tokenizer->tokens.size()) +
                                " tokens but the model's embedding has " + std::to_string(vocab) + " rows");
  }
  return tokenizer;
}

// Every weight of `decoder` encoded in the scheme's type (or its fallback),
// with the record the report keeps of each.
struct EncodedWeights {
  std::vector<gguf::TensorToWrite> tensors;
  std::vector<gguf::EncodedTensorRecord> records;
};

Result<EncodedWeights> EncodeWeights(const gguf::LlamaDecoder& decoder, const GgufSchemeEntry& scheme,
                                     const Importance& importance, int threads, const GgufJobEvents& events) {
  EncodedWeights out;
  for (const gguf::LlamaWeight& w : decoder.weights) {
    std::vector<float> column_importance;
    auto found = importance.by_activation.find(w.activation);
    if (found != importance.by_activation.end()) column_importance = found->second.Importance();
    gguf::EncodedTensorRecord record;
    Result<gguf::TensorToWrite> encoded = gguf::EncodeWeight(
        w, scheme.type, column_importance.empty() ? nullptr : &column_importance, threads, &record);
    if (!encoded.ok()) return encoded.status();
    if (!record.fallback_reason.empty()) Tell(events.info, w.name + ": " + record.fallback_reason);
    out.tensors.push_back(std::move(encoded).value());
    out.records.push_back(std::move(record));
  }
  return out;
}

// What the GGUF file, its report and attestation are written from.
struct GgufOutputs {
  const GgufJob* job;
  std::string report_path;
  std::string started_on;
  const GgufSchemeEntry* scheme;
  const gguf::LlamaHyperParams* hparams;
  ContextLength context;
  const gguf::TokenizerMeta* tokenizer;
  const Importance* importance;
  const EncodedWeights* weights;
  std::string source_sha256;
};

// Writes the report, then the GGUF file holding the report's sha256, then
// the attestation; a failure after the report removes what was written.
Status WriteOutputs(const GgufOutputs& o, const nlohmann::ordered_json& report) {
  const GgufJob& job = *o.job;
  PQ_RETURN_IF_ERROR(WriteReport(report, o.report_path, job.force));
  auto roll_back = [&o](Status s) -> Status {
    std::error_code ec;
    std::filesystem::remove(o.report_path, ec);
    return s;
  };
  Result<std::string> report_sha = Sha256File(o.report_path);
  if (!report_sha.ok()) return roll_back(report_sha.status());
  gguf::Provenance provenance;
  provenance.source_file = std::filesystem::path(job.model_path).filename().string();
  provenance.source_sha256 = o.source_sha256;
  provenance.report_sha256 = report_sha.value();
  provenance.scheme = o.scheme->name;
  const quant::CalibrationPass& pass = o.importance->pass;
  if (!pass.files.empty()) {
    provenance.calibration = std::to_string(pass.samples) + " samples from " + std::to_string(pass.files.size()) +
                             " file(s); see the report";
  }
  const std::vector<gguf::KeyValue> kvs = gguf::LlamaKeyValues(*o.hparams, o.context.value, StemOf(job.model_path),
                                                               *o.scheme, *o.tokenizer, provenance);
  Status written = gguf::WriteGguf(job.output_path, kvs, o.weights->tensors);
  if (!written.ok()) return roll_back(written);
  if (job.attestation_path.empty()) return Status::OK();
  AttestationInputs attestation;
  attestation.subjects = {job.output_path};
  attestation.report = &report;
  attestation.report_path = o.report_path;
  attestation.started_on = o.started_on;
  attestation.finished_on = UtcTimestamp();
  const Status attested = WriteAttestation(attestation, job.attestation_path, job.force);
  if (!attested.ok()) {
    std::error_code ec;
    std::filesystem::remove(job.output_path, ec);
    return roll_back(attested);
  }
  return Status::OK();
}

}  // namespace

Result<GgufJobResult> RunGgufJob(const GgufJob& job, const GgufJobEvents& events) {
  GgufOutputs out;
  out.job = &job;
  out.report_path = job.report_path.empty() ? DefaultReportPath(job.output_path) : job.report_path;
  Result<const GgufSchemeEntry*> scheme = CheckJob(job, out.report_path);
  if (!scheme.ok()) return scheme.status();
  out.scheme = scheme.value();
  out.started_on = UtcTimestamp();

  std::vector<std::string> warnings;  // told as they come, and kept for the report
  auto warn = [&](const std::string& message) {
    warnings.push_back(message);
    Tell(events.warn, message);
  };
  Result<std::unique_ptr<Model>> loaded = Model::Load(job.model_path);
  if (!loaded.ok()) return loaded.status();
  const Model& model = *loaded.value();
  for (const std::string& w : model.warnings()) warn(job.model_path + ": " + w);
  BackgroundHasher input_digests(InputFiles(model));

  Result<gguf::LlamaDecoder> decoder = gguf::RecognizeLlama(model);
  if (!decoder.ok()) return decoder.status();
  out.hparams = &decoder->hparams;
  Result<ContextLength> context = ResolveContextLength(job, decoder->hparams, warn);
  if (!context.ok()) return context.status();
  out.context = context.value();
  Result<gguf::TokenizerMeta> tokenizer = LoadMatchingTokenizer(job.tokenizer_path, decoder->hparams.vocab);
  if (!tokenizer.ok()) return tokenizer.status();
  out.tokenizer = &tokenizer.value();

  Importance importance;
  if (!job.quantize.calib_paths.empty()) {
    if (!out.scheme->uses_importance) {
      warn(std::string("--calib is not used by ") + out.scheme->name + ": its rounding takes no importance weights");
    } else {
      Result<Importance> collected = CollectImportance(model, decoder.value(), job.quantize, events.calibration_progress);
      if (!collected.ok()) return collected.status();
      importance = std::move(collected).value();
    }
  }
  out.importance = &importance;
  Result<EncodedWeights> weights = EncodeWeights(decoder.value(), *out.scheme, importance, job.quantize.threads, events);
  if (!weights.ok()) return weights.status();
  out.weights = &weights.value();

  Result<std::map<std::string, std::string>> digests = input_digests.Wait();
  if (!digests.ok()) return digests.status();
  out.source_sha256 = digests->at(model.path());

  gguf::GgufReportInputs report_in;
  report_in.argv = job.argv;
  report_in.model = &model;
  report_in.known_sha256 = digests.value();
  report_in.output_path = job.output_path;
  report_in.scheme = out.scheme;
  report_in.hparams = out.hparams;
  report_in.context_length = out.context.value;
  report_in.context_length_source = out.context.source;
  report_in.tokenizer = out.tokenizer;
  report_in.calibration_files = importance.pass.files;
  report_in.calibration_samples = importance.pass.samples;
  report_in.calibration_batch = importance.pass.batch;
  report_in.tensors = &weights->records;
  report_in.skipped = SkippedConstants(model, decoder.value());
  report_in.warnings = warnings;
  Result<nlohmann::ordered_json> report = gguf::BuildGgufReport(report_in);
  if (!report.ok()) return report.status();
  PQ_RETURN_IF_ERROR(WriteOutputs(out, report.value()));

  GgufJobResult result;
  result.gguf_path = job.output_path;
  std::error_code ec;
  result.gguf_bytes = static_cast<int64_t>(std::filesystem::file_size(job.output_path, ec));
  result.report_path = out.report_path;
  result.report = std::move(report).value();
  result.tensors = static_cast<int64_t>(weights->records.size());
  result.fallbacks = result.report["summary"]["fallbacks"].get<int64_t>();
  result.bytes_before = result.report["summary"]["bytes_before"].get<int64_t>();
  return result;
}

}  // namespace pq
