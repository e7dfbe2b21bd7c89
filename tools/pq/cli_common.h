// What every pq subcommand shares: exit codes, error reporting, logging setup
// and the table of subcommands.
#ifndef PQ_TOOLS_CLI_COMMON_H_
#define PQ_TOOLS_CLI_COMMON_H_

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pq/status.h"
#include "pq/validate.h"

namespace pq::cli {

// Exit codes, documented in README.md and used by every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,      // a bug in pq
  kExitUsage = 2,         // bad flag or value
  kExitInvalidInput = 3,  // unreadable, corrupt or unsupported model or data
  kExitGateFailed = 4,    // a validation gate failed
  kExitOutput = 5,        // the output could not be written
};

// Maps a library Status to the exit code it means.
int ExitCodeFor(const Status& status);

// Logs `status` as one error line on stderr and returns its exit code.
int Fail(const Status& status);

// Configures the stderr logger. `level` is one of trace, debug, info, warn,
// error, off; `quiet` lowers it to errors only.
void SetupLogging(const std::string& level, bool quiet);

// Adds the validation gate flags (--min-sqnr, --min-cosine, --max-flip-rate,
// --max-accuracy-drop, --max-class-flip-rate, --max-ppl-increase, --max-kld,
// --min-top1-agreement) that write into `gates`; used
// by every subcommand that validates.
void AddGateOptions(CLI::App* sub, Gates* gates);

// Adds --timing-runs (default `default_runs`) and --cost-per-hour: the speed
// of both models on pq's executor, the accuracy-to-latency ratio and the
// cost of 1,000 requests.
void AddSpeedOptions(CLI::App* sub, ValidationData* data, int default_runs);

// Adds --context and --tokenizer (token data for decoder models).
void AddTokenDataOptions(CLI::App* sub, TokenDataOptions* tokens);

// Adds --text FILE (into `text`; the command adds them to its data paths)
// and the token data options.
void AddTextDataOptions(CLI::App* sub, std::vector<std::string>* text, TokenDataOptions* tokens);

// A subcommand: Setup adds its options to `sub` and returns the function
// that runs it after parsing (returning an exit code).
struct Command {
  const char* name;
  const char* summary;
  std::function<std::function<int()>(CLI::App* sub)> setup;
};

// Setup functions, one per cmd_*.cc file.
std::function<int()> SetupInspect(CLI::App* sub);
std::function<int()> SetupConvert(CLI::App* sub);
std::function<int()> SetupRun(CLI::App* sub);
std::function<int()> SetupQuantize(CLI::App* sub);
std::function<int()> SetupSchemes(CLI::App* sub);
std::function<int()> SetupCompare(CLI::App* sub);
std::function<int()> SetupAnalyze(CLI::App* sub);
std::function<int()> SetupReport(CLI::App* sub);
std::function<int()> SetupCalibrate(CLI::App* sub);

// The command line as given, for the report.
void SetCommandLine(int argc, char** argv);
const std::vector<std::string>& CommandLine();

}  // namespace pq::cli

#endif  // PQ_TOOLS_CLI_COMMON_H_
