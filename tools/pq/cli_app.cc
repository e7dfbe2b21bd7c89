#include "cli_app.h"

#include "build_info.h"
#include "cli_common.h"

namespace pq::cli {
namespace {

// The subcommands, in the order `pq --help` lists them.
const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"quantize", "Quantize a model (INT8 QDQ) and write its audit report", SetupQuantize},
      {"calibrate", "Write activation statistics (.pqcal) of a model over data, by shard; merge shards",
       SetupCalibrate},
      {"schemes", "List the quantization schemes", SetupSchemes},
      {"report", "Render a quantization report as Markdown or HTML", SetupReport},
      {"inspect", "Describe a model: versions, inputs/outputs, ops, weights, quantization", SetupInspect},
      {"convert", "Re-save a model through pq's loader and writer (e.g. to external data)", SetupConvert},
      {"run", "Run a model with pq's executor over data; write every output to .npz", SetupRun},
      {"compare", "Compare two models on the same data; validation gates for CI (exit 4)", SetupCompare},
      {"analyze", "Per-node quantization sensitivity and a suggested --exclude-nodes list", SetupAnalyze},
  };
  return kCommands;
}

}  // namespace

std::vector<Subcommand> BuildApp(CLI::App* app, GlobalOptions* globals) {
  app->description("pq: post-training quantization for ONNX models");
  app->set_version_flag("--version", VersionText());
  app->require_subcommand(1);
  app->fallthrough();  // global options may also follow the subcommand
  app->add_option("--log-level", globals->log_level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app->add_flag("-q,--quiet", globals->quiet, "Log errors only");
  // Options from a TOML/INI file: a [quantize] section for `pq quantize`, and
  // so on; flags on the command line override the file.
  app->set_config("--config", "",
                  "Read options from a TOML/INI file, a section per subcommand; [quantize.overrides] "
                  "holds \"PATTERN\" = \"SCHEME\" (or \"keep\") lines, per tensor by name, first match wins");
  app->footer(
      "Exit codes: 0 success, 1 internal error, 2 usage error, 3 invalid input,\n"
      "4 validation gate failed, 5 output could not be written.");
  std::vector<Subcommand> subcommands;
  for (const Command& command : Commands()) {
    CLI::App* sub = app->add_subcommand(command.name, command.summary);
    subcommands.push_back({sub, command.setup(sub)});
  }
  return subcommands;
}

bool IsCommand(const std::string& word) {
  for (const Command& command : Commands()) {
    if (word == command.name) return true;
  }
  return false;
}

}  // namespace pq::cli
