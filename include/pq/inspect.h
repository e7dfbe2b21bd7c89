// Inspection: what a model is made of, as a stable JSON document.
#ifndef PQ_INSPECT_H_
#define PQ_INSPECT_H_

#include <string>

#include <nlohmann/json.hpp>

#include "pq/model.h"

namespace pq {

// Returns a description of `model` with keys in a fixed order: versions and
// producer, inputs and outputs (dims are numbers, symbolic names, or null when
// unknown), node counts by op type, parameters by data type, the constant
// weights a quantizer could take, quantization already present, and external
// data files. The same model always gives the same document.
nlohmann::ordered_json InspectModel(const Model& model);

// Renders an InspectModel document as human-readable text (ends with '\n').
std::string RenderInspection(const nlohmann::ordered_json& doc);

}  // namespace pq

#endif  // PQ_INSPECT_H_
