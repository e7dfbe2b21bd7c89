#include "pq/inspect.h"

#include <sys/stat.h>

#include <map>
#include <set>
#include <sstream>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "pq/data_type.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

std::string QualifiedOpType(const onnx::NodeProto& node) {
  return IsDefaultDomain(node.domain()) ? node.op_type() : node.domain() + ":" + node.op_type();
}

// Which input of a node holds the weight a quantizer could take.
int WeightInputIndex(const onnx::NodeProto& node) {
  if (!IsDefaultDomain(node.domain())) return -1;
  const std::string& op = node.op_type();
  if (op == "MatMul" || op == "Gemm" || op == "Conv" || op == "ConvTranspose") return 1;
  if (op == "Gather") return 0;
  return -1;
}

bool IsQuantizationOp(const onnx::NodeProto& node) {
  static const std::set<std::string> kDefault = {
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
      "QLinearMatMul", "MatMulInteger", "ConvInteger"};
  static const std::set<std::string> kMicrosoft = {
      "MatMulNBits", "MatMulBnb4", "DynamicQuantizeMatMul", "GatherBlockQuantized",
      "MatMulIntegerToFloat", "DequantizeLinear", "QuantizeLinear"};
  if (IsDefaultDomain(node.domain())) return kDefault.count(node.op_type()) != 0;
  if (node.domain() == "com.microsoft") {
    return kMicrosoft.count(node.op_type()) != 0 || node.op_type().rfind("QLinear", 0) == 0 ||
           node.op_type().rfind("QGemm", 0) == 0 || node.op_type().rfind("QAttention", 0) == 0;
  }
  return false;
}

Json ShapeJson(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return nullptr;
  Json dims = Json::array();
  for (const auto& dim : type.tensor_type().shape().dim()) {
    if (dim.has_dim_value()) {
      dims.push_back(dim.dim_value());
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      dims.push_back(dim.dim_param());
    } else {
      dims.push_back(nullptr);
    }
  }
  return dims;
}

Json ValueInfoJson(const onnx::ValueInfoProto& info) {
  Json j;
  j["name"] = info.name();
  if (info.type().has_tensor_type()) {
    j["dtype"] = DataTypeName(info.type().tensor_type().elem_type());
  } else if (info.type().has_sequence_type()) {
    j["dtype"] = "sequence";
  } else if (info.type().has_map_type()) {
    j["dtype"] = "map";
  } else {
    j["dtype"] = nullptr;
  }
  j["shape"] = ShapeJson(info.type());
  return j;
}

int64_t CountSubgraphNodes(const onnx::GraphProto& graph) {
  int64_t total = 0;
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) total += attr.g().node_size() + CountSubgraphNodes(attr.g());
      for (const auto& g : attr.graphs()) total += g.node_size() + CountSubgraphNodes(g);
    }
  }
  return total;
}

std::string DimText(const Json& dim) {
  if (dim.is_null()) return "?";
  if (dim.is_string()) return dim.get<std::string>();
  return std::to_string(dim.get<int64_t>());
}

std::string ShapeText(const Json& shape) {
  if (shape.is_null()) return "(unknown rank)";
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) out += ", ";
    out += DimText(shape[i]);
  }
  return out + "]";
}

std::string HumanBytes(int64_t bytes) {
  std::ostringstream os;
  os.precision(3);
  if (bytes >= (1LL << 30)) {
    os << static_cast<double>(bytes) / (1LL << 30) << " GiB";
  } else if (bytes >= (1LL << 20)) {
    os << static_cast<double>(bytes) / (1LL << 20) << " MiB";
  } else if (bytes >= (1LL << 10)) {
    os << static_cast<double>(bytes) / (1LL << 10) << " KiB";
  } else {
    os << bytes << " B";
  }
  return os.str();
}

}  // namespace

