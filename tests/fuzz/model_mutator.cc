#include "fuzz/model_mutator.h"

#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "pq/executor.h"

namespace pq::fuzz {
namespace {

using Rng = std::mt19937;

// Elements written into a tensor whose shape or dtype a mutation changed.
constexpr int64_t kMaxWrittenElements = 4096;

// Values that find off-by-one, sign, overflow and empty-range bugs; the small
// ones come first and are drawn most often.
constexpr int64_t kInts[] = {0, 1, -1, 2, 3, -2, 4, 5, 7, 8, 16, 31, 63, 64, 65, -65, 1000,
                             std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
constexpr float kFloats[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.0f, 1e-7f, 3.0f, 1e30f, -1e30f,
                             std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min(),
                             std::numeric_limits<float>::max()};
const char* const kStrings[] = {"", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "constant", "reflect",
                                "edge", "wrap", "linear", "nearest", "cubic", "half_pixel", "asymmetric",
                                "align_corners", "tf_crop_and_resize", "round_prefer_floor", "floor",
                                "DCR", "CRD", "tanh", "none", "ij,jk->ik", "bij,bjk->bik", "...ii->...i"};
// Attribute names kernels read; AddAttribute picks one.
const char* const kIntAttributes[] = {"axis", "keepdims", "group", "to", "transA", "transB", "ceil_mode",
                                      "count_include_pad", "exclusive", "reverse", "upper", "largest",
                                      "sorted", "blocksize", "batch_dims", "noop_with_empty_axes",
                                      "select_last_index", "k", "num_heads", "block_size", "bits",
                                      "storage_order", "axes"};
const char* const kIntsAttributes[] = {"axes", "perm", "kernel_shape", "pads", "strides", "dilations",
                                       "output_padding", "output_shape", "shape", "starts", "ends",
                                       "split", "sizes", "value_ints"};
const char* const kFloatAttributes[] = {"alpha", "beta", "epsilon", "gamma", "bias", "lambd", "min",
                                        "max", "value_float", "ratio", "extrapolation_value"};
const int32_t kDtypes[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 8, 17, 21, 22, 0, 99};
const int64_t kOpsets[] = {1, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 99};

// Bytes per element of `dtype` in raw_data; 0 for string, 4-bit and unknown types.
int RawElementSize(int32_t dtype) {
  switch (dtype) {
    case 2: case 3: case 9: case 17: case 18: case 19: case 20: return 1;
    case 4: case 5: case 10: case 16: return 2;
    case 1: case 6: case 12: return 4;
    case 7: case 11: case 13: return 8;
    default: return 0;
  }
}

int64_t ElementCount(const onnx::TensorProto& t) {
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxWrittenElements) return -1;
    count *= d;
    if (count > kMaxWrittenElements) return -1;
  }
  return count;
}

class Mutator {
 public:
  Mutator(onnx::ModelProto* model, uint32_t seed) : model_(model), rng_(seed) {
    CollectGraphs(model_->mutable_graph());
  }

  std::string Run() {
    using Mutation = std::pair<const char*, bool (Mutator::*)()>;
    static const Mutation kMutations[] = {
        {"attribute-value", &Mutator::MutateAttributeValue},
        {"attribute-value", &Mutator::MutateAttributeValue},
        {"attribute-length", &Mutator::MutateAttributeLength},
        {"attribute-remove", &Mutator::RemoveAttribute},
        {"attribute-add", &Mutator::AddAttribute},
        {"input-shape", &Mutator::MutateInputShape},
        {"input-shape", &Mutator::MutateInputShape},
        {"input-dtype", &Mutator::MutateInputDtype},
        {"tensor-shape", &Mutator::MutateTensorShape},
        {"tensor-shape", &Mutator::MutateTensorShape},
        {"tensor-dtype", &Mutator::MutateTensorDtype},
        {"tensor-values", &Mutator::MutateTensorValues},
        {"tensor-values", &Mutator::MutateTensorValues},
        {"edge-rewire", &Mutator::RewireInput},
        {"edge-rewire", &Mutator::RewireInput},
        {"edge-drop", &Mutator::DropInput},
        {"edge-duplicate", &Mutator::DuplicateInput},
        {"output-rewire", &Mutator::RewireGraphOutput},
        {"op-type", &Mutator::ChangeOpType},
        {"node-remove", &Mutator::RemoveNode},
        {"opset", &Mutator::ChangeOpset},
    };
    constexpr int kCount = static_cast<int>(sizeof(kMutations) / sizeof(kMutations[0]));
    for (int attempt = 0; attempt < 8; ++attempt) {
      const Mutation& m = kMutations[Uniform(kCount)];
      if ((this->*m.second)()) return m.first;
    }
    return "";
  }

