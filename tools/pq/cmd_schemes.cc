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
      for (const auto& [name, summary] : Schemes()) doc.push_back({{"name", name}, {"summary", summary}});
      std::cout << doc.dump(2) << "\n";
    } else {
      for (const auto& [name, summary] : Schemes()) std::cout << name << "  " << summary << "\n";
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
