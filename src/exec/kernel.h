// The kernel interface of pq's executor: what a kernel sees of its node, how
// it reads attributes, allocates outputs and reports errors, and how kernels
// are registered (one table per op family, listed in kernel_registry.cc).
#ifndef PQ_EXEC_KERNEL_H_
#define PQ_EXEC_KERNEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq::exec {

// "node 'NAME' (OP)", or for a node without a name "unnamed node (OP)
// producing 'OUTPUT'": how every executor error names its node.
std::string DescribeNode(const onnx::NodeProto& node);

// How a control-flow kernel (If, Loop, Scan) runs its node's graph
// attributes. The executor plans each body once, when it is created, and
// implements this for the duration of one kernel call (graph_run.cc): a
// kernel must not keep the pointer.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  // The graph attribute `attr` of the node, or nullptr if it has none (the
  // kernel reads its formal inputs' and outputs' declarations from it).
  virtual const onnx::GraphProto* Body(const std::string& attr) const = 0;
  // Runs body `attr` with `inputs` bound to its formal inputs in order (the
  // values of enclosing graphs it reads by name are bound by the runner) and
  // returns its outputs in order. Errors: an input count that differs from
  // the body's, a body kernel's error, prefixed with the node and attribute.
  virtual Result<std::vector<Tensor>> Run(const std::string& attr,
                                          std::vector<Tensor> inputs) const = 0;
  // The most iterations a Loop may run (ExecutorOptions::max_loop_iterations).
  virtual int64_t max_iterations() const = 0;
};

class KernelContext {
 public:
  KernelContext(const onnx::NodeProto& node, int64_t opset, std::vector<const Tensor*> inputs,
                std::vector<Tensor>* outputs, int threads, bool fused_relu = false)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(outputs),
        threads_(threads), fused_relu_(fused_relu) {}

  const onnx::NodeProto& node() const { return node_; }
  // The opset version of the node's domain in the model.
  int64_t opset() const { return opset_; }
  int threads() const { return threads_; }
  // True when the executor fused a following Relu into this node: the kernel
  // must clamp output 0 at zero. The executor sets it only for Conv.
  bool fused_relu() const { return fused_relu_; }

  // Inputs: num_inputs() counts listed inputs, missing optional ones included.
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // True if input `i` is listed, non-empty and defined.
  bool has_input(int i) const {
    return i < num_inputs() && inputs_[static_cast<size_t>(i)] != nullptr &&
           inputs_[static_cast<size_t>(i)]->defined();
  }
  // REQUIRES: has_input(i).
  const Tensor& input(int i) const { return *inputs_[static_cast<size_t>(i)]; }

  int num_outputs() const { return static_cast<int>(outputs_->size()); }
  // Errors unless the node lists at most `max` outputs: a kernel sets only
  // the outputs its op has.
  Status CheckMaxOutputs(int max) const;
  void set_output(int i, Tensor t) { (*outputs_)[static_cast<size_t>(i)] = std::move(t); }

  // Attributes, with defaults for absent ones.
  bool HasAttr(const char* name) const { return Find(name) != nullptr; }
  int64_t Int(const char* name, int64_t def) const;
  float Float(const char* name, float def) const;
  std::string String(const char* name, const std::string& def) const;
  std::vector<int64_t> Ints(const char* name) const;
  std::vector<float> Floats(const char* name) const;
  // The tensor attribute `name`, or nullptr.
  const onnx::TensorProto* TensorAttr(const char* name) const;

  // Returns kInvalidInput "<DescribeNode>: <what>".
  Status Error(const std::string& what) const;
  // Returns kNotSupported "<DescribeNode>: <what>".
  Status Unsupported(const std::string& what) const;
  // Allocates an output tensor; errors name the node.
  Result<Tensor> Allocate(int32_t dtype, std::vector<int64_t> shape) const;
  // Allocates without zeroing. REQUIRES: the kernel writes every element.
  Result<Tensor> AllocateUninitialized(int32_t dtype, std::vector<int64_t> shape) const;

  // Reads a constant int64 (or int32) tensor input as a vector.
  Result<std::vector<int64_t>> InputAsInts(int i) const;

  // The element type the model declares for input `i` when the executor
  // knows it (initializers, Constant nodes, graph inputs), else 0. It tells
  // apart types held alike: uint4 and uint8 are both held as uint8.
  int32_t declared_dtype(int i) const {
    return i >= 0 && i < static_cast<int>(declared_dtypes_.size())
               ? declared_dtypes_[static_cast<size_t>(i)]
               : 0;
  }
  // Sets declared_dtype() for each input, in input order.
  void set_declared_dtypes(std::vector<int32_t> dtypes) { declared_dtypes_ = std::move(dtypes); }