 private:
  void CollectGraphs(onnx::GraphProto* graph) {
    graphs_.push_back(graph);
    for (auto& node : *graph->mutable_node()) {
      for (auto& attr : *node.mutable_attribute()) {
        if (attr.has_g()) CollectGraphs(attr.mutable_g());
        for (auto& g : *attr.mutable_graphs()) CollectGraphs(&g);
      }
    }
  }

  // A number in [0, n). REQUIRES: n > 0.
  int Uniform(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  template <typename T, size_t N>
  T Pick(const T (&values)[N]) {
    return values[Uniform(static_cast<int>(N))];
  }
  // Small values most of the time, the hostile tail of kInts sometimes.
  int64_t Int() {
    constexpr int kN = static_cast<int>(sizeof(kInts) / sizeof(kInts[0]));
    return kInts[Uniform(4) == 0 ? Uniform(kN) : Uniform(10)];
  }
  float Float() {
    constexpr int kN = static_cast<int>(sizeof(kFloats) / sizeof(kFloats[0]));
    return kFloats[Uniform(4) == 0 ? Uniform(kN) : Uniform(8)];
  }
  // A dim for a declared or initializer shape: mostly 1-4, sometimes 0 or up to 64.
  int64_t Dim() {
    const int r = Uniform(16);
    if (r == 0) return 0;
    if (r == 1) return 1 + Uniform(64);
    return 1 + Uniform(4);
  }

  onnx::GraphProto* AnyGraph() { return graphs_[static_cast<size_t>(Uniform(static_cast<int>(graphs_.size())))]; }

  onnx::NodeProto* AnyNode() {
    std::vector<onnx::NodeProto*> nodes;
    for (onnx::GraphProto* g : graphs_) {
      for (auto& n : *g->mutable_node()) nodes.push_back(&n);
    }
    if (nodes.empty()) return nullptr;
    return nodes[static_cast<size_t>(Uniform(static_cast<int>(nodes.size())))];
  }

  onnx::AttributeProto* AnyAttribute() {
    std::vector<onnx::AttributeProto*> attrs;
    for (onnx::GraphProto* g : graphs_) {
      for (auto& n : *g->mutable_node()) {
        for (auto& a : *n.mutable_attribute()) attrs.push_back(&a);
      }
    }
    if (attrs.empty()) return nullptr;
    return attrs[static_cast<size_t>(Uniform(static_cast<int>(attrs.size())))];
  }

  // Initializers and tensors held by attributes (Constant's value,
  // ConstantOfShape's value), of every graph.
  onnx::TensorProto* AnyTensor() {
    std::vector<onnx::TensorProto*> tensors;
    for (onnx::GraphProto* g : graphs_) {
      for (auto& t : *g->mutable_initializer()) tensors.push_back(&t);
      for (auto& n : *g->mutable_node()) {
        for (auto& a : *n.mutable_attribute()) {
          if (a.has_t()) tensors.push_back(a.mutable_t());
        }
      }
    }
    if (tensors.empty()) return nullptr;
    return tensors[static_cast<size_t>(Uniform(static_cast<int>(tensors.size())))];
  }

  // Tensor names a node of `graph` may read: graph inputs, initializers and
  // node outputs (also of later nodes: a cycle or a read before the write
  // is a case too).
  std::vector<std::string> Names(const onnx::GraphProto& graph) {
    std::vector<std::string> names;
    for (const auto& v : graph.input()) names.push_back(v.name());
    for (const auto& t : graph.initializer()) names.push_back(t.name());
    for (const auto& n : graph.node()) {
      for (const auto& o : n.output()) {
        if (!o.empty()) names.push_back(o);
      }
    }
    return names;
  }

  bool MutateAttributeValue() {
    onnx::AttributeProto* a = AnyAttribute();
    if (a == nullptr) return false;
    if (a->ints_size() > 0) {
      a->set_ints(Uniform(a->ints_size()), Int());
    } else if (a->floats_size() > 0) {
      a->set_floats(Uniform(a->floats_size()), Float());
    } else if (a->strings_size() > 0) {
      a->set_strings(Uniform(a->strings_size()), Pick(kStrings));
    } else if (a->has_t()) {
      return MutateValues(a->mutable_t());
    } else if (a->type() == onnx::AttributeProto::FLOAT || a->has_f()) {
      a->set_f(Float());
    } else if (a->type() == onnx::AttributeProto::STRING || a->has_s()) {
      a->set_s(Pick(kStrings));
    } else if (a->type() == onnx::AttributeProto::INT || a->has_i()) {
      a->set_i(Int());
    } else {
      return false;
    }
    return true;
  }

  // Grows or shrinks a list attribute by one, or turns it into a scalar.
  bool MutateAttributeLength() {
    onnx::AttributeProto* a = AnyAttribute();
    if (a == nullptr) return false;
    const int r = Uniform(3);
    if (a->ints_size() > 0 || a->type() == onnx::AttributeProto::INTS) {
      if (r == 0) a->add_ints(Int());
      if (r == 1 && a->ints_size() > 0) a->mutable_ints()->RemoveLast();
      if (r == 2) a->clear_ints();
    } else if (a->floats_size() > 0 || a->type() == onnx::AttributeProto::FLOATS) {
      if (r == 0) a->add_floats(Float());
      if (r == 1 && a->floats_size() > 0) a->mutable_floats()->RemoveLast();
      if (r == 2) a->clear_floats();
    } else if (a->strings_size() > 0 || a->type() == onnx::AttributeProto::STRINGS) {
      if (r == 0) a->add_strings(Pick(kStrings));
      if (r == 1 && a->strings_size() > 0) a->mutable_strings()->RemoveLast();
      if (r == 2) a->clear_strings();
    } else if (a->type() == onnx::AttributeProto::INT) {
      // A list where a scalar is declared.
      a->set_type(onnx::AttributeProto::INTS);
      a->add_ints(a->i());
      a->add_ints(Int());
    } else {
      return false;
    }
    return true;
  }

  bool RemoveAttribute() {
    onnx::NodeProto* n = AnyNode();
    if (n == nullptr || n->attribute_size() == 0) return false;
    const int i = Uniform(n->attribute_size());
    n->mutable_attribute()->SwapElements(i, n->attribute_size() - 1);
    n->mutable_attribute()->RemoveLast();
    return true;
  }

  bool AddAttribute() {
    onnx::NodeProto* n = AnyNode();
    if (n == nullptr) return false;
    onnx::AttributeProto* a = n->add_attribute();
    switch (Uniform(3)) {
      case 0:
        a->set_name(Pick(kIntAttributes));
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(Int());
        break;
      case 1: {
        a->set_name(Pick(kIntsAttributes));
        a->set_type(onnx::AttributeProto::INTS);
        const int length = Uniform(7);
        for (int i = 0; i < length; ++i) a->add_ints(Int());
        break;
      }
      default:
        a->set_name(Pick(kFloatAttributes));
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(Float());
        break;
    }
    return true;
  }

  onnx::ValueInfoProto* AnyGraphInput() {
    onnx::GraphProto* g = AnyGraph();
    if (g->input_size() == 0) return nullptr;
    return g->mutable_input(Uniform(g->input_size()));
  }

  // Changes one dim, adds or removes one, makes one symbolic, or drops the shape.
  bool MutateInputShape() {
    onnx::ValueInfoProto* v = AnyGraphInput();
    if (v == nullptr) return false;
    onnx::TensorShapeProto* shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
    const int r = Uniform(8);
    if (r <= 2 && shape->dim_size() > 0) {
      shape->mutable_dim(Uniform(shape->dim_size()))->set_dim_value(Dim());
    } else if (r == 3 && shape->dim_size() > 0) {
      shape->mutable_dim()->SwapElements(Uniform(shape->dim_size()), shape->dim_size() - 1);
      shape->mutable_dim()->RemoveLast();
    } else if (r == 4 && shape->dim_size() > 0) {
      shape->mutable_dim(Uniform(shape->dim_size()))->set_dim_param("n");
    } else if (r == 5) {
      shape->clear_dim();  // rank 0
    } else if (r == 6 && shape->dim_size() < 7) {
      shape->add_dim()->set_dim_value(Dim());
      shape->mutable_dim()->SwapElements(Uniform(shape->dim_size()), shape->dim_size() - 1);
    } else {
      v->mutable_type()->mutable_tensor_type()->clear_shape();
    }
    return true;
  }

  bool MutateInputDtype() {
    onnx::ValueInfoProto* v = AnyGraphInput();
    if (v == nullptr) return false;
    v->mutable_type()->mutable_tensor_type()->set_elem_type(Pick(kDtypes));
    return true;
  }

  // Rewrites `t` as raw_data of its dtype with `count` elements: the old
  // bytes repeated when there were any, else small values.
  void Rewrite(onnx::TensorProto* t, int64_t count) {
    std::string old = t->raw_data();
    t->clear_float_data();
    t->clear_int32_data();
    t->clear_int64_data();
    t->clear_double_data();
    t->clear_uint64_data();
    t->clear_string_data();
    t->clear_raw_data();
    if (t->data_type() == 8) {
      for (int64_t i = 0; i < count; ++i) t->add_string_data(Pick(kStrings));
      return;
    }
    const int size = RawElementSize(t->data_type());
    const int64_t bytes = size > 0 ? count * size : (count + 1) / 2;  // 4-bit types, unknown
    std::string raw(static_cast<size_t>(bytes), '\0');
    for (size_t i = 0; i < raw.size(); ++i) {
      raw[i] = old.empty() ? static_cast<char>(Uniform(4)) : old[i % old.size()];
    }
    t->set_raw_data(raw);
  }

  // Moves typed fields into raw_data (so the other mutations see one layout).
  void ToRaw(onnx::TensorProto* t) {
    const int64_t count = ElementCount(*t);
    if (count < 0 || !t->raw_data().empty()) return;
    std::string raw;
    auto append = [&raw](const void* p, size_t n) { raw.append(static_cast<const char*>(p), n); };
    const int size = RawElementSize(t->data_type());
    if (t->data_type() == 1) {
      for (float v : t->float_data()) append(&v, 4);
    } else if (t->data_type() == 7) {
      for (int64_t v : t->int64_data()) append(&v, 8);
    } else if (t->data_type() == 11) {
      for (double v : t->double_data()) append(&v, 8);
    } else if (t->data_type() == 12 || t->data_type() == 13) {
      for (uint64_t v : t->uint64_data()) append(&v, static_cast<size_t>(size));
    } else if (size > 0 && size <= 4) {
      for (int32_t v : t->int32_data()) append(&v, static_cast<size_t>(size));  // little-endian low bytes
    } else {
      return;
    }
    if (static_cast<int64_t>(raw.size()) != count * size) return;
    t->clear_float_data();
    t->clear_int32_data();
    t->clear_int64_data();
    t->clear_double_data();
    t->clear_uint64_data();
    t->set_raw_data(raw);
  }

  bool MutateTensorShape() {
    onnx::TensorProto* t = AnyTensor();
    if (t == nullptr) return false;
    ToRaw(t);
    const int r = Uniform(5);
    if (r <= 1 && t->dims_size() > 0) {
      t->set_dims(Uniform(t->dims_size()), Dim());
    } else if (r == 2 && t->dims_size() > 0) {
      t->mutable_dims()->SwapElements(Uniform(t->dims_size()), t->dims_size() - 1);
      t->mutable_dims()->RemoveLast();
    } else if (r == 3 && t->dims_size() < 7) {
      t->add_dims(Dim());
      t->mutable_dims()->SwapElements(Uniform(t->dims_size()), t->dims_size() - 1);
    } else {
      t->clear_dims();  // a scalar
    }
    const int64_t count = ElementCount(*t);
    if (count < 0) {
      t->clear_dims();
      Rewrite(t, 1);
    } else {
      Rewrite(t, count);
    }
    return true;
  }

  bool MutateTensorDtype() {
    onnx::TensorProto* t = AnyTensor();
    if (t == nullptr) return false;
    const int64_t count = ElementCount(*t);
    if (count < 0) return false;
    t->set_data_type(Pick(kDtypes));
    t->clear_raw_data();  // fresh small values: the old bytes mean nothing in the new type
    Rewrite(t, count);
    return true;
  }

  // Overwrites one element (raw_data) with an interesting value.
  bool MutateValues(onnx::TensorProto* t) {
    ToRaw(t);
    const int size = RawElementSize(t->data_type());
    std::string* raw = t->mutable_raw_data();
    if (size == 0 || raw->size() < static_cast<size_t>(size)) return false;
    const size_t at = static_cast<size_t>(Uniform(static_cast<int>(raw->size()) / size)) * static_cast<size_t>(size);
    if (t->data_type() == 1) {
      const float v = Float();
      std::memcpy(&(*raw)[at], &v, 4);
    } else if (t->data_type() == 11) {
      const double v = Float();
      std::memcpy(&(*raw)[at], &v, 8);
    } else {
      const int64_t v = Int();
      std::memcpy(&(*raw)[at], &v, static_cast<size_t>(size));  // the low bytes (little-endian)
    }
    return true;
  }

  bool MutateTensorValues() {
    onnx::TensorProto* t = AnyTensor();
    return t != nullptr && MutateValues(t);
  }

  bool RewireInput() {
    onnx::GraphProto* g = AnyGraph();
    if (g->node_size() == 0) return false;
    onnx::NodeProto* n = g->mutable_node(Uniform(g->node_size()));
    const std::vector<std::string> names = Names(*g);
    if (n->input_size() == 0 || names.empty()) return false;
    n->set_input(Uniform(n->input_size()), names[static_cast<size_t>(Uniform(static_cast<int>(names.size())))]);
    return true;
  }

  // Removes an input, or leaves it as "" (an omitted optional input).
  bool DropInput() {
    onnx::NodeProto* n = AnyNode();
    if (n == nullptr || n->input_size() == 0) return false;
    if (Uniform(2) == 0) {
      n->set_input(Uniform(n->input_size()), "");
    } else {
      n->mutable_input()->SwapElements(Uniform(n->input_size()), n->input_size() - 1);
      n->mutable_input()->RemoveLast();
    }
    return true;
  }

  // Appends one of the node's own inputs (or another name) as an extra input.
  bool DuplicateInput() {
    onnx::GraphProto* g = AnyGraph();
    if (g->node_size() == 0) return false;
    onnx::NodeProto* n = g->mutable_node(Uniform(g->node_size()));
    if (n->input_size() > 0 && Uniform(2) == 0) {
      n->add_input(n->input(Uniform(n->input_size())));
      return true;
    }
    const std::vector<std::string> names = Names(*g);
    if (names.empty()) return false;
    n->add_input(names[static_cast<size_t>(Uniform(static_cast<int>(names.size())))]);
    return true;
  }

  bool RewireGraphOutput() {
    onnx::GraphProto* g = AnyGraph();
    const std::vector<std::string> names = Names(*g);
    if (g->output_size() == 0 || names.empty()) return false;
    g->mutable_output(Uniform(g->output_size()))
        ->set_name(names[static_cast<size_t>(Uniform(static_cast<int>(names.size())))]);
    return true;
  }

  // The node runs another op the executor has a kernel for.
  bool ChangeOpType() {
    static const std::vector<std::pair<std::string, std::string>>* ops = [] {
      auto* out = new std::vector<std::pair<std::string, std::string>>;
      for (const std::string& line : SupportedOps()) {  // "domain:Op[since-until]"
        const size_t colon = line.find(':');
        const size_t bracket = line.find('[');
        if (colon == std::string::npos || bracket == std::string::npos || bracket < colon) continue;
        std::string domain = line.substr(0, colon);
        if (domain == "ai.onnx") domain = "";
        out->emplace_back(domain, line.substr(colon + 1, bracket - colon - 1));
      }
      return out;
    }();
    onnx::NodeProto* n = AnyNode();
    if (n == nullptr || ops->empty()) return false;
    const auto& op = (*ops)[static_cast<size_t>(Uniform(static_cast<int>(ops->size())))];
    n->set_domain(op.first);
    n->set_op_type(op.second);
    if (!op.first.empty()) {
      bool imported = false;
      for (const auto& o : model_->opset_import()) imported |= o.domain() == op.first;
      if (!imported) {
        auto* o = model_->add_opset_import();
        o->set_domain(op.first);
        o->set_version(1);
      }
    }
    return true;
  }

  bool RemoveNode() {
    onnx::GraphProto* g = AnyGraph();
    if (g->node_size() < 2) return false;
    g->mutable_node()->DeleteSubrange(Uniform(g->node_size()), 1);
    return true;
  }

  bool ChangeOpset() {
    if (model_->opset_import_size() == 0) return false;
    model_->mutable_opset_import(Uniform(model_->opset_import_size()))->set_version(Pick(kOpsets));
    return true;
  }

  onnx::ModelProto* model_;
  Rng rng_;
  std::vector<onnx::GraphProto*> graphs_;
};

}  // namespace

std::string MutateModel(onnx::ModelProto* model, uint32_t seed) {
  return Mutator(model, seed).Run();
}

}  // namespace pq::fuzz
