// pq inspect MODEL [--json]: an ONNX model, or a GGUF file (by its magic or name).
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "pq/gguf_inspect.h"
#include "pq/inspect.h"
#include "pq/model.h"

namespace pq::cli {

std::function<int()> SetupInspect(CLI::App* sub) {
  struct Options {
    std::string model;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "ONNX model or GGUF file")->required();
  sub->add_flag("--json", options->json, "Print one JSON document on stdout");
  return [options]() -> int {
    if (IsGgufFile(options->model)) {
      Result<nlohmann::ordered_json> doc = InspectGgufFile(options->model);
      if (!doc.ok()) return Fail(doc.status());
      // Metadata strings are bytes from the file: invalid UTF-8 is replaced.
      std::cout << (options->json ? doc->dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n"
                                  : RenderGgufInspection(doc.value()));
      std::cout.flush();
      return std::cout.good() ? kExitOk : Fail(Status::OutputError("cannot write to stdout"));
    }
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
