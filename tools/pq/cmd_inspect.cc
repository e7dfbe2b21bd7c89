// pq inspect MODEL [--json]
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "pq/inspect.h"
#include "pq/model.h"

namespace pq::cli {

std::function<int()> SetupInspect(CLI::App* sub) {
  struct Options {
    std::string model;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "ONNX model file")->required();
  sub->add_flag("--json", options->json, "Print one JSON document on stdout");
  return [options]() -> int {
    Result<std::unique_ptr<Model>> model = Model::Load(options->model);
    if (!model.ok()) return Fail(model.status());
    for (const std::string& warning : model.value()->warnings()) {
      spdlog::warn("{}: {}", options->model, warning);
    }
    const nlohmann::ordered_json doc = InspectModel(*model.value());
    if (options->json) {
      std::cout << doc.dump(2) << "\n";
    } else {
      std::cout << RenderInspection(doc);
    }
    std::cout.flush();
    return std::cout.good() ? kExitOk : Fail(Status::OutputError("cannot write to stdout"));
  };
}

}  // namespace pq::cli
