// Fuzz target: `--config` files, CLI11's TOML/INI reader over pq's whole
// command line. The input is written as a config file; pq's app is built as
// the pq tool builds it (pq::cli::BuildApp) and parses, one after the other
// (App::clear() between them), the command lines of kCommandLines, which
// name the file. Nothing runs. Every outcome must be one main() maps to an
// exit code: parsed, a help or version request (exit 0), or a
// CLI::ParseError (exit 2). Any other exception escapes and aborts the
// fuzzer: in pq it would end as a crash. (One app per input, not per line:
// building it costs far more than a parse.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_app.h"
#include "fuzz/fuzz_util.h"

namespace {

// Arguments after the program name; "FILE" stands for the config file.
const std::vector<std::vector<std::string>> kCommandLines = {
    {"quantize", "--config", "FILE", "model.onnx", "-o", "out.onnx"},
    {"calibrate", "--config", "FILE", "model.onnx", "-o", "out.pqcal"},
    {"run", "--config", "FILE", "model.onnx"},
    {"compare", "--config", "FILE", "ref.onnx", "cand.onnx"},
    {"analyze", "--config", "FILE", "model.onnx", "--data", "data.npy"},
    {"report", "--config", "FILE", "model.report.json"},
    {"inspect", "--config", "FILE", "model.onnx"},
    {"convert", "--config", "FILE", "model.onnx", "-o", "out.onnx"},
    {"schemes", "--config", "FILE"},
    {"--config", "FILE", "quantize"},  // the file gives MODEL and -o, or not
    {"--config", "FILE"},              // no subcommand on the command line
};

// Parses `args` with `app` (cleared first); returns the exit code main()
// would return before running anything (-1: parsed, a subcommand would run).
int Parse(CLI::App* app, const std::vector<std::string>& args, const std::string& config) {
  std::vector<std::string> words = {"pq"};
  for (const std::string& a : args) words.push_back(a == "FILE" ? config : a);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  app->clear();
  try {
    app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    return 0;
  } catch (const CLI::CallForVersion&) {
    return 0;
  } catch (const CLI::ParseError&) {
    return 2;
  }
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string config = pq::fuzz::ScratchDir() + "/pq.toml";
  pq::fuzz::WriteBytes(config, data, size);
  CLI::App app;
  pq::cli::GlobalOptions globals;
  const std::vector<pq::cli::Subcommand> subcommands = pq::cli::BuildApp(&app, &globals);
  for (const auto& args : kCommandLines) (void)Parse(&app, args, config);
  return 0;
}
