// Replacing a MatMul or Gemm that reads a quantized weight by other nodes
// (com.microsoft MatMulBnb4/MatMulNBits, or the dynamic-int8 product): the
// node-list builder, shared small constants, and Gemm's alpha/beta/C tail.
#ifndef PQ_QUANT_MATMUL_REPLACE_H_
#define PQ_QUANT_MATMUL_REPLACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/status.h"
#include "quant/blockwise_writer.h"
#include "quant/name_allocator.h"

namespace pq::quant {

float AttrFloat(const onnx::NodeProto& node, const char* name, float def);
int64_t AttrInt(const onnx::NodeProto& node, const char* name, int64_t def);

// Adds the com.microsoft opset (version 1) to `model` unless imported.
void EnsureMicrosoftOpset(onnx::ModelProto* model);

// Builds nodes into a list, naming them and their outputs after a base.
class NodeList {
 public:
  NodeList(NameAllocator* names, std::string base, std::vector<onnx::NodeProto>* out)
      : names_(names), base_(std::move(base)), out_(out) {}
  // Appends `op` reading `inputs`; returns the node, valid until the next
  // Add (its output is named `output`, or a fresh name when empty).
  onnx::NodeProto* Add(const std::string& op, const std::vector<std::string>& inputs,
                       const std::string& output = "");
  // A fresh name after the base, for extra outputs.
  std::string Fresh(const std::string& suffix) { return names_->Make(base_ + "_" + suffix); }

 private:
  NameAllocator* names_;
  std::string base_;
  std::vector<onnx::NodeProto>* out_;
};

// Returns the name of a constant of `dtype`, `dims` and raw bytes `raw`,
// adding it to `graph` on first use and sharing it afterwards.
std::string SharedConstant(onnx::GraphProto* graph, NameAllocator* names, BlockwiseNodes* nodes,
                           const std::string& base, int32_t dtype, const std::vector<int64_t>& dims,
                           const std::string& raw);

// Errors (kNotSupported, naming the node and `what`) unless `node` is a
// MatMul, or a Gemm with transA = 0, reading the weight as input 1, with
// one output.
Status CheckReplaceableMatMul(const onnx::NodeProto& node, int input, const char* what);

// Finishes a replaced MatMul/Gemm: `product` is A x W. For a Gemm it is
// multiplied by alpha and beta x C is added (each only when needed); the last
// node writes the node's own output. For a MatMul, an Identity-free rename:
// REQUIRES the caller named the product's producer output `node.output(0)`
// when NeedsGemmTail(node) is false.
// alpha and beta are written as `float_type`, the product's.
void AddGemmTail(const onnx::NodeProto& node, std::string product, int32_t float_type,
                 onnx::GraphProto* graph, NameAllocator* names, BlockwiseNodes* nodes, NodeList* list);

// Whether AddGemmTail adds nodes for `node` (alpha != 1 or a C input).
bool NeedsGemmTail(const onnx::NodeProto& node);

}  // namespace pq::quant

#endif  // PQ_QUANT_MATMUL_REPLACE_H_
