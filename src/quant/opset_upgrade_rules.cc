#include "quant/opset_upgrade_rules.h"

#include <cstring>
#include <utility>

#include "pq/data_type.h"
#include "quant/float_type.h"
#include "quant/proto_build.h"

namespace pq::quant::upgrade {

std::string NodeLabel(const onnx::NodeProto& node) {
  return "node '" + node.name() + "' (" + node.op_type() + ")";
}

std::string UpgradeContext::NewName(const onnx::NodeProto& node, const std::string& what) {
  return names_->Make((node.name().empty() ? node.op_type() : node.name()) + "_" + what);
}

std::string UpgradeContext::AddInt64s(const onnx::NodeProto& node, const std::string& what,
                                      const std::vector<int64_t>& values, bool scalar) {
  const std::string name = NewName(node, what);
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
  *main_->add_initializer() = Initializer(name, onnx::TensorProto::INT64, dims, RawBytes(values));
  return name;
}

std::string UpgradeContext::AddFloats(const onnx::NodeProto& node, const std::string& what,
                                      const std::vector<float>& values,
                                      const std::vector<int64_t>& dims) {
  const std::string name = NewName(node, what);
  *main_->add_initializer() = Initializer(name, onnx::TensorProto::FLOAT, dims, RawBytes(values));
  return name;
}

Result<std::string> UpgradeContext::AddScalarOfType(const onnx::NodeProto& node,
                                                    const std::string& what, double value,
                                                    int32_t dtype) {
  if (dtype == 0 || dtype == onnx::TensorProto::FLOAT) {
    return AddFloats(node, what, {static_cast<float>(value)}, {});
  }
  if (dtype == onnx::TensorProto::FLOAT16 || dtype == onnx::TensorProto::BFLOAT16) {
    // The attribute was a float that the op compared with values of this
    // type; rounded to the type, it bounds them the same way.
    const std::string name = NewName(node, what);
    *main_->add_initializer() = Initializer(name, dtype, {}, FloatRaw({static_cast<float>(value)}, dtype));
    return name;
  }
  if (dtype == onnx::TensorProto::DOUBLE) {
    const std::string name = NewName(node, what);
    *main_->add_initializer() =
        Initializer(name, onnx::TensorProto::DOUBLE, {}, RawBytes(std::vector<double>{value}));
    return name;
  }
  return Status::NotSupported(NodeLabel(node) + ": pq cannot write its " + what +
                              " as an input of ONNX element type " + DataTypeName(dtype) +
                              " (float, float16, bfloat16 and double only)");
}

void UpgradeContext::Declare(const onnx::GraphProto& graph) {
  auto declare = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type()) return;
    const onnx::TypeProto::Tensor& t = v.type().tensor_type();
    ValueFacts& f = facts_[v.name()];
    if (t.elem_type() != 0) f.elem_type = t.elem_type();
    if (t.has_shape()) f.rank = t.shape().dim_size();
  };
  for (const auto& v : graph.input()) declare(v);
  for (const auto& v : graph.output()) declare(v);
  for (const auto& v : graph.value_info()) declare(v);
  for (const auto& t : graph.initializer()) {
    facts_[t.name()] = {t.data_type(), t.dims_size()};
  }
}

ValueFacts UpgradeContext::Facts(const std::string& value) const {
  auto f = facts_.find(value);
  return f == facts_.end() ? ValueFacts{} : f->second;
}

namespace {

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, const char* name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

// Removes attribute `name` from `node`, copying it to `out` (may be null);
// false when the node has none.
bool TakeAttr(onnx::NodeProto* node, const char* name, onnx::AttributeProto* out = nullptr) {
  auto* attrs = node->mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i) {
    if (attrs->Get(i).name() != name) continue;
    if (out != nullptr) *out = attrs->Get(i);
    attrs->DeleteSubrange(i, 1);
    return true;
  }
  return false;
}

std::vector<int64_t> Ints(const onnx::AttributeProto& a) { return {a.ints().begin(), a.ints().end()}; }

// Sets input `index` of `node`, padding skipped optional inputs with "".
void SetInput(onnx::NodeProto* node, int index, const std::string& name) {
  while (node->input_size() <= index) node->add_input("");
  node->set_input(index, name);
}

void SetString(onnx::NodeProto* node, const char* name, const std::string& value) {
  TakeAttr(node, name);
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

void ReplaceInt(onnx::NodeProto* node, const char* name, int64_t value) {
  TakeAttr(node, name);
  SetInt(node, name, value);
}

Status RequireInput(const onnx::NodeProto& node) {
  if (node.input_size() < 1 || node.input(0).empty()) {
    return Status::InvalidInput(NodeLabel(node) + " has no input");
  }
  return Status::OK();
}

// Moves attribute `name` of `node` to input 1, as the tensor `make` builds
// from it. A node without the attribute is left as it is, or refused when
// `required`.
template <typename Make>
Status AttrToInputOne(onnx::NodeProto* node, const char* name, bool required, NodeEdit* edit, Make make) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  onnx::AttributeProto attr;
  if (!TakeAttr(node, name, &attr)) {
    return required ? Status::InvalidInput(NodeLabel(*node) + " lacks its " + name + " attribute")
                    : Status::OK();
  }
  edit->changed = true;
  SetInput(node, 1, make(attr));
  return Status::OK();
}

