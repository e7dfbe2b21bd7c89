// Internal pieces of the Llama graph recognition (llama_graph.cc): an index
// of the graph's producers and consumers, constant look-ups that see through
// Identity/Cast/Transpose, and the matchers of RMSNorm and rotary embeddings.
// Not part of pq's API.
#ifndef PQ_GGUF_LLAMA_MATCH_H_
#define PQ_GGUF_LLAMA_MATCH_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "pq/status.h"

namespace pq::gguf::internal {

// The main graph of a model indexed by tensor name. Borrows `model`, which
// must outlive the view.
class GraphView {
 public:
  explicit GraphView(const Model& model);

  const Model& model() const { return model_; }
  // The node writing `tensor`, or nullptr (graph input, initializer, "").
  const onnx::NodeProto* Producer(const std::string& tensor) const;
  // The nodes reading `tensor`, in graph order (empty when none).
  const std::vector<const onnx::NodeProto*>& Consumers(const std::string& tensor) const;
  bool IsGraphInput(const std::string& tensor) const { return inputs_.count(tensor) > 0; }
  bool IsGraphOutput(const std::string& tensor) const { return outputs_.count(tensor) > 0; }
  // The constant named `tensor` itself (no look-through), or nullptr.
  const ConstantTensor* Constant(const std::string& tensor) const;

 private:
  const Model& model_;
  std::map<std::string, const onnx::NodeProto*> producer_;
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers_;
  std::set<std::string> inputs_;
  std::set<std::string> outputs_;
};

// How a node is named in messages: its name, else "<op> -> <first output>".
std::string NodeLabel(const onnx::NodeProto& node);
// The integer / float / int-list attribute `name` of `node`, or `fallback`.
int64_t IntAttr(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
double FloatAttr(const onnx::NodeProto& node, const std::string& name, double fallback);
std::vector<int64_t> IntsAttr(const onnx::NodeProto& node, const std::string& name);
// True for ONNX's default domain ("" or "ai.onnx").
bool IsDefaultDomain(const onnx::NodeProto& node);

// A constant reached from a tensor through Identity, Cast and a 2-D
// Transpose: `transposed` when an odd number of Transposes lie between.
struct ConstantRef {
  const ConstantTensor* constant = nullptr;
  bool transposed = false;
};
// Follows `tensor` back to a constant, or nullopt when it is computed.
std::optional<ConstantRef> ResolveConstant(const GraphView& view, const std::string& tensor);

// The values of `constant` as float (float32/float16/bfloat16/double) or as
// int64 (int32/int64 constants). Errors: kNotSupported naming the tensor.
Result<std::vector<float>> ConstantFloats(const ConstantTensor& constant);
Result<std::vector<int64_t>> ConstantInts(const ConstantTensor& constant);
// The single value of a one-element constant reached from `tensor`, else nullopt.
std::optional<double> ScalarOf(const GraphView& view, const std::string& tensor);

// True when `node` is a MatMul (or a Gemm) whose B input resolves to a 2-D
// constant: a projection by a weight matrix.
bool IsWeightMatMul(const GraphView& view, const onnx::NodeProto& node);
// The weight-matrix products reading `tensor` as their A input.
std::vector<const onnx::NodeProto*> WeightMatMulsOf(const GraphView& view, const std::string& tensor);

// A projection's weight in llama.cpp's orientation.
struct Projection {
  const onnx::NodeProto* node = nullptr;
  int64_t rows = 0;                   // output features
  int64_t cols = 0;                   // input features
  std::vector<float> values;          // [rows, cols] row-major
  std::string source;                 // the ONNX constant
  std::string activation;             // the product's A input
};
// Reads the weight of a node IsWeightMatMul accepts as [out, in] (an ONNX
// MatMul B [in, out] is transposed). Errors: kNotSupported for a Gemm with
// transA, a non-float weight, a bias (Gemm's C, or an Add of a constant to
// the product), naming the node.
Result<Projection> ReadProjection(const GraphView& view, const onnx::NodeProto& node);

// Nodes found walking backward from `start` through every input, not
// walking past tensors in `stop` (nor constants, graph inputs and the input
// of Shape/Size nodes: what a value is computed from, not what its shape
// is), at most `limit` nodes. The stop tensors reached are added to `reached`.
std::vector<const onnx::NodeProto*> BackwardClosure(const GraphView& view, const std::string& start,
                                                    const std::set<std::string>& stop,
                                                    std::set<std::string>* reached,
                                                    size_t limit = 4000);

// An RMSNorm found on the residual stream.
struct NormMatch {
  std::string output;     // the normalized, scaled tensor
  std::string residual;   // the stream it normalizes (the residual sum)
  std::string gamma;      // the tensor holding the scale weight
  double epsilon = 0.0;
  int32_t epsilon_type = 1;  // the ONNX type the graph holds it in (float: an attribute)
  const onnx::NodeProto* last = nullptr;  // the node writing `output`
};
// Finds the RMSNorm of the stream `residual` (+ `pending` when not "": the
// branch output not yet added, as an Add node or a SkipSimplified-
// LayerNormalization adds it). Accepts the decomposed form (Pow or Mul(x, x),
// ReduceMean, Add eps, Sqrt, Div(1, .) / Reciprocal / Div(x, .), Mul,
// Mul gamma), SimplifiedLayerNormalization, RMSNormalization and
// SkipSimplifiedLayerNormalization. nullopt when none is found.
std::optional<NormMatch> MatchRmsNorm(const GraphView& view, const std::string& residual,
                                      const std::string& pending);

// What the rotary embedding of a block tells.
struct RopeMatch {
  bool half_split = true;
  int64_t rope_dims = 0;
  double base = 0.0;
  int64_t context_length = 0;  // table rows; 0 when angles are computed at run time
};
// Reads the rotary embedding applied between a q projection and the
// attention, from the nodes `closure` of that path: a com.microsoft or ONNX
// RotaryEmbedding node, or the rotate_half form (Slice, Neg, Concat) with
// cos/sin tables gathered by position or Cos/Sin of run-time angles from an
// inverse-frequency constant. `where` names the block in messages.
// Errors: kNotSupported when no rotary embedding is found or its tables do
// not follow base^(-2i/dims) at position 1 (scaled rope).
Result<RopeMatch> MatchRope(const GraphView& view, const std::vector<const onnx::NodeProto*>& closure,
                            const std::string& where);
// Reads base, dims and rows from cos/sin tables [rows, cols] (`half_width`:
// the tables hold rope_dims/2 columns, as GroupQueryAttention's caches do;
// else full-width tables cat(freqs, freqs) are told from half ones by their
// content). Errors as MatchRope.
Result<RopeMatch> RopeFromTables(const ConstantTensor& cos, const ConstantTensor& sin, bool half_width,
                                 const std::string& where);

}  // namespace pq::gguf::internal

#endif  // PQ_GGUF_LLAMA_MATCH_H_