  // The element type of input `i` as the model has it, declared or implied
  // by the node producing it (value_types.h), else 0. float16 inputs are held
  // as float: a kernel that stores a float16 intermediate the way ONNX
  // Runtime's float16 kernel does (GroupQueryAttention's rotated queries and
  // keys) rounds it when input_type() is kFloat16.
  int32_t input_type(int i) const {
    return input_types_ != nullptr && i >= 0 && i < static_cast<int>(input_types_->size())
               ? (*input_types_)[static_cast<size_t>(i)]
               : 0;
  }
  // Sets input_type() for each input, in input order; `types` must outlive
  // the context.
  void set_input_types(const std::vector<int32_t>* types) { input_types_ = types; }

  // True if input `i` is a constant of the model (an initializer, a Constant
  // node's value, a weight the executor folded a BatchNormalization into),
  // false if computed at run time or fed by the caller.
  bool input_constant(int i) const {
    return i >= 0 && i < static_cast<int>(constant_inputs_.size()) && constant_inputs_[static_cast<size_t>(i)];
  }
  // Sets input_constant() for each input, in input order.
  void set_constant_inputs(std::vector<bool> constant) { constant_inputs_ = std::move(constant); }

  // The runner of the node's bodies, or nullptr for a node without graph
  // attributes. Set by the executor; valid during the kernel call only.
  const SubgraphRunner* subgraphs() const { return subgraphs_; }
  void set_subgraphs(const SubgraphRunner* runner) { subgraphs_ = runner; }

 private:
  const onnx::AttributeProto* Find(const char* name) const;

  const onnx::NodeProto& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor>* outputs_;
  int threads_;
  bool fused_relu_;
  std::vector<int32_t> declared_dtypes_;
  const std::vector<int32_t>* input_types_ = nullptr;
  std::vector<bool> constant_inputs_;
  const SubgraphRunner* subgraphs_ = nullptr;
};

using KernelFn = Status (*)(KernelContext& ctx);

// One registry row: `fn` runs `op_type` of `domain` ("" = ai.onnx) for opset
// versions since_version..until_version (inclusive; 0 = no upper bound).
struct KernelDef {
  const char* op_type;
  const char* domain;
  int since_version;
  int until_version;
  KernelFn fn;
};

// The op families, one table per file in src/exec/kernels/.
const std::vector<KernelDef>& ElementwiseKernels();
const std::vector<KernelDef>& UnaryKernels();
const std::vector<KernelDef>& CastKernels();
const std::vector<KernelDef>& LinearKernels();
const std::vector<KernelDef>& ConvKernels();
const std::vector<KernelDef>& NormalizationKernels();
const std::vector<KernelDef>& PoolingKernels();
const std::vector<KernelDef>& ReductionKernels();
const std::vector<KernelDef>& ShapeKernels();
const std::vector<KernelDef>& MovementKernels();
const std::vector<KernelDef>& GatherKernels();
const std::vector<KernelDef>& PadKernels();
const std::vector<KernelDef>& TopKKernels();
const std::vector<KernelDef>& ResizeKernels();
const std::vector<KernelDef>& EinsumKernels();
const std::vector<KernelDef>& SoftmaxKernels();
const std::vector<KernelDef>& TriluKernels();
const std::vector<KernelDef>& CumSumKernels();
const std::vector<KernelDef>& NonZeroKernels();
const std::vector<KernelDef>& ScatterGatherNDKernels();
const std::vector<KernelDef>& ScatterElementsKernels();
const std::vector<KernelDef>& RecurrentKernels();
const std::vector<KernelDef>& QuantizedLinearKernels();
const std::vector<KernelDef>& QuantizedMatMulKernels();
const std::vector<KernelDef>& QuantizedConvKernels();
const std::vector<KernelDef>& QuantizedBlockwiseKernels();
const std::vector<KernelDef>& RmsNormKernels();
const std::vector<KernelDef>& RotaryEmbeddingKernels();
const std::vector<KernelDef>& GroupQueryAttentionKernels();
const std::vector<KernelDef>& GatherBlockQuantizedKernels();
const std::vector<KernelDef>& LossKernels();
const std::vector<KernelDef>& SelectionKernels();
const std::vector<KernelDef>& SignalKernels();
const std::vector<KernelDef>& DftKernels();
const std::vector<KernelDef>& MelWeightMatrixKernels();
const std::vector<KernelDef>& DetKernels();
const std::vector<KernelDef>& DetectionKernels();
const std::vector<KernelDef>& GridSampleKernels();
const std::vector<KernelDef>& TfIdfVectorizerKernels();
const std::vector<KernelDef>& ControlFlowKernels();  // If, Loop
const std::vector<KernelDef>& ScanKernels();

// Returns the kernel for a node of `domain`/`op_type` at `opset`, or nullptr.
const KernelDef* FindKernel(const std::string& domain, const std::string& op_type, int64_t opset);

// Every registered row, family by family.
std::vector<KernelDef> AllKernels();

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNEL_H_
