// pq's command line as a CLI11 app: the global options, --version, --config
// and every subcommand. Building it runs nothing: main.cc parses it and runs
// the subcommand given; the config fuzzer (tests/fuzz/config_fuzzer.cc) only
// parses it.
#ifndef PQ_TOOLS_CLI_APP_H_
#define PQ_TOOLS_CLI_APP_H_

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pq::cli {

// The options every subcommand accepts.
struct GlobalOptions {
  std::string log_level = "info";
  bool quiet = false;
};

// A subcommand of the app and the function that runs it once it is parsed
// (returning an exit code).
struct Subcommand {
  CLI::App* app;
  std::function<int()> run;
};

// Adds pq's description, footer, global options (writing into `globals`,
// which must outlive `app`), --version, --config and every subcommand to
// `app`. Returns the subcommands in the order `pq --help` lists them.
std::vector<Subcommand> BuildApp(CLI::App* app, GlobalOptions* globals);

// True when `word` names a subcommand.
bool IsCommand(const std::string& word);

}  // namespace pq::cli

#endif  // PQ_TOOLS_CLI_APP_H_