// Squeeze, Unsqueeze, ReduceSum (13) and the other reductions (18): the
// `axes` attribute becomes input 1. An empty or absent list stays absent
// (all axes, or every unit dim for Squeeze, in both forms).
Status AxesToInput(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  onnx::AttributeProto axes;
  if (!TakeAttr(node, "axes", &axes)) return Status::OK();
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  edit->changed = true;
  if (axes.ints_size() > 0) SetInput(node, 1, ctx.AddInt64s(*node, "axes", Ints(axes)));
  return Status::OK();
}

// Softmax, LogSoftmax, Hardmax (13): before 13 they normalise the input
// flattened to 2-D at `axis` (default 1); from 13 along `axis` alone. When
// the declared rank makes `axis` the last one the two agree and the axis is
// only made explicit; otherwise Flatten(axis) → op(axis 1) → Reshape to
// Shape(input), which needs no rank.
Status NormalizeOverOneAxis(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  const onnx::AttributeProto* a = FindAttr(*node, "axis");
  const int64_t axis = a != nullptr ? a->i() : 1;
  edit->changed = true;
  const int rank = ctx.Facts(node->input(0)).rank;
  if (rank >= 1 && (axis < 0 ? axis + rank : axis) == rank - 1) {
    ReplaceInt(node, "axis", rank - 1);
    return Status::OK();
  }
  const std::string input = node->input(0), output = node->output(0);
  onnx::NodeProto flatten;
  flatten.set_op_type("Flatten");
  flatten.set_name(ctx.NewName(*node, "flatten"));
  flatten.add_input(input);
  flatten.add_output(ctx.NewName(*node, "flat"));
  SetInt(&flatten, "axis", axis);
  onnx::NodeProto shape;
  shape.set_op_type("Shape");
  shape.set_name(ctx.NewName(*node, "shape_of_input"));
  shape.add_input(input);
  shape.add_output(ctx.NewName(*node, "input_shape"));
  onnx::NodeProto reshape;
  reshape.set_op_type("Reshape");
  reshape.set_name(ctx.NewName(*node, "reshape"));
  reshape.add_input(ctx.NewName(*node, "flat_out"));
  reshape.add_input(shape.output(0));
  reshape.add_output(output);
  node->set_input(0, flatten.output(0));
  node->set_output(0, reshape.input(0));
  ReplaceInt(node, "axis", 1);
  edit->before = {flatten, shape};
  edit->after = {reshape};
  return Status::OK();
}

// Slice (10): starts, ends, axes attributes become inputs 1, 2, 3.
Status SliceToInputs(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  onnx::AttributeProto starts, ends, axes;
  if (!TakeAttr(node, "starts", &starts) || !TakeAttr(node, "ends", &ends)) {
    return Status::InvalidInput(NodeLabel(*node) + " lacks its starts or ends attribute");
  }
  edit->changed = true;
  node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
  node->add_input(ctx.AddInt64s(*node, "starts", Ints(starts)));
  node->add_input(ctx.AddInt64s(*node, "ends", Ints(ends)));
  if (TakeAttr(node, "axes", &axes)) node->add_input(ctx.AddInt64s(*node, "axes", Ints(axes)));
  return Status::OK();
}

// Pad (11): the pads attribute becomes input 1, a non-zero `value` input 2
// (the data's type; 0 is the default of both forms).
Status PadToInputs(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  onnx::AttributeProto pads, value;
  if (!TakeAttr(node, "pads", &pads)) {
    return Status::InvalidInput(NodeLabel(*node) + " lacks its pads attribute");
  }
  edit->changed = true;
  node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
  node->add_input(ctx.AddInt64s(*node, "pads", Ints(pads)));
  if (TakeAttr(node, "value", &value) && value.f() != 0.0f) {
    Result<std::string> v =
        ctx.AddScalarOfType(*node, "constant_value", value.f(), ctx.Facts(node->input(0)).elem_type);
    if (!v.ok()) return v.status();
    node->add_input(v.value());
  }
  return Status::OK();
}

