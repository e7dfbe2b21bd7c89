// BuildAttestation: the in-toto statement of a run, from its report.
#include "pq/attestation.h"

#include <filesystem>
#include <map>
#include <set>

#include "pq/report.h"
#include "pq/version.h"
#include "util/sha256.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

// The value of `j[key]` when it is a string, else "".
std::string StringAt(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// Every {path, sha256} the report holds, as path -> sha256.
std::map<std::string, std::string> ReportDigests(const Json& report) {
  std::map<std::string, std::string> digests;
  auto add = [&digests](const Json& j, const char* path_key, const char* sha_key) {
    const std::string path = StringAt(j, path_key), sha = StringAt(j, sha_key);
    if (!path.empty() && !sha.empty()) digests[path] = sha;
  };
  for (const char* model : {"input_model", "output_model"}) {
    if (!report.contains(model)) continue;
    add(report[model], "path", "sha256");
    for (const Json& f : report[model].value("external_data", Json::array())) add(f, "path", "sha256");
  }
  return digests;
}

// The sha256 of `path`, from `known` when it is listed there.
Result<std::string> DigestOf(const std::string& path, const std::map<std::string, std::string>& known) {
  auto it = known.find(path);
  return it != known.end() ? Result<std::string>(it->second) : Sha256File(path);
}

// A resolved dependency or byproduct: {name, digest: {sha256}, annotations}.
Json Descriptor(const std::string& name, const std::string& sha256, const std::string& role) {
  Json d = {{"name", name}, {"digest", {{"sha256", sha256}}}};
  if (!role.empty()) d["annotations"] = {{"role", role}};
  return d;
}

// Collects the run's inputs in order, each path once.
class Dependencies {
 public:
  void Add(const std::string& path, const std::string& sha256, const std::string& role) {
    if (path.empty() || !seen_.insert(path).second) return;
    list_.push_back(Descriptor(path, sha256, role));
  }
  // A folder (e.g. test_data_set_*): named by uri, its files not digested.
  void AddFolder(const std::string& path, const std::string& role) {
    if (path.empty() || !seen_.insert(path).second) return;
    std::error_code ec;
    const std::string absolute = std::filesystem::absolute(path, ec).string();
    list_.push_back({{"name", path}, {"uri", "file://" + absolute}, {"annotations", {{"role", role}}}});
  }
  Json list() const { return list_; }

 private:
  std::set<std::string> seen_;
  Json list_ = Json::array();
};

// The input model, its external data, calibration files and tokenizers as
// the report lists them.
void AddReportInputs(const Json& report, Dependencies* deps) {
  const Json& input = report.value("input_model", Json::object());
  deps->Add(StringAt(input, "path"), StringAt(input, "sha256"), "model");
  for (const Json& f : input.value("external_data", Json::array())) {
    deps->Add(StringAt(f, "path"), StringAt(f, "sha256"), "external_data");
  }
  const Json& calibration = report.value("calibration", Json());
  if (calibration.is_object()) {
    for (const Json& f : calibration.value("files", Json::array())) {
      const std::string sha = StringAt(f, "sha256");
      if (sha.empty()) {
        deps->AddFolder(StringAt(f, "path"), "calibration");
      } else {
        deps->Add(StringAt(f, "path"), sha, "calibration");
      }
      const Json& tokens = f.value("tokens", Json());
      if (tokens.is_object()) {
        deps->Add(StringAt(tokens, "tokenizer"), StringAt(tokens, "tokenizer_sha256"), "tokenizer");
      }
    }
  }
  const Json& tokenizer = report.value("tokenizer", Json());  // GGUF reports
  if (tokenizer.is_object()) deps->Add(StringAt(tokenizer, "path"), StringAt(tokenizer, "sha256"), "tokenizer");
}

Status AddValidationFiles(const std::vector<std::string>& files, Dependencies* deps) {
  for (const std::string& path : files) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      deps->AddFolder(path, "validation");
      continue;
    }
    Result<std::string> sha = Sha256File(path);
    if (!sha.ok()) return sha.status();
    deps->Add(path, sha.value(), "validation");
  }
  return Status::OK();
}

// {name, digest} of each written file, or kOutputError naming one that cannot
// be read back.
Result<Json> WrittenFiles(const std::vector<std::string>& paths, const std::map<std::string, std::string>& known,
                          bool by_file_name, const char* media_type) {
  Json list = Json::array();
  for (const std::string& path : paths) {
    Result<std::string> sha = DigestOf(path, known);
    if (!sha.ok()) return Status::OutputError(path + ": cannot read back what was written: " + sha.status().message());
    const std::string name = by_file_name ? std::filesystem::path(path).filename().string() : path;
    Json d = {{"name", name}, {"digest", {{"sha256", sha.value()}}}};
    if (media_type) d["mediaType"] = media_type;
    list.push_back(d);
  }
  return list;
}

}  // namespace

Result<nlohmann::ordered_json> BuildAttestation(const AttestationInputs& in) {
  const Json& report = *in.report;
  const std::map<std::string, std::string> known = ReportDigests(report);
  Result<Json> subjects = WrittenFiles(in.subjects, known, /*by_file_name=*/true, nullptr);
  if (!subjects.ok()) return subjects.status();

  Dependencies deps;
  AddReportInputs(report, &deps);
  PQ_RETURN_IF_ERROR(AddValidationFiles(in.validation_files, &deps));

  Result<Json> byproducts = WrittenFiles({in.report_path}, {}, /*by_file_name=*/false, "application/json");
  if (!byproducts.ok()) return byproducts.status();
  Result<Json> others = WrittenFiles(in.byproducts, {}, /*by_file_name=*/false, nullptr);
  if (!others.ok()) return others.status();
  for (const Json& b : others.value()) byproducts.value().push_back(b);

  const Json config = report.value("config", Json::object());
  Json external = {{"command", report.value("command", Json::array())},
                   {"scheme", config.value("scheme", Json())},
                   {"options", config}};
  Json predicate;
  predicate["buildDefinition"] = {{"buildType", kAttestationBuildType},
                                  {"externalParameters", external},
                                  {"resolvedDependencies", deps.list()}};
  predicate["runDetails"] = {
      {"builder", {{"id", kAttestationBuilderId}, {"version", {{"pq", kVersion}}}}},
      {"metadata", {{"startedOn", in.started_on}, {"finishedOn", in.finished_on}}},
      {"byproducts", byproducts.value()}};
  Json statement;
  statement["_type"] = kInTotoStatementType;
  statement["subject"] = subjects.value();
  statement["predicateType"] = kSlsaProvenanceType;
  statement["predicate"] = predicate;
  return statement;
}

Status WriteAttestation(const AttestationInputs& in, const std::string& path, bool force) {
  Result<nlohmann::ordered_json> statement = BuildAttestation(in);
  if (!statement.ok()) return statement.status();
  return WriteTextFile(statement.value().dump(2) + "\n", path, force);
}

}  // namespace pq
