#include "quant/shared_constants.h"

#include <set>
#include <utility>

namespace pq::quant {
namespace {

// A graph of the model and the graphs enclosing it, outermost first.
struct GraphAt {
  onnx::GraphProto* graph;
  std::vector<const onnx::GraphProto*> enclosing;
};

void CollectGraphs(onnx::GraphProto* graph, std::vector<const onnx::GraphProto*> enclosing,
                   std::vector<GraphAt>* out) {
  out->push_back({graph, enclosing});
  enclosing.push_back(graph);
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) CollectGraphs(attr.mutable_g(), enclosing, out);
      for (auto& g : *attr.mutable_graphs()) CollectGraphs(&g, enclosing, out);
    }
  }
}

// The bytes that make two initializers equal: the tensor without its name.
std::string Content(const onnx::TensorProto& t) {
  onnx::TensorProto copy = t;
  copy.clear_name();
  std::string bytes;
  copy.SerializeToString(&bytes);
  return bytes;
}

// The type and dims, compared before the content (cheap, and so that the
// main graph's large weights are serialized only when a body has a tensor
// of their shape).
std::string Signature(const onnx::TensorProto& t) {
  std::string s = std::to_string(t.data_type());
  for (int64_t d : t.dims()) s += "," + std::to_string(d);
  return s;
}

// Renames the reads of `from` in `graph` and the graphs inside it (node
// inputs, and outputs of a nested body that hands the value on: a body's
// outputs are matched by position, not name).
void RenameReads(onnx::GraphProto* graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph->mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (in == from) in = to;
    }
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) RenameReads(attr.mutable_g(), from, to);
      for (auto& g : *attr.mutable_graphs()) RenameReads(&g, from, to);
    }
  }
  for (auto& v : *graph->mutable_value_info()) {
    if (v.name() == from) v.set_name(to);
  }
  for (auto& v : *graph->mutable_output()) {
    if (v.name() == from) v.set_name(to);
  }
}

// Adds the names DequantizeLinear nodes of `graph` (and the graphs inside
// it) read.
void CollectDequantizeReads(const onnx::GraphProto& graph, std::set<std::string>* reads) {
  for (const auto& node : graph.node()) {
    if (node.op_type() == "DequantizeLinear") reads->insert(node.input().begin(), node.input().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectDequantizeReads(attr.g(), reads);
      for (const auto& g : attr.graphs()) CollectDequantizeReads(g, reads);
    }
  }
}

bool IsOutput(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& v : graph.output()) {
    if (v.name() == name) return true;
  }
  return false;
}

// Removes the initializer named `name` from `graph`; returns it.
onnx::TensorProto Remove(onnx::GraphProto* graph, const std::string& name) {
  auto* inits = graph->mutable_initializer();
  for (int i = 0; i < inits->size(); ++i) {
    if (inits->Get(i).name() != name) continue;
    onnx::TensorProto t = std::move(*inits->Mutable(i));
    inits->DeleteSubrange(i, 1);
    return t;
  }
  return {};
}

// The graphs from the main graph down to `at`'s graph.
std::vector<const onnx::GraphProto*> Chain(const GraphAt& at) {
  std::vector<const onnx::GraphProto*> chain = at.enclosing;
  chain.push_back(at.graph);
  return chain;
}

// An initializer of a body that may be shared.
struct Candidate {
  size_t graph;  // index in the GraphAt list
  std::string name;
  std::string content;
};

}  // namespace