// Clip (11): the min and max attributes become inputs 1 and 2 (the input's
// type); an absent bound stays absent (no bound in both forms).
Status ClipToInputs(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  const int32_t dtype = ctx.Facts(node->input(0)).elem_type;
  const char* kBounds[] = {"min", "max"};
  for (int i = 0; i < 2; ++i) {
    onnx::AttributeProto bound;
    if (!TakeAttr(node, kBounds[i], &bound)) continue;
    edit->changed = true;
    Result<std::string> v = ctx.AddScalarOfType(*node, kBounds[i], bound.f(), dtype);
    if (!v.ok()) return v.status();
    SetInput(node, i + 1, v.value());
  }
  return Status::OK();
}

// TopK (10): the k attribute becomes input 1, an int64 tensor of shape [1].
Status TopKToInput(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  return AttrToInputOne(node, "k", true, edit,
                        [&](const onnx::AttributeProto& k) { return ctx.AddInt64s(*node, "k", {k.i()}); });
}

// Split (13): the split attribute becomes input 1.
Status SplitToInput(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  return AttrToInputOne(node, "split", false, edit, [&](const onnx::AttributeProto& split) {
    return ctx.AddInt64s(*node, "split", Ints(split));
  });
}

// Split (18): without a split input, num_outputs is required; it is the
// output count (equal parts, as before when the dim divides, which was
// required before 18).
Status SplitNumOutputs(onnx::NodeProto* node, UpgradeContext&, NodeEdit* edit) {
  if ((node->input_size() > 1 && !node->input(1).empty()) || FindAttr(*node, "num_outputs")) {
    return Status::OK();
  }
  edit->changed = true;
  SetInt(node, "num_outputs", node->output_size());
  return Status::OK();
}

// Dropout (10): the mask output became bool (it had the input's type).
Status DropoutMaskType(onnx::NodeProto* node, UpgradeContext&, NodeEdit*) {
  if (node->output_size() > 1 && !node->output(1).empty()) {
    return Status::NotSupported(NodeLabel(*node) +
                                ": its mask output has the input's type before opset 10 and is "
                                "bool from 10");
  }
  return Status::OK();
}

// Dropout (12): the ratio attribute becomes input 1 (a float scalar; the
// inference-mode output is the input either way).
Status DropoutRatioToInput(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  return AttrToInputOne(node, "ratio", false, edit, [&](const onnx::AttributeProto& ratio) {
    return ctx.AddFloats(*node, "ratio", {ratio.f()}, {});
  });
}

// BatchNormalization (9): `spatial` is gone; spatial = 1 (the default) is
// what 9 computes, spatial = 0 is refused.
Status BatchNormDropSpatial(onnx::NodeProto* node, UpgradeContext&, NodeEdit* edit) {
  onnx::AttributeProto spatial;
  if (!TakeAttr(node, "spatial", &spatial)) return Status::OK();
  if (spatial.i() == 0) {
    return Status::NotSupported(NodeLabel(*node) +
                                ": spatial = 0 (per-activation statistics) was removed at opset 9");
  }
  edit->changed = true;
  return Status::OK();
}

// BatchNormalization (14): training outputs changed (mean, var, saved_mean,
// saved_var → running_mean, running_var); only inference mode is upgraded.
Status BatchNormInferenceOnly(onnx::NodeProto* node, UpgradeContext&, NodeEdit*) {
  for (int i = 1; i < node->output_size(); ++i) {
    if (!node->output(i).empty()) {
      return Status::NotSupported(NodeLabel(*node) +
                                  ": training-mode outputs changed at opset 14; pq upgrades "
                                  "inference-mode BatchNormalization only");
    }
  }
  return Status::OK();
}

// Resize-10 (X, scales) as Resize-11 (X, roi, scales) with the coordinates
// Resize-10 used (asymmetric) and `nearest_mode` for mode nearest.
void ResizeTenAsEleven(onnx::NodeProto* node, UpgradeContext& ctx, const std::string& nearest_mode) {
  const std::string scales = node->input_size() > 1 ? node->input(1) : "";
  const std::string roi = ctx.target() >= 13 ? "" : ctx.AddFloats(*node, "roi", {}, {0});
  node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
  node->add_input(roi);
  node->add_input(scales);
  SetString(node, "coordinate_transformation_mode", "asymmetric");
  const onnx::AttributeProto* mode = FindAttr(*node, "mode");
  if (mode == nullptr || mode->s() == "nearest") SetString(node, "nearest_mode", nearest_mode);
}

// Upsample (deprecated at 10) → Resize. Upsample's scales are >= 1, where
// Resize-10's nearest rounding is floor.
Status UpsampleToResize(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  edit->changed = true;
  onnx::AttributeProto mode, scales;
  std::string how = TakeAttr(node, "mode", &mode) ? mode.s() : "nearest";
  if (how == "bilinear") how = "linear";
  if (how != "nearest" && how != "linear") {
    return Status::NotSupported(NodeLabel(*node) + ": mode '" + how + "' has no Resize form");
  }
  if (TakeAttr(node, "scales", &scales)) {
    node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
    node->add_input(ctx.AddFloats(*node, "scales", {scales.floats().begin(), scales.floats().end()},
                                  {scales.floats_size()}));
  }
  node->clear_attribute();
  node->set_op_type("Resize");
  SetString(node, "mode", how);
  if (ctx.target() >= 11) ResizeTenAsEleven(node, ctx, "floor");
  return Status::OK();
}

