// pq: the command-line front end. It parses flags, calls the library, and
// maps each Status to a documented exit code. It holds no logic of its own.
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "build_info.h"
#include "cli_common.h"
#include "openmp_wait.h"

namespace {

// The subcommands, in the order `pq --help` lists them.
const std::vector<pq::cli::Command>& Commands() {
  static const std::vector<pq::cli::Command> kCommands = {
      {"quantize", "Quantize a model (INT8 QDQ) and write its audit report",
       pq::cli::SetupQuantize},
      {"calibrate", "Write activation statistics (.pqcal) of a model over data, by shard; merge shards",
       pq::cli::SetupCalibrate},
      {"schemes", "List the quantization schemes", pq::cli::SetupSchemes},
      {"report", "Render a quantization report as Markdown or HTML", pq::cli::SetupReport},
      {"inspect", "Describe a model: versions, inputs/outputs, ops, weights, quantization",
       pq::cli::SetupInspect},
      {"convert", "Re-save a model through pq's loader and writer (e.g. to external data)",
       pq::cli::SetupConvert},
      {"run", "Run a model with pq's executor over data; write every output to .npz",
       pq::cli::SetupRun},
      {"compare", "Compare two models on the same data; validation gates for CI (exit 4)",
       pq::cli::SetupCompare},
      {"analyze", "Per-node quantization sensitivity and a suggested --exclude-nodes list",
       pq::cli::SetupAnalyze},
  };
  return kCommands;
}

// The first argument that is neither an option nor the value of --log-level.
std::string FirstWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-level") {
      ++i;
    } else if (!arg.empty() && arg[0] != '-') {
      return arg;
    }
  }
  return "";
}

bool IsCommand(const std::string& word) {
  for (const pq::cli::Command& command : Commands()) {
    if (word == command.name) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  pq::LimitOpenMpSpinning(argv);
  pq::cli::SetCommandLine(argc, argv);
  CLI::App app{"pq: post-training quantization for ONNX models"};
  app.set_version_flag("--version", pq::cli::VersionText());
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  std::string log_level = "info";
  bool quiet = false;
  app.add_option("--log-level", log_level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "Log errors only");
  // Options from a TOML/INI file: a [quantize] section for `pq quantize`, and
  // so on; flags on the command line override the file.
  app.set_config("--config", "",
                 "Read options from a TOML/INI file, a section per subcommand; [quantize.overrides] "
                 "holds \"PATTERN\" = \"SCHEME\" (or \"keep\") lines, per tensor by name, first match wins");
  app.footer(
      "Exit codes: 0 success, 1 internal error, 2 usage error, 3 invalid input,\n"
      "4 validation gate failed, 5 output could not be written.");

  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (const pq::cli::Command& command : Commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    runners.emplace_back(sub, command.setup(sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    const std::string word = FirstWord(argc, argv);
    if (!word.empty() && !IsCommand(word)) message = "unknown subcommand '" + word + "'";
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "pq: error: %s (see pq --help)\n", message.c_str());
    return pq::cli::kExitUsage;
  }

  pq::cli::SetupLogging(log_level, quiet);
  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return pq::cli::kExitInternal;
  }
  spdlog::error("no subcommand given (see pq --help)");
  return pq::cli::kExitUsage;
}