std::map<std::string, std::string> ShareBodyConstants(onnx::ModelProto* model) {
  std::vector<GraphAt> graphs;
  CollectGraphs(model->mutable_graph(), {}, &graphs);
  std::map<std::string, std::string> renamed;
  if (graphs.size() < 2) return renamed;
  std::set<std::string> body_signatures;
  for (size_t g = 1; g < graphs.size(); ++g) {
    for (const auto& t : graphs[g].graph->initializer()) body_signatures.insert(Signature(t));
  }
  if (body_signatures.empty()) return renamed;
  // ONNX Runtime (1.30) fuses DequantizeLinear -> MatMul inside a body only
  // when the DequantizeLinear's inputs are the body's own initializers (else
  // the session fails: "Missing required weight"), so those stay.
  std::set<std::string> dequantized;
  for (size_t g = 1; g < graphs.size(); ++g) CollectDequantizeReads(*graphs[g].graph, &dequantized);
  // The initializers of every graph whose shape some body initializer has,
  // by content: the first one seen in each graph.
  std::map<const onnx::GraphProto*, std::map<std::string, std::string>> by_content;  // graph -> content -> name
  std::vector<Candidate> candidates;
  for (size_t g = 0; g < graphs.size(); ++g) {
    for (const auto& t : graphs[g].graph->initializer()) {
      if (body_signatures.count(Signature(t)) == 0) continue;
      std::string content = Content(t);
      by_content[graphs[g].graph].emplace(content, t.name());
      if (g > 0 && !IsOutput(*graphs[g].graph, t.name()) && dequantized.count(t.name()) == 0) {
        candidates.push_back({g, t.name(), std::move(content)});
      }
    }
  }
  // A body's copy of what an enclosing graph holds reads the enclosing one.
  std::vector<Candidate> left;
  for (Candidate& c : candidates) {
    const GraphAt& at = graphs[c.graph];
    std::string kept;
    for (const onnx::GraphProto* outer : at.enclosing) {
      auto it = by_content[outer].find(c.content);
      if (it != by_content[outer].end()) {
        kept = it->second;
        break;
      }
    }
    if (kept.empty()) {
      left.push_back(std::move(c));
      continue;
    }
    Remove(at.graph, c.name);
    RenameReads(at.graph, c.name, kept);
    renamed[c.name] = kept;
  }
  // Equal copies in sibling bodies: the first moves to the graphs' common
  // enclosing graph, the others read it.
  const bool main_may_hold = model->ir_version() >= 4;
  std::map<std::string, std::vector<size_t>> groups;  // content -> indices in `left`
  for (size_t i = 0; i < left.size(); ++i) groups[left[i].content].push_back(i);
  for (const auto& [content, members] : groups) {
    if (members.size() < 2) continue;
    const Candidate& first = left[members[0]];
    // The innermost graph enclosing every member's graph.
    std::vector<const onnx::GraphProto*> common = Chain(graphs[first.graph]);
    for (size_t m : members) {
      const std::vector<const onnx::GraphProto*> chain = Chain(graphs[left[m].graph]);
      size_t same = 0;
      while (same < common.size() && same < chain.size() && common[same] == chain[same]) ++same;
      common.resize(same);
    }
    if (common.back() == graphs[first.graph].graph) continue;  // all in one graph: nothing to share
    if (common.size() == 1 && !main_may_hold) continue;
    onnx::GraphProto* target = nullptr;
    for (GraphAt& g : graphs) {
      if (g.graph == common.back()) target = g.graph;
    }
    *target->add_initializer() = Remove(graphs[first.graph].graph, first.name);
    for (size_t k = 1; k < members.size(); ++k) {
      const Candidate& c = left[members[k]];
      Remove(graphs[c.graph].graph, c.name);
      RenameReads(graphs[c.graph].graph, c.name, first.name);
      renamed[c.name] = first.name;
    }
  }
  return renamed;
}

void RenameWritten(const std::map<std::string, std::string>& renamed, std::vector<QuantizedTensorRecord>* records) {
  if (renamed.empty()) return;
  auto rename = [&](std::string* name) {
    auto it = renamed.find(*name);
    if (it != renamed.end()) *name = it->second;
  };
  for (QuantizedTensorRecord& r : *records) {
    rename(&r.quantized_name);
    rename(&r.scale_name);
    rename(&r.zero_point_name);
    if (r.double_quant) {
      rename(&r.double_quant->scales_name);
      rename(&r.double_quant->offset_name);
    }
  }
}

}  // namespace pq::quant
