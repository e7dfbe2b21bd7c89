#include "cli_common.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace pq::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInternal: return kExitInternal;
    case Status::Code::kInvalidArgument: return kExitUsage;
    case Status::Code::kInvalidInput: return kExitInvalidInput;
    case Status::Code::kNotSupported: return kExitInvalidInput;
    case Status::Code::kGateFailed: return kExitGateFailed;
    case Status::Code::kOutputError: return kExitOutput;
  }
  return kExitInternal;
}

int Fail(const Status& status) {
  std::string line = status.message();
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  spdlog::error("{}", line);
  return ExitCodeFor(status);
}

void AddGateOptions(CLI::App* sub, Gates* gates) {
  sub->add_option("--min-sqnr", gates->min_sqnr_db, "Gate: minimum output SQNR (dB)");
  sub->add_option("--min-cosine", gates->min_cosine, "Gate: minimum cosine similarity")
      ->check(CLI::Range(-1.0, 1.0));
  sub->add_option("--max-flip-rate", gates->max_flip_rate,
                  "Gate: maximum share of samples whose top-1 class changed")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--max-accuracy-drop", gates->max_accuracy_drop_points,
                  "Gate: maximum accuracy drop in percentage points (needs --labels)");
  sub->add_option("--max-class-flip-rate", gates->max_class_flip_rate,
                  "Gate: maximum flip rate of any class (by the reference's prediction)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--max-group-drop", gates->max_group_drop_points,
                  "Gate: maximum accuracy drop of any group in percentage points (needs --labels "
                  "and --groups)");
  sub->add_option("--max-ppl-increase", gates->max_ppl_increase_percent,
                  "Gate (task lm): maximum perplexity increase in percent");
  sub->add_option("--max-kld", gates->max_kld,
                  "Gate (task lm): maximum mean KL divergence of the next-token distributions")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--min-top1-agreement", gates->min_top1_agreement,
                  "Gate (task lm): minimum share of positions with the same top-1 token")
      ->check(CLI::Range(0.0, 1.0));
}

void AddTextDataOptions(CLI::App* sub, std::vector<std::string>* text, TokenDataOptions* tokens) {
  sub->add_option("--text", *text, "UTF-8 text for a decoder LLM, tokenized with --tokenizer (repeatable)")
      ->check(CLI::ExistingFile);
  AddTokenDataOptions(sub, tokens);
}

void AddSpeedOptions(CLI::App* sub, ValidationData* data, int default_runs) {
  data->timing_runs = default_runs;
  sub->add_option("--timing-runs", data->timing_runs,
                  "Time both models on pq's executor: runs of the first batch after a warm-up, median "
                  "kept (0 = do not time)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  sub->add_option_function<double>(
         "--cost-per-hour", [data](double cost) { data->cost_per_hour = cost; },
         "With timing: the machine's price per hour, for the cost of 1,000 requests")
      ->check(CLI::NonNegativeNumber);
}

void AddTokenDataOptions(CLI::App* sub, TokenDataOptions* tokens) {
  sub->add_option("--context", tokens->context,
                  "Token data: cut rows into windows of N tokens (a tail that fills no window is "
                  "dropped); text defaults to 128")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 30));
  sub->add_option("--tokenizer", tokens->tokenizer,
                  "SentencePiece .model that tokenizes .txt data for a decoder model; with a .gguf "
                  "output, the tokenizer written into the file (.model or tokenizer.json)");
}

namespace {
std::vector<std::string>& CommandLineStorage() {
  static std::vector<std::string> storage;
  return storage;
}
}  // namespace

void SetCommandLine(int argc, char** argv) { CommandLineStorage().assign(argv, argv + argc); }
const std::vector<std::string>& CommandLine() { return CommandLineStorage(); }

void SetupLogging(const std::string& level, bool quiet) {
  auto logger = spdlog::stderr_color_mt("pq");
  logger->set_pattern("pq: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (quiet) parsed = spdlog::level::err;
  spdlog::set_level(parsed);
}

}  // namespace pq::cli
