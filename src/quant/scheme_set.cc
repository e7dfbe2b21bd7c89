#include "quant/scheme_set.h"

namespace pq::quant {
namespace {

// Block sizes the blockwise schemes accept.
constexpr int64_t kMinBlockSize = 16;
constexpr int64_t kMaxBlockSize = 4096;

Status CheckFormats(const QuantizeOptions& options) {
  if (options.block_size != 0 &&
      (options.block_size < kMinBlockSize || options.block_size > kMaxBlockSize ||
       (options.block_size & (options.block_size - 1)) != 0)) {
    return Status::InvalidArgument("block size " + std::to_string(options.block_size) +
                                   " is not a power of two from 16 to 4096");
  }
  if (options.nf4_format != "ort" && options.nf4_format != "onnx") {
    return Status::InvalidArgument("nf4 format '" + options.nf4_format + "' is not ort or onnx");
  }
  if (options.int4_format != "ort" && options.int4_format != "onnx") {
    return Status::InvalidArgument("int4 format '" + options.int4_format + "' is not ort or onnx");
  }
  return Status::OK();
}


bool Reads(const SchemeEntry* entry, const char* option) {
  if (entry == nullptr) return false;
  for (const char* o : entry->options) {
    if (std::string(o) == option) return true;
  }
  return false;
}

// The flags `options` sets away from their defaults that neither the main
// scheme nor the fallback reads.
std::vector<std::string> IgnoredOptions(const QuantizeOptions& options) {
  const SchemeOptions defaults;
  const std::pair<const char*, bool> given[] = {
      {kOptionAsymmetricWeights, options.asymmetric_weights != defaults.asymmetric_weights},
      {kOptionBlockSize, options.block_size != defaults.block_size},
      {kOptionNf4Format, options.nf4_format != defaults.nf4_format},
      {kOptionInt4Format, options.int4_format != defaults.int4_format},
  };
  const SchemeEntry* main = FindSchemeEntry(options.scheme);
  const SchemeEntry* fallback = options.fallback.empty() ? nullptr : FindSchemeEntry(options.fallback);
  std::vector<std::string> ignored;
  for (const auto& [flag, set] : given) {
    if (!set || Reads(main, flag) || Reads(fallback, flag)) continue;
    std::string readers;
    for (const SchemeEntry& e : SchemeTable()) {
      if (Reads(&e, flag)) readers += (readers.empty() ? "" : ", ") + std::string(e.name);
    }
    ignored.push_back(std::string(flag) + " applies to " + readers + " only; ignored for " + options.scheme +
                      (fallback != nullptr ? " with fallback " + options.fallback : ""));
  }
  return ignored;
}

}  // namespace

bool SchemeSet::Writes(WeightEncoding encoding) const {
  return main->Encoding() == encoding || (fallback != nullptr && fallback->Encoding() == encoding);
}

SchemeOptions SchemeOptionsFrom(const QuantizeOptions& options) {
  SchemeOptions s;
  s.asymmetric_weights = options.asymmetric_weights;
  s.block_size = options.block_size;
  s.nf4_format = options.nf4_format;
  s.int4_format = options.int4_format;
  s.double_quant = options.double_quant;
  return s;
}

const SchemeEntry* FindSchemeEntry(const std::string& name) {
  for (const SchemeEntry& entry : SchemeTable()) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

Result<SchemeSet> MakeSchemeSet(const QuantizeOptions& options) {
  PQ_RETURN_IF_ERROR(CheckFormats(options));
  SchemeSet set;
  set.options = SchemeOptionsFrom(options);
  Result<std::unique_ptr<Scheme>> main = MakeScheme(options.scheme, set.options);
  if (!main.ok()) return main.status();
  set.main = std::move(main).value();
  if (!options.fallback.empty()) {
    Result<std::unique_ptr<Scheme>> fallback = MakeScheme(options.fallback, set.options);
    if (!fallback.ok()) return fallback.status().WithPrefix("--fallback");
    set.fallback = std::move(fallback).value();
  }
  set.ignored_options = IgnoredOptions(options);
  return set;
}

nlohmann::ordered_json SchemeReportConfig(const SchemeSet& schemes, const QuantizeOptions& o,
                                          bool double_quant_applied) {
  using Json = nlohmann::ordered_json;
  Json config;
  config["symmetric_weights"] = schemes.main->SymmetricWeights();
  // Blockwise schemes quantize their weights per block, whatever
  // --granularity says (it applies to a per-channel fallback).
  if (IsBlockwise(*schemes.main)) config["granularity"] = schemes.main->Granularity();
  if (IsBlockwise(*schemes.main) || schemes.fallback != nullptr) {
    config["block_size"] = o.block_size > 0 ? Json(o.block_size) : Json("default");
    config["nf4_format"] = o.nf4_format;
    config["int4_format"] = o.int4_format;
    config["double_quant"] = {{"requested", o.double_quant}, {"applied", double_quant_applied}};
    config["fallback"] = o.fallback.empty() ? Json(nullptr) : Json(o.fallback);
  }
  return config;
}

}  // namespace pq::quant
