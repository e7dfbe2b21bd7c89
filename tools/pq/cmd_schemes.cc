// pq schemes [--json]: the registered quantization schemes (ONNX, then GGUF
// outputs), one line each.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "pq/gguf_job.h"
#include "pq/quantize.h"

namespace pq::cli {

std::function<int()> SetupSchemes(CLI::App* sub) {
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array on stdout");
  return [json]() -> int {
    if (*json) {
      nlohmann::ordered_json doc = nlohmann::ordered_json::array();
      for (const SchemeDescription& s : DescribeSchemes()) {
        doc.push_back({{"name", s.name}, {"format", "onnx"}, {"summary", s.summary}, {"options", s.options},
                       {"calibrates_activations", s.calibrates}});
      }
      for (const GgufSchemeDescription& s : GgufSchemes()) {
        doc.push_back({{"name", s.name}, {"format", "gguf"}, {"summary", s.summary},
                       {"options", {"--tokenizer", "--context-length"}}, {"calibrates_activations", false},
                       {"ggml_type", s.ggml_type}, {"uses_calibration", s.uses_calibration}});
      }
      std::cout << doc.dump(2) << "\n";
    } else {
      for (const SchemeDescription& s : DescribeSchemes()) {
        std::cout << s.name << "  " << s.summary << "\n";
        if (s.options.empty()) continue;
        std::string options;
        for (const std::string& o : s.options) options += (options.empty() ? "" : " ") + o;
        std::cout << "    options: " << options << "\n";
      }
      for (const GgufSchemeDescription& s : GgufSchemes()) {
        std::cout << s.name << "  " << s.summary << "\n";
        std::cout << "    options: --tokenizer --context-length" << (s.uses_calibration ? " --calib" : "") << "\n";
      }
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
