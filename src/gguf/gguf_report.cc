#include "gguf/gguf_report.h"

#include <algorithm>
#include <cmath>

#include "pq/report.h"
#include "pq/version.h"
#include "report/report_parts.h"
#include "util/json_number.h"

namespace pq::gguf {
namespace {

using Json = nlohmann::ordered_json;

Json ArchitectureJson(const GgufReportInputs& in) {
  const LlamaHyperParams& h = *in.hparams;
  return {{"name", "llama"},
          {"vocab", h.vocab},
          {"embedding", h.embedding},
          {"layers", h.layers},
          {"heads", h.heads},
          {"kv_heads", h.kv_heads},
          {"head_dim", h.head_dim},
          {"feed_forward", h.feed_forward},
          {"rope_dims", h.rope_dims},
          {"rope_base", h.rope_base},
          {"rms_epsilon", h.rms_epsilon},
          {"context_length", in.context_length},
          {"context_length_source", in.context_length_source},
          {"rope_half_split_in_onnx", h.rope_half_split},
          {"tied_embeddings", h.tied_embeddings}};
}

Json TokenizerJson(const TokenizerMeta& t) {
  auto id = [](int64_t v) { return v < 0 ? Json(nullptr) : Json(v); };
  return {{"path", t.source_path},
          {"sha256", t.source_sha256},
          {"model", t.model},
          {"pre", t.pre},
          {"tokens", t.tokens.size()},
          {"merges", t.merges.size()},
          {"bos_id", id(t.bos_id)},
          {"eos_id", id(t.eos_id)},
          {"unk_id", id(t.unk_id)},
          {"pad_id", id(t.pad_id)},
          {"add_bos", t.add_bos},
          {"add_eos", t.add_eos}};
}

Json TensorJson(const EncodedTensorRecord& r) {
  Json j = {{"name", r.name},
            {"shape", r.shape},
            {"ggml_type", r.type},
            {"wanted_type", r.wanted_type},
            {"fallback", r.fallback_reason.empty() ? Json(nullptr) : Json(r.fallback_reason)},
            {"blocks", r.blocks},
            {"bytes", r.bytes},
            {"sha256", r.sha256},
            {"sources", r.sources},
            {"activation", r.activation.empty() ? Json(nullptr) : Json(r.activation)},
            {"importance_weighted", r.importance},
            {"rope_permuted", r.rope_permuted},
            {"error",
             {{"rmse", JsonNumber(r.rmse)},
              {"max_abs", JsonNumber(r.max_abs_error)},
              {"sqnr_db", JsonNumber(r.sqnr_db)},
              {"importance_weighted_rmse", JsonNumber(r.weighted_rmse)}}}};
  if (r.scale_count > 0) {
    j["scales"] = {{"count", r.scale_count},
                   {"min", JsonNumber(r.scale_min)},
                   {"max", JsonNumber(r.scale_max)},
                   {"sha256", r.scales_sha256},
                   {"encoding", "float16 scale d at the start of each block, as little-endian float32 values"}};
  } else {
    j["scales"] = nullptr;
  }
  return j;
}

}  // namespace

Result<nlohmann::ordered_json> BuildGgufReport(const GgufReportInputs& in) {
  Json report;
  report["schema_version"] = kReportSchemaVersion;
  report["format"] = "gguf";
  report["tool"] = {{"name", "pq"}, {"version", kVersion}};
  report["created_at"] = UtcTimestamp();
  report["command"] = ReportCommand(in.argv);
  std::vector<std::string> data_files = InputFiles(*in.model);
  data_files.erase(data_files.begin());
  int64_t input_bytes = 0;
  Result<Json> input = ModelFacts(*in.model, in.model->path(), data_files, in.known_sha256, &input_bytes);
  if (!input.ok()) return input.status();
  report["input_model"] = input.value();
  report["output_gguf"] = {{"path", in.output_path},
                           {"gguf_version", 3},
                           {"alignment", 32},
                           {"sha256", nullptr},
                           {"sha256_note", "the GGUF file holds this report's sha256 (pq.report.sha256); "
                                           "each tensor's bytes are pinned by its sha256 below"}};
  report["architecture"] = ArchitectureJson(in);
  report["tokenizer"] = TokenizerJson(*in.tokenizer);
  report["config"] = {{"scheme", in.scheme->name},
                      {"ggml_type", TraitsOf(in.scheme->type)->name},
                      {"file_type", in.scheme->llama_ftype},
                      {"norms", "f32"},
                      {"rounding", in.calibration_files.empty() || !in.scheme->uses_importance
                                       ? "unweighted search of scales per block"
                                       : "importance-weighted: squared error of column k weighted by the mean "
                                         "square of input k over the calibration tokens"}};
  Result<Json> calibration = CalibrationFilesJson(in.calibration_files, in.calibration_samples, in.calibration_batch);
  if (!calibration.ok()) return calibration.status();
  report["calibration"] = calibration.value();

  Json tensors = Json::array();
  std::map<std::string, int64_t> by_type;
  int64_t fallbacks = 0, tensor_bytes = 0, parameters = 0;
  std::vector<std::pair<double, std::string>> sqnr;
  for (const EncodedTensorRecord& r : *in.tensors) {
    tensors.push_back(TensorJson(r));
    ++by_type[r.type];
    if (!r.fallback_reason.empty()) ++fallbacks;
    tensor_bytes += r.bytes;
    int64_t count = 1;
    for (int64_t d : r.shape) count *= d;
    parameters += count;
    if (r.shape.size() == 2) sqnr.emplace_back(r.sqnr_db, r.name);
  }
  report["tensors"] = tensors;
  Json skipped = Json::array();
  for (const auto& [name, reason] : in.skipped) skipped.push_back({{"tensor", name}, {"reason", reason}});
  report["skipped"] = skipped;
  report["warnings"] = in.warnings;
  std::sort(sqnr.begin(), sqnr.end());
  Json worst = Json::array();
  for (size_t i = 0; i < sqnr.size() && i < 5; ++i) {
    worst.push_back({{"name", sqnr[i].second}, {"sqnr_db", JsonNumber(sqnr[i].first)}});
  }
  report["summary"] = {{"tensors", in.tensors->size()},
                       {"tensors_by_type", by_type},
                       {"fallbacks", fallbacks},
                       {"parameters", parameters},
                       {"bytes_before", parameters * 4},
                       {"tensor_bytes_after", tensor_bytes},
                       {"bits_per_weight", parameters > 0 ? 8.0 * tensor_bytes / parameters : 0.0},
                       {"worst_sqnr_db", worst}};
  return report;
}

}  // namespace pq::gguf