// Resize (11): Resize-10 rounds nearest down when upsampling and up when
// downsampling an axis; the constant scales say which applies to all axes.
Status ResizeRoiInput(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit) {
  if (FindAttr(*node, "coordinate_transformation_mode") != nullptr) return Status::OK();  // from Upsample
  PQ_RETURN_IF_ERROR(RequireInput(*node));
  edit->changed = true;
  const onnx::AttributeProto* mode = FindAttr(*node, "mode");
  std::string nearest_mode = "floor";
  if (mode == nullptr || mode->s() == "nearest") {
    const ConstantTensor* s = node->input_size() > 1 ? ctx.Constant(node->input(1)) : nullptr;
    if (s == nullptr || s->data_type != onnx::TensorProto::FLOAT || s->data == nullptr) {
      return Status::NotSupported(NodeLabel(*node) +
                                  ": opset-10 nearest rounding depends on whether each scale is "
                                  "below 1, and its scales are not a float constant");
    }
    std::vector<float> v(static_cast<size_t>(s->element_count));
    if (!v.empty()) std::memcpy(v.data(), s->data, v.size() * sizeof(float));
    bool up = true, down = true;
    for (float f : v) {
      up &= f >= 1.0f;
      down &= f <= 1.0f;
    }
    if (!up && !down) {
      return Status::NotSupported(NodeLabel(*node) +
                                  ": opset-10 nearest rounding mixes up- and downsampled axes, "
                                  "which no opset-11 nearest_mode reproduces");
    }
    nearest_mode = up ? "floor" : "ceil";
  }
  ResizeTenAsEleven(node, ctx, nearest_mode);
  return Status::OK();
}

// Resize (13): coordinate_transformation_mode tf_half_pixel_for_nn was
// removed.
Status ResizeNoTfHalfPixelForNn(onnx::NodeProto* node, UpgradeContext&, NodeEdit*) {
  const onnx::AttributeProto* m = FindAttr(*node, "coordinate_transformation_mode");
  if (m != nullptr && m->s() == "tf_half_pixel_for_nn") {
    return Status::NotSupported(NodeLabel(*node) +
                                ": coordinate_transformation_mode tf_half_pixel_for_nn was removed "
                                "at opset 13");
  }
  return Status::OK();
}

// Scatter (removed at 11) is ScatterElements.
Status ScatterToScatterElements(onnx::NodeProto* node, UpgradeContext&, NodeEdit* edit) {
  node->set_op_type("ScatterElements");
  edit->changed = true;
  return Status::OK();
}

}  // namespace

const std::vector<UpgradeRule>& UpgradeRules() {
  static const std::vector<UpgradeRule> kRules = {
      {"BatchNormalization", 9, BatchNormDropSpatial},
      {"BatchNormalization", 14, BatchNormInferenceOnly},
      {"Slice", 10, SliceToInputs},
      {"TopK", 10, TopKToInput},
      {"Dropout", 10, DropoutMaskType},
      {"Dropout", 12, DropoutRatioToInput},
      {"Upsample", 10, UpsampleToResize},
      {"Resize", 11, ResizeRoiInput},
      {"Resize", 13, ResizeNoTfHalfPixelForNn},
      {"Pad", 11, PadToInputs},
      {"Clip", 11, ClipToInputs},
      {"Scatter", 11, ScatterToScatterElements},
      {"Softmax", 13, NormalizeOverOneAxis},
      {"LogSoftmax", 13, NormalizeOverOneAxis},
      {"Hardmax", 13, NormalizeOverOneAxis},
      {"Squeeze", 13, AxesToInput},
      {"Unsqueeze", 13, AxesToInput},
      {"ReduceSum", 13, AxesToInput},
      {"Split", 13, SplitToInput},
      {"Split", 18, SplitNumOutputs},
      {"ReduceMean", 18, AxesToInput},
      {"ReduceMax", 18, AxesToInput},
      {"ReduceMin", 18, AxesToInput},
      {"ReduceProd", 18, AxesToInput},
      {"ReduceL1", 18, AxesToInput},
      {"ReduceL2", 18, AxesToInput},
      {"ReduceLogSum", 18, AxesToInput},
      {"ReduceLogSumExp", 18, AxesToInput},
      {"ReduceSumSquare", 18, AxesToInput},
  };
  return kRules;
}

}  // namespace pq::quant::upgrade
