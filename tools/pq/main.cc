// pq: the command-line front end. It parses flags, calls the library, and
// maps each Status to a documented exit code. It holds no logic of its own.
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli_app.h"
#include "cli_common.h"
#include "openmp_wait.h"

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  pq::LimitOpenMpSpinning(argv);
  pq::cli::SetCommandLine(argc, argv);
  CLI::App app;
  pq::cli::GlobalOptions globals;
  const std::vector<pq::cli::Subcommand> subcommands = pq::cli::BuildApp(&app, &globals);

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
    if (!word.empty() && !pq::cli::IsCommand(word)) message = "unknown subcommand '" + word + "'";
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "pq: error: %s (see pq --help)\n", message.c_str());
    return pq::cli::kExitUsage;
  }

  pq::cli::SetupLogging(globals.log_level, globals.quiet);
  try {
    for (const pq::cli::Subcommand& sub : subcommands) {
      if (sub.app->parsed()) return sub.run();
    }
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return pq::cli::kExitInternal;
  }
  spdlog::error("no subcommand given (see pq --help)");
  return pq::cli::kExitUsage;
}
