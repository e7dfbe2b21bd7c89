// Constants stored once across a model's graphs. A weight that the main
// graph and an If/Loop/Scan body both read (or two bodies) is quantized by
// each graph's own pass, each writing its codes and scales as initializers
// of its graph. When the two passes wrote the same bytes, one copy is kept in
// the outer graph and the body reads it from there (bodies may read outer
// values), so the model stores the weight once.
#ifndef PQ_QUANT_SHARED_CONSTANTS_H_
#define PQ_QUANT_SHARED_CONSTANTS_H_

#include <map>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/quantize.h"

namespace pq::quant {

// In `model`, every initializer inside a body that equals (type, dims and
// values; name aside) an initializer of a graph enclosing the body is
// dropped and the body's reads of it name the enclosing one. Equal
// initializers left in bodies of which neither encloses the other are
// replaced by one in their nearest common enclosing graph (a body, or the
// main graph when the IR version lets main-graph initializers be other than
// inputs, 4 and above). Initializers a graph lists as an output stay, and
// so do those a DequantizeLinear inside a body reads: ONNX Runtime 1.30
// fails to load a body whose DequantizeLinear -> MatMul reads an outer
// initializer ("Missing required weight"), so weights written as
// DequantizeLinear inputs (int8 static and weights-only, the opset-21
// blocked form) are still stored once per graph; MatMulNBits, MatMulBnb4,
// GatherBlockQuantized and the int8-dynamic form are shared.
// Equal constants are interchangeable, so the model computes what it did.
// Returns the dropped names, each with the name now read instead.
std::map<std::string, std::string> ShareBodyConstants(onnx::ModelProto* model);

// Replaces, in `records`, written names that `renamed` maps.
void RenameWritten(const std::map<std::string, std::string>& renamed, std::vector<QuantizedTensorRecord>* records);

}  // namespace pq::quant

#endif  // PQ_QUANT_SHARED_CONSTANTS_H_
