#include "pq/gguf_inspect.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "gguf/gguf_file.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;
using gguf::ValueType;

constexpr size_t kArrayPreview = 8;      // array elements shown
constexpr size_t kMaxShownString = 80;   // bytes of a string shown as text

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kUint8: return "uint8";
    case ValueType::kInt8: return "int8";
    case ValueType::kUint16: return "uint16";
    case ValueType::kInt16: return "int16";
    case ValueType::kUint32: return "uint32";
    case ValueType::kInt32: return "int32";
    case ValueType::kFloat32: return "float32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "uint64";
    case ValueType::kInt64: return "int64";
    case ValueType::kFloat64: return "float64";
  }
  return "?";
}

Json ScalarJson(ValueType t, int64_t integer, double real) {
  switch (t) {
    case ValueType::kBool: return integer != 0;
    case ValueType::kFloat32: case ValueType::kFloat64: return real;
    case ValueType::kUint64: return static_cast<uint64_t>(integer);
    default: return integer;
  }
}

Json ValueJson(const std::string& key, const gguf::Value& v) {
  Json out;
  out["key"] = key;
  out["type"] = ValueTypeName(v.type);
  if (v.type == ValueType::kString) {
    out["value"] = v.string;
  } else if (v.type != ValueType::kArray) {
    out["value"] = ScalarJson(v.type, v.integer, v.real);
  } else {
    out["element_type"] = ValueTypeName(v.element_type);
    const bool is_string = v.element_type == ValueType::kString;
    const bool real = v.element_type == ValueType::kFloat32 || v.element_type == ValueType::kFloat64;
    const size_t length = is_string ? v.strings.size() : real ? v.reals.size() : v.integers.size();
    out["length"] = length;
    Json first = Json::array();
    for (size_t i = 0; i < length && i < kArrayPreview; ++i) {
      first.push_back(is_string ? Json(v.strings[i])
                                : ScalarJson(v.element_type, real ? 0 : v.integers[i], real ? v.reals[i] : 0));
    }
    out["first"] = first;
  }
  return out;
}

// A string as text: cut to kMaxShownString bytes, control bytes as \xNN.
std::string Shown(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShownString; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShownString) out += "...";
  return out;
}

std::string ShownJson(const Json& v) {
  if (v.is_string()) return "\"" + Shown(v.get<std::string>()) + "\"";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

bool IsGgufFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  char magic[4] = {};
  const bool read = fd >= 0 && pread(fd, magic, 4, 0) == 4;
  if (fd >= 0) close(fd);
  if (read) return std::memcmp(magic, "GGUF", 4) == 0;
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

Result<Json> InspectGgufFile(const std::string& path) {
  Result<gguf::GgufContents> read = gguf::ReadGguf(path);
  if (!read.ok()) return read.status();
  const gguf::GgufContents& c = read.value();
  Json doc;
  doc["format"] = "gguf";
  doc["path"] = path;
  doc["file_bytes"] = c.file_bytes;
  doc["version"] = c.version;
  doc["alignment"] = c.alignment;
  doc["data_offset"] = c.data_offset;
  Json metadata = Json::array();
  for (const gguf::KeyValue& kv : c.kvs) metadata.push_back(ValueJson(kv.key, kv.value));
  doc["metadata"] = metadata;
  Json tensors = Json::array();
  uint64_t parameters = 0, bytes = 0;
  std::map<std::string, std::array<uint64_t, 3>> by_type;  // tensors, parameters, bytes
  for (const gguf::TensorInfoRecord& t : c.tensors) {
    uint64_t count = 1;
    for (int64_t d : t.dims) count *= static_cast<uint64_t>(d);  // checked by the reader
    const std::string type = gguf::GgmlTypeName(t.type);
    tensors.push_back(Json{{"name", t.name}, {"dims", t.dims}, {"type", type}, {"bytes", t.bytes},
                           {"offset", t.offset}});
    parameters += count;
    bytes += t.bytes;
    auto& row = by_type[type];
    row[0] += 1;
    row[1] += count;
    row[2] += t.bytes;
  }
  doc["tensors"] = tensors;
  Json types = Json::object();
  for (const auto& [type, row] : by_type) {
    types[type] = Json{{"tensors", row[0]}, {"parameters", row[1]}, {"bytes", row[2]}};
  }
  doc["totals"] = Json{{"tensors", c.tensors.size()}, {"parameters", parameters}, {"bytes", bytes},
                       {"by_type", types}};
  return doc;
}

std::string RenderGgufInspection(const Json& doc) {
  std::ostringstream os;
  os << "gguf:        " << Shown(doc["path"].get<std::string>()) << " (" << doc["file_bytes"].get<uint64_t>()
     << " bytes)\nversion:     " << doc["version"].get<uint32_t>()
     << "\nalignment:   " << doc["alignment"].get<uint32_t>()
     << "\ndata offset: " << doc["data_offset"].get<uint64_t>() << "\n";
  os << "metadata:    " << doc["metadata"].size() << " keys\n";
  for (const Json& kv : doc["metadata"]) {
    os << "  " << Shown(kv["key"].get<std::string>()) << "  " << kv["type"].get<std::string>();
    if (kv.contains("value")) {
      os << " = " << ShownJson(kv["value"]) << "\n";
      continue;
    }
    os << "<" << kv["element_type"].get<std::string>() << ">[" << kv["length"].get<uint64_t>() << "] = [";
    bool first = true;
    for (const Json& e : kv["first"]) {
      os << (first ? "" : ", ") << ShownJson(e);
      first = false;
    }
    os << (kv["length"].get<uint64_t>() > kv["first"].size() ? ", ...]\n" : "]\n");
  }
  const Json& totals = doc["totals"];
  os << "tensors:     " << totals["tensors"].get<uint64_t>() << "\n";
  for (const Json& t : doc["tensors"]) {
    os << "  " << Shown(t["name"].get<std::string>()) << "  [";
    bool first = true;
    for (const Json& d : t["dims"]) {
      os << (first ? "" : ", ") << d.get<int64_t>();
      first = false;
    }
    os << "]  " << t["type"].get<std::string>() << "  " << t["bytes"].get<uint64_t>() << " bytes at "
       << t["offset"].get<uint64_t>() << "\n";
  }
  os << "parameters:  " << totals["parameters"].get<uint64_t>() << " in " << totals["bytes"].get<uint64_t>()
     << " bytes\n";
  for (const auto& [type, row] : totals["by_type"].items()) {
    os << "  " << type << ": " << row["parameters"].get<uint64_t>() << " in " << row["tensors"].get<uint64_t>()
       << " tensors, " << row["bytes"].get<uint64_t>() << " bytes\n";
  }
  return os.str();
}

}  // namespace pq