Json InspectModel(const Model& model) {
  const onnx::ModelProto& proto = model.proto();
  const onnx::GraphProto& graph = proto.graph();
  Json doc;
  doc["path"] = model.path().empty() ? model.origin() : model.path();
  struct stat st;
  if (!model.path().empty() && stat(model.path().c_str(), &st) == 0) {
    doc["file_bytes"] = static_cast<int64_t>(st.st_size);
  } else {
    doc["file_bytes"] = nullptr;
  }
  doc["ir_version"] = proto.ir_version();
  doc["producer"] = {{"name", proto.producer_name()}, {"version", proto.producer_version()}};
  Json opsets = Json::array();
  for (const auto& opset : proto.opset_import()) {
    opsets.push_back({{"domain", DomainName(opset.domain())},
                      {"version", opset.version()}});
  }
  doc["opsets"] = opsets;
  doc["graph_name"] = graph.name();

  std::set<std::string> initializer_names;
  for (const auto& init : graph.initializer()) initializer_names.insert(init.name());
  Json inputs = Json::array();
  for (const auto& input : graph.input()) {
    if (initializer_names.count(input.name()) == 0) inputs.push_back(ValueInfoJson(input));
  }
  doc["inputs"] = inputs;
  Json outputs = Json::array();
  for (const auto& output : graph.output()) outputs.push_back(ValueInfoJson(output));
  doc["outputs"] = outputs;

  std::map<std::string, int64_t> by_op;
  std::map<std::string, int64_t> quant_ops;
  for (const auto& node : graph.node()) {
    ++by_op[QualifiedOpType(node)];
    if (IsQuantizationOp(node)) ++quant_ops[QualifiedOpType(node)];
  }
  doc["nodes"] = {{"total", graph.node_size()},
                  {"subgraph_nodes", CountSubgraphNodes(graph)},
                  {"by_op_type", Json(by_op)}};

  struct DtypeTotals {
    int64_t tensors = 0, count = 0, bytes = 0;
  };
  std::map<std::string, DtypeTotals> by_dtype;
  int64_t total_count = 0, total_bytes = 0;
  for (const ConstantTensor& c : model.constants()) {
    DtypeTotals& t = by_dtype[DataTypeName(c.data_type)];
    ++t.tensors;
    t.count += c.element_count;
    t.bytes += c.byte_size;
    total_count += c.element_count;
    total_bytes += c.byte_size;
  }
  Json dtypes = Json::object();
  for (const auto& [name, t] : by_dtype) {
    dtypes[name] = {{"tensors", t.tensors}, {"count", t.count}, {"bytes", t.bytes}};
  }
  int64_t initializers = 0, constant_nodes = 0;
  for (const ConstantTensor& c : model.constants()) {
    (c.source == ConstantSource::kInitializer ? initializers : constant_nodes) += 1;
  }
  doc["parameters"] = {{"count", total_count},
                       {"bytes", total_bytes},
                       {"initializers", initializers},
                       {"constant_nodes", constant_nodes},
                       {"by_dtype", dtypes}};

  Json weights = Json::array();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const int index = WeightInputIndex(node);
    if (index < 0 || index >= node.input_size()) continue;
    const ConstantTensor* c = model.FindConstant(node.input(index));
    if (c == nullptr || !IsFloatingPoint(c->data_type)) continue;
    weights.push_back({{"node", node.name().empty() ? "#" + std::to_string(i) : node.name()},
                       {"op_type", node.op_type()},
                       {"input_index", index},
                       {"tensor", c->name},
                       {"dtype", DataTypeName(c->data_type)},
                       {"shape", c->dims},
                       {"source", c->source == ConstantSource::kInitializer ? "initializer"
                                                                            : "constant_node"}});
  }
  doc["quantizable_weights"] = weights;
  doc["quantization"] = {{"present", !quant_ops.empty()}, {"by_op_type", Json(quant_ops)}};

  Json external = Json::array();
  for (const ExternalFile& f : model.ExternalFiles()) {
    external.push_back({{"location", f.location}, {"bytes", f.bytes}});
  }
  doc["external_data"] = external;
  doc["warnings"] = model.warnings();
  return doc;
}

