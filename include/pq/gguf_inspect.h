// Inspection of GGUF files (llama.cpp's format), for pq inspect: header,
// metadata and tensor table as a stable JSON document and as text.
#ifndef PQ_GGUF_INSPECT_H_
#define PQ_GGUF_INSPECT_H_

#include <string>

#include <nlohmann/json.hpp>

#include "pq/status.h"

namespace pq {

// True when the file at `path` starts with the bytes "GGUF", or cannot be
// read and its name ends in ".gguf" (so that the GGUF reader names the problem).
bool IsGgufFile(const std::string& path);

// Reads the head of the GGUF file at `path` (tensor data is not read) and
// describes it: {format, path, file_bytes, version, alignment, data_offset,
// metadata: [{key, type, value} | {key, type: "array", element_type, length,
// first: [up to 8 elements]}], tensors: [{name, dims (innermost first),
// type, bytes, offset}], totals: {tensors, parameters, bytes, by_type}}.
// Errors: kInvalidInput naming the file and what is wrong with it.
Result<nlohmann::ordered_json> InspectGgufFile(const std::string& path);

// Renders an InspectGgufFile document as text (ends with '\n'). Strings
// longer than 80 bytes are cut, control bytes escaped.
std::string RenderGgufInspection(const nlohmann::ordered_json& doc);

}  // namespace pq

#endif  // PQ_GGUF_INSPECT_H_
