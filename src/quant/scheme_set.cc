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
  auto writes = [encoding](const std::unique_ptr<Scheme>& s) { return s != nullptr && s->Encoding() == encoding; };
  if (writes(main) || writes(fallback) || writes(lm_head)) return true;
  for (const Override& o : overrides) {
    if (writes(o.scheme)) return true;
  }
  return false;
}

WeightEncoding SchemeSet::EmbeddingEncoding(bool tied, int64_t cols) const {
  // GatherBlockQuantized's uint8 data holds two codes per byte of a row.
  if (gather_block_quantized && !tied && cols % 2 == 0) return WeightEncoding::kGatherBlockQuantized;
  return embedding->Encoding();
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

namespace {

// MatMulNBits' accuracy_level attribute takes these values.
constexpr int kMaxAccuracyLevel = 4;

// --embeddings: the scheme tables take. 4bit: the main scheme's grid (int4
// symmetric for an int8 scheme) in the standard-ops form.
Status MakeEmbeddingScheme(const QuantizeOptions& options, SchemeSet* set) {
  set->embedding_choice = options.embeddings;
  if (options.embeddings == kKeepFp32) return Status::OK();
  SchemeOptions o = set->options;
  o.nf4_format = "onnx";
  o.int4_format = "onnx";
  o.double_quant = false;
  std::string name = "int8-sym";
  if (options.embeddings == "4bit") {
    name = IsBlockwise(*set->main) ? options.scheme : "int4-sym";
    set->gather_block_quantized = name != "nf4" && options.int4_format == "ort";
  } else if (options.embeddings != "int8") {
    return Status::InvalidArgument("--embeddings '" + options.embeddings + "' is not keep, int8 or 4bit");
  }
  Result<std::unique_ptr<Scheme>> scheme = MakeScheme(name, o);
  if (!scheme.ok()) return scheme.status();
  set->embedding = std::move(scheme).value();
  return Status::OK();
}

// --lm-head: "" is int8 for the 4-bit schemes, same for the others.
Status MakeLmHeadScheme(const QuantizeOptions& options, SchemeSet* set) {
  const std::string& choice = options.lm_head;
  if (choice.empty()) {
    set->lm_head_choice = IsBlockwise(*set->main) ? "int8" : "same";
  } else if (choice == kKeepFp32 || choice == "int8" || choice == "same") {
    set->lm_head_choice = choice;
  } else {
    return Status::InvalidArgument("--lm-head '" + choice + "' is not keep, int8 or same");
  }
  if (set->lm_head_choice != "int8") return Status::OK();
  Result<std::unique_ptr<Scheme>> scheme = MakeScheme("int8-sym", set->options);
  if (!scheme.ok()) return scheme.status();
  set->lm_head = std::move(scheme).value();
  return Status::OK();
}

Status MakeOverrides(const QuantizeOptions& options, SchemeSet* set) {
  for (const WeightOverride& o : options.overrides) {
    if (o.pattern.empty()) return Status::InvalidArgument("[quantize.overrides]: an empty pattern");
    SchemeSet::Override entry{o.pattern, o.scheme, nullptr};
    if (o.scheme != kKeepFp32) {
      Result<std::unique_ptr<Scheme>> scheme = MakeScheme(o.scheme, set->options);
      if (!scheme.ok()) {
        return Status::InvalidArgument("[quantize.overrides] pattern '" + o.pattern + "': " +
                                       scheme.status().message() + " or keep");
      }
      entry.scheme = std::move(scheme).value();
    }
    set->overrides.push_back(std::move(entry));
  }
  return Status::OK();
}

}  // namespace

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
  PQ_RETURN_IF_ERROR(MakeEmbeddingScheme(options, &set));
  PQ_RETURN_IF_ERROR(MakeLmHeadScheme(options, &set));
  PQ_RETURN_IF_ERROR(MakeOverrides(options, &set));
  if (options.accuracy_level != -1) {
    if (options.accuracy_level < 0 || options.accuracy_level > kMaxAccuracyLevel) {
      return Status::InvalidArgument("--accuracy-level must be 0 to 4, got " + std::to_string(options.accuracy_level));
    }
    if (!set.Writes(WeightEncoding::kMatMulNBits)) {
      return Status::InvalidArgument("--accuracy-level needs MatMulNBits: it is an attribute of com.microsoft "
                                     "MatMulNBits, which only int4-sym/int4-asym with --int4-format ort write; "
                                     "scheme " + options.scheme + " writes none");
    }
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
  if (IsBlockwise(*schemes.main) || o.embeddings != kKeepFp32 || !o.lm_head.empty()) {
    config["embeddings"] = schemes.embedding_choice;
    config["lm_head"] = schemes.lm_head_choice;
  }
  if (!schemes.overrides.empty()) {
    Json list = Json::array();
    for (const SchemeSet::Override& entry : schemes.overrides) {
      list.push_back({{"pattern", entry.pattern}, {"scheme", entry.value}});
    }
    config["overrides"] = list;
  }
  if (o.accuracy_level != -1) config["accuracy_level"] = o.accuracy_level;
  return config;
}

}  // namespace pq::quant