std::string RenderInspection(const Json& doc) {
  std::ostringstream os;
  os << "model:       " << doc["path"].get<std::string>();
  if (!doc["file_bytes"].is_null()) os << " (" << HumanBytes(doc["file_bytes"].get<int64_t>()) << ")";
  os << "\nir_version:  " << doc["ir_version"].get<int64_t>() << "\nopsets:      ";
  bool first = true;
  for (const auto& opset : doc["opsets"]) {
    os << (first ? "" : ", ") << opset["domain"].get<std::string>() << " "
       << opset["version"].get<int64_t>();
    first = false;
  }
  os << "\nproducer:    " << doc["producer"]["name"].get<std::string>() << " "
     << doc["producer"]["version"].get<std::string>() << "\n";
  os << "inputs:\n";
  for (const auto& v : doc["inputs"]) {
    os << "  " << v["name"].get<std::string>() << "  "
       << (v["dtype"].is_null() ? "?" : v["dtype"].get<std::string>()) << " "
       << ShapeText(v["shape"]) << "\n";
  }
  os << "outputs:\n";
  for (const auto& v : doc["outputs"]) {
    os << "  " << v["name"].get<std::string>() << "  "
       << (v["dtype"].is_null() ? "?" : v["dtype"].get<std::string>()) << " "
       << ShapeText(v["shape"]) << "\n";
  }
  os << "nodes:       " << doc["nodes"]["total"].get<int64_t>();
  if (doc["nodes"]["subgraph_nodes"].get<int64_t>() > 0) {
    os << " (+" << doc["nodes"]["subgraph_nodes"].get<int64_t>() << " in subgraphs)";
  }
  os << "\n";
  for (const auto& [op, count] : doc["nodes"]["by_op_type"].items()) {
    os << "  " << op << " " << count.get<int64_t>() << "\n";
  }
  const Json& params = doc["parameters"];
  os << "parameters:  " << params["count"].get<int64_t>() << " in "
     << HumanBytes(params["bytes"].get<int64_t>()) << " (" << params["initializers"].get<int64_t>()
     << " initializers, " << params["constant_nodes"].get<int64_t>() << " Constant nodes)\n";
  for (const auto& [dtype, t] : params["by_dtype"].items()) {
    os << "  " << dtype << ": " << t["count"].get<int64_t>() << " in " << t["tensors"].get<int64_t>()
       << " tensors, " << HumanBytes(t["bytes"].get<int64_t>()) << "\n";
  }
  os << "quantizable weights: " << doc["quantizable_weights"].size() << "\n";
  for (const auto& w : doc["quantizable_weights"]) {
    os << "  " << w["node"].get<std::string>() << " (" << w["op_type"].get<std::string>() << ") "
       << w["tensor"].get<std::string>() << " " << w["dtype"].get<std::string>() << " "
       << ShapeText(w["shape"]);
    if (w["source"] == "constant_node") os << " [Constant node]";
    os << "\n";
  }
  os << "quantization present: " << (doc["quantization"]["present"].get<bool>() ? "yes" : "no")
     << "\n";
  for (const auto& [op, count] : doc["quantization"]["by_op_type"].items()) {
    os << "  " << op << " " << count.get<int64_t>() << "\n";
  }
  if (!doc["external_data"].empty()) {
    os << "external data:\n";
    for (const auto& f : doc["external_data"]) {
      os << "  " << f["location"].get<std::string>() << " (" << HumanBytes(f["bytes"].get<int64_t>())
         << ")\n";
    }
  }
  for (const auto& w : doc["warnings"]) os << "warning: " << w.get<std::string>() << "\n";
  return os.str();
}

}  // namespace pq
