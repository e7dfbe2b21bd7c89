// pq schemes [--json]: the registered quantization schemes, one line each.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "pq/quantize.h"

namespace pq::cli {

std::function<int()> SetupSchemes(CLI::App* sub) {
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array on stdout");
  return [json]() -> int {
    if (*json) {
      nlohmann::ordered_json doc = nlohmann::ordered_json::array();
      for (const SchemeDescription& s : DescribeSchemes()) {
        doc.push_back({{"name", s.name}, {"summary", s.summary}, {"options", s.options},
                       {"calibrates_activations", s.calibrates}});
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
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
