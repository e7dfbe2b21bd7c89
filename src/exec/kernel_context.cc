#include "exec/kernel.h"

#include <cstring>

namespace pq::exec {

const onnx::AttributeProto* KernelContext::Find(const char* name) const {
  for (const auto& attr : node_.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

int64_t KernelContext::Int(const char* name, int64_t def) const {
  const onnx::AttributeProto* a = Find(name);
  return a == nullptr ? def : a->i();
}

float KernelContext::Float(const char* name, float def) const {
  const onnx::AttributeProto* a = Find(name);
  return a == nullptr ? def : a->f();
}

std::string KernelContext::String(const char* name, const std::string& def) const {
  const onnx::AttributeProto* a = Find(name);
  return a == nullptr ? def : a->s();
}

std::vector<int64_t> KernelContext::Ints(const char* name) const {
  const onnx::AttributeProto* a = Find(name);
  if (a == nullptr) return {};
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::vector<float> KernelContext::Floats(const char* name) const {
  const onnx::AttributeProto* a = Find(name);
  if (a == nullptr) return {};
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

const onnx::TensorProto* KernelContext::TensorAttr(const char* name) const {
  const onnx::AttributeProto* a = Find(name);
  return (a == nullptr || !a->has_t()) ? nullptr : &a->t();
}

std::string DescribeNode(const onnx::NodeProto& node) {
  if (!node.name().empty() || node.output_size() == 0 || node.output(0).empty()) {
    return "node '" + node.name() + "' (" + node.op_type() + ")";
  }
  return "unnamed node (" + node.op_type() + ") producing '" + node.output(0) + "'";
}

Status KernelContext::Error(const std::string& what) const {
  return Status::InvalidInput(DescribeNode(node_) + ": " + what);
}

Status KernelContext::Unsupported(const std::string& what) const {
  return Status::NotSupported(DescribeNode(node_) + ": " + what);
}

Status KernelContext::CheckMaxOutputs(int max) const {
  if (num_outputs() <= max) return Status::OK();
  return Error("lists " + std::to_string(num_outputs()) + " outputs, the op has at most " +
               std::to_string(max));
}

Result<Tensor> KernelContext::Allocate(int32_t dtype, std::vector<int64_t> shape) const {
  Result<Tensor> t = Tensor::Allocate(dtype, std::move(shape));
  if (!t.ok()) return Error(t.status().message());
  return t;
}

Result<Tensor> KernelContext::AllocateUninitialized(int32_t dtype, std::vector<int64_t> shape) const {
  Result<Tensor> t = Tensor::AllocateUninitialized(dtype, std::move(shape));
  if (!t.ok()) return Error(t.status().message());
  return t;
}

Result<std::vector<int64_t>> KernelContext::InputAsInts(int i) const {
  if (!has_input(i)) return Error("input " + std::to_string(i) + " is missing");
  const Tensor& t = input(i);
  std::vector<int64_t> out(static_cast<size_t>(t.size()));
  if (t.dtype() == kInt64) {
    if (t.size() > 0) std::memcpy(out.data(), t.data<int64_t>(), out.size() * 8);
  } else if (t.dtype() == kInt32) {
    for (int64_t k = 0; k < t.size(); ++k) out[static_cast<size_t>(k)] = t.data<int32_t>()[k];
  } else {
    return Error("input " + std::to_string(i) + " must be int64 or int32");
  }
  return out;
}

}  // namespace pq::exec
