// Executor: pq's reference CPU executor (Eigen) for ONNX models.
//
// It runs the FP32 model over calibration data (calling an Observer with every
// tensor as it is produced) and runs FP32 and quantized models for validation.
// Kernels live in one table (src/exec/kernel_registry.cc); a model with an op
// that has no kernel is refused at Create(), with the whole list.
#ifndef PQ_EXECUTOR_H_
#define PQ_EXECUTOR_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

// Receives every tensor of a run as it is produced: the feeds first, then each
// node's outputs in execution order. The tensor is only valid during the call.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnTensor(const std::string& name, const Tensor& value) = 0;
  // Whether values inside If/Loop/Scan bodies are shown too: each time the
  // body runs, its inputs and what it reads from the enclosing graphs (so
  // that their ranges are those of the runs that take the body), then its
  // nodes' outputs, named "<body path>::<name>"
  // (e.g. "If 'gate'/then_branch::x"; the path names each control-flow node
  // by name, or "<OpType> #<index>" when it has none). Main-graph values only
  // by default.
  virtual bool ObservesBodies() const { return false; }
};

// Figures of one run.
struct RunStats {
  // The largest total size of the activations (feeds and node outputs, not
  // constants) that were alive at once.
  int64_t peak_activation_bytes = 0;
};

struct ExecutorOptions {
  // Intra-op threads; 0 = all cores. Results are identical for every count.
  int threads = 0;
  // The most iterations one Loop node may run per execution of that node
  // (its trip count M and its condition notwithstanding): a Loop that would
  // run more fails with kInvalidInput naming the node, rather than hang or
  // exhaust memory on a condition that never becomes false. At least 1.
  int64_t max_loop_iterations = 1000000;
};

class Executor {
 public:
  ~Executor();

  // Prepares `model` for running. The model must outlive the executor.
  // Errors: kNotSupported naming the first unsupported node (name, op type,
  // domain, opset) and listing every unsupported op of the model.
  static Result<std::unique_ptr<Executor>> Create(const Model& model,
                                                  const ExecutorOptions& options = {});

  // The graph inputs a run of `model` needs (initializers are not among
  // them), without preparing the model: what Create's inputs() will be.
  // Lets a caller check its data before the (costly) Create.
  static std::vector<TensorInfo> GraphInputs(const Model& model);
  // The graph outputs, as Create's outputs() will be.
  static std::vector<TensorInfo> GraphOutputs(const Model& model);

  // The graph inputs a run needs (initializers are not among them) and the
  // graph outputs it returns.
  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }

  // Runs the model on `feeds` (by input name) and returns the graph outputs in
  // declaration order. Each intermediate tensor is released as soon as its
  // last consumer has run. Errors: a missing or unknown input, a dtype or rank
  // or fixed dim that differs from the declaration (naming the input, expected
  // and actual), or a kernel's error naming its node.
  // `stats`, when given, receives the run's figures.
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& feeds,
                                  Observer* observer = nullptr, RunStats* stats = nullptr) const;

  // A run in pieces, for a caller that observes a long model part by part
  // and keeps only the values that cross each cut between the parts (the
  // segmented Hessian stage of weight rounding). The pieces run exactly the
  // kernels an observed Run runs, on the same values.
  //
  // The main-graph node index that each step of an observed run executes, in
  // execution order (held Constant nodes have no step).
  const std::vector<int>& ObservedStepNodes() const;
  // Runs steps [begin, end) of an observed run. `live`: for begin == 0, the
  // feeds, checked as Run checks them; else what the piece ending at `begin`
  // returned. `observer` (may be null) sees each value of `live` (in name
  // order), then each step's outputs. Returns the values that steps at or
  // after `end` read (graph outputs that no later step reads are dropped).
  // Errors: Run's; kInvalidArgument for a range outside the steps, or a value
  // a step reads that `live` does not hold.
  Result<std::map<std::string, Tensor>> RunPiece(std::map<std::string, Tensor> live, size_t begin, size_t end,
                                                 Observer* observer = nullptr) const;

 private:
  struct Impl;
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
};

// The ops the executor supports, as "domain:Op[since-until]" lines, sorted.
std::vector<std::string> SupportedOps();

}  // namespace pq

#endif  // PQ_EXECUTOR_H_
