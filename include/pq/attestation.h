// Provenance for supply-chain audits: an in-toto Statement v1
// (https://in-toto.io/Statement/v1) whose predicate is SLSA provenance v1
// (https://slsa.dev/provenance/v1), describing one `pq quantize` run:
//
//   subject                 the files the run produced (the model and its
//                           external data, or the .gguf), named by file
//                           name, each with its sha256
//   predicate.buildDefinition
//     buildType             kAttestationBuildType
//     externalParameters    {command, scheme, options}: the command as the
//                           report records it and the report's "config"
//     resolvedDependencies  the input model, its external data, the
//                           calibration files, the tokenizer and the
//                           validation data, named by the path the command
//                           gave, each with its sha256 (a folder gets a
//                           file: uri instead) and annotations.role
//   predicate.runDetails
//     builder               {id: kAttestationBuilderId, version: {pq: VERSION}}
//     metadata              {startedOn, finishedOn} (no invocationId: a run
//                           has no identity beyond its inputs, and
//                           SOURCE_DATE_EPOCH makes the statement
//                           byte-identical for the same work)
//     byproducts            the report (and JUnit XML), with sha256
#ifndef PQ_ATTESTATION_H_
#define PQ_ATTESTATION_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/status.h"

namespace pq {

inline constexpr const char* kInTotoStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kSlsaProvenanceType = "https://slsa.dev/provenance/v1";
inline constexpr const char* kAttestationBuildType = "https://pq.invalid/quantize/v1";
inline constexpr const char* kAttestationBuilderId = "https://pq.invalid/builder/pq";

struct AttestationInputs {
  // The files the run wrote, in order; each must exist.
  std::vector<std::string> subjects;
  // The report as written (not owned) and its path. The command, the
  // configuration and the inputs with their digests are read from it (an
  // ONNX report from BuildReport or a GGUF report); digests it already holds
  // for subjects are reused, others are computed.
  const nlohmann::ordered_json* report = nullptr;
  std::string report_path;
  // Further files the run wrote beside the report (e.g. JUnit XML).
  std::vector<std::string> byproducts;
  // Inputs the report does not list with a digest (validation data, labels,
  // groups): files are hashed, folders named by uri.
  std::vector<std::string> validation_files;
  // When the run started and finished, "YYYY-MM-DDTHH:MM:SSZ" (SOURCE_DATE_EPOCH
  // when set, see the report's created_at).
  std::string started_on;
  std::string finished_on;
};

// REQUIRES: in.report != nullptr.
// Errors: kOutputError naming a subject or byproduct that cannot be read;
// kInvalidInput naming a validation file that cannot be read.
Result<nlohmann::ordered_json> BuildAttestation(const AttestationInputs& in);

// Builds the statement and writes it to `path` atomically (nothing partial).
// Errors: BuildAttestation's; kOutputError when `path` exists and !force or
// cannot be written.
Status WriteAttestation(const AttestationInputs& in, const std::string& path, bool force);

}  // namespace pq

#endif  // PQ_ATTESTATION_H_
