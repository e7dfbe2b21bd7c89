// A structure-aware sweep over every registered kernel (issue 22, item 1):
// each op runs on inputs of rank 0 to 4, zero-sized and small dims, float and
// int64 (with index-like values beyond any table, negative ones and zeros),
// with and without hostile attributes (axes out of range, window attributes
// longer or shorter than the spatial rank, zero groups, ...). A kernel may
// compute a result or refuse; it must never crash, throw, or read outside its
// tensors (this file is what the sanitizer build exercises), and a refusal
// must be kInvalidInput or kNotSupported naming the node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernel_test_util.h"
#include "onnx/defs/schema.h"

namespace pq {
namespace {

// Most inputs any kernel takes in this sweep (GroupQueryAttention has more;
// its later inputs are optional).
constexpr int kMaxSweepInputs = 6;
// Int64 inputs cycle through these: valid indices, one beyond any small
// table, negative beyond any small table, and a zero.
const std::vector<int64_t> kIntPattern = {1, 7, -9, 0, 2};
// Uint8 inputs (quantized data, zero points, packed nibbles) cycle through
// these.
const std::vector<uint8_t> kBytePattern = {1, 7, 255, 0, 128};
// Float inputs cycle through these.
const std::vector<float> kFloatPattern = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f};

struct HostileAttr {
  const char* name;
  onnx::AttributeProto::AttributeType type;
  std::vector<int64_t> ints;  // INT uses ints[0]
  std::string s;
};

// Attributes that kernels index by or divide by; each variant sets one.
std::vector<HostileAttr> HostileAttrs() {
  using A = onnx::AttributeProto;
  return {
      {"axis", A::INT, {9}, ""},
      {"axis", A::INT, {-9}, ""},
      {"axes", A::INTS, {9}, ""},
      {"axes", A::INTS, {0, 0}, ""},
      {"kernel_shape", A::INTS, {2}, ""},
      {"kernel_shape", A::INTS, {1, 1, 1, 1, 1}, ""},
      {"strides", A::INTS, {1}, ""},
      {"strides", A::INTS, {1, 1, 1, 1, 1}, ""},
      {"pads", A::INTS, {1}, ""},
      {"pads", A::INTS, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, ""},
      {"dilations", A::INTS, {1, 1, 1, 1, 1}, ""},
      {"output_padding", A::INTS, {5, 5}, ""},
      {"output_shape", A::INTS, {3}, ""},
      {"group", A::INT, {0}, ""},
      {"group", A::INT, {3}, ""},
      {"perm", A::INTS, {0}, ""},
      {"perm", A::INTS, {5, 0, 1, 2}, ""},
      {"blocksize", A::INT, {0}, ""},
      {"blocksize", A::INT, {3}, ""},
      {"block_size", A::INT, {0}, ""},
      {"block_size", A::INT, {3}, ""},
      {"num_heads", A::INT, {0}, ""},
      {"num_heads", A::INT, {3}, ""},
      {"kv_num_heads", A::INT, {0}, ""},
      {"kv_num_heads", A::INT, {3}, ""},
      {"hidden_size", A::INT, {0}, ""},
      {"hidden_size", A::INT, {3}, ""},
      {"K", A::INT, {7}, ""},
      {"N", A::INT, {5}, ""},
      {"bits", A::INT, {3}, ""},
      {"batch_dims", A::INT, {3}, ""},
      {"k", A::INT, {9}, ""},
      {"split", A::INTS, {1, 7}, ""},
      {"starts", A::INTS, {0, 0, 0, 0, 0}, ""},
      {"shape", A::INTS, {7, 3}, ""},
      {"rotary_embedding_dim", A::INT, {3}, ""},
      {"quantize_axis", A::INT, {9}, ""},
      {"gather_axis", A::INT, {9}, ""},
      {"equation", A::STRING, {}, "ij,jk->ik"},
      {"equation", A::STRING, {}, "i,i->"},
      {"equation", A::STRING, {}, "...ii->...i"},
      {"equation", A::STRING, {}, "ij->k"},
      {"direction", A::STRING, {}, "bidirectional"},
      {"mode", A::STRING, {}, "CRD"},
      {"storage_order", A::INT, {1}, ""},
      {"storage_order", A::INT, {2}, ""},
      {"onesided", A::INT, {1}, ""},
      {"inverse", A::INT, {1}, ""},
      {"output_datatype", A::INT, {6}, ""},
  };
}

Tensor PatternTensor(int32_t dtype, const std::vector<int64_t>& shape) {
  Tensor t = Tensor::Allocate(dtype, shape).value();
  for (int64_t i = 0; i < t.size(); ++i) {
    if (dtype == kFloat) {
      t.data<float>()[i] = kFloatPattern[static_cast<size_t>(i) % kFloatPattern.size()];
    } else if (dtype == kUint8) {
      t.data<uint8_t>()[i] = kBytePattern[static_cast<size_t>(i) % kBytePattern.size()];
    } else {
      t.data<int64_t>()[i] = kIntPattern[static_cast<size_t>(i) % kIntPattern.size()];
    }
  }
  return t;
}

// The opset a kernel row is run at: its newest version, at least 13.
int64_t OpsetOf(const exec::KernelDef& def) {
  if (def.until_version != 0) return def.until_version;
  return std::max(def.since_version, 18);
}

// True if the schema of `def` (when onnx knows it) declares attribute `name`;
// ops onnx does not know get every attribute.
bool TakesAttr(const exec::KernelDef& def, const std::string& name) {
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(def.op_type, static_cast<int>(OpsetOf(def)), def.domain);
  if (schema == nullptr) return true;
  return schema->attributes().count(name) > 0;
}

struct SweepCounts {
  int runs = 0;
  int refused = 0;
};

// Runs one node and checks the contract above.
void RunAndCheck(const exec::KernelDef& def, const onnx::AttributeProto* attr,
                 const std::vector<Tensor>& inputs, int outputs, SweepCounts* counts) {
  testing::OneNodeCase c;
  std::vector<std::string> names, out_names;
  for (size_t i = 0; i < inputs.size(); ++i) names.push_back("in" + std::to_string(i));
  for (int o = 0; o < outputs; ++o) out_names.push_back("out" + std::to_string(o));
  c.node = testing::MakeNode(def.op_type, names, out_names, def.domain);
  c.node.set_name("swept");
  if (attr != nullptr) *c.node.add_attribute() = *attr;
  for (size_t i = 0; i < inputs.size(); ++i) c.inputs[names[i]] = inputs[i];
  c.opset = OpsetOf(def);
  c.threads = 1;
  std::string label = std::string(def.op_type) + " opset " + std::to_string(c.opset) +
                      (attr != nullptr ? " attr " + attr->name() : std::string()) + " inputs";
  for (const Tensor& t : inputs) label += " " + ShapeToString(t.shape()) + (t.dtype() == kFloat ? "f" : t.dtype() == kUint8 ? "u8" : "i");
  ++counts->runs;
  Result<std::vector<Tensor>> out = testing::RunOneNode(c);
  if (out.ok()) return;
  ++counts->refused;
  if (getenv("PQ_SWEEP_VERBOSE") != nullptr) printf("%s: %s\n", label.c_str(), out.status().ToString().c_str());
  const Status::Code code = out.status().code();
  EXPECT_TRUE(code == Status::Code::kInvalidInput || code == Status::Code::kNotSupported)
      << label << ": " << out.status().ToString();
  EXPECT_NE(out.status().message().find("swept"), std::string::npos)
      << label << ": " << out.status().ToString();
}

// Element types of the inputs, one row per pattern: input i takes
// row[min(i, size - 1)]. Float models, index and shape inputs, and the
// quantized ops' (data, scale, zero point) triples.
const std::vector<std::vector<int32_t>> kDtypePatterns = {
    {kFloat},
    {kFloat, kInt64},
    {kFloat, kInt64, kFloat, kInt64, kFloat, kInt64},
    {kUint8, kFloat, kUint8, kUint8, kFloat, kUint8},
    {kFloat, kUint8, kFloat, kUint8},
    {kInt64},
};

// The input lists of one sweep cell: `n` inputs of rank `rank` with every
// dim `dim`, one list per dtype pattern, and once more with the inputs after
// the first 1-D (the usual shape of scales, indices and shape tensors).
std::vector<std::vector<Tensor>> InputLists(int n, int rank, int64_t dim) {
  const std::vector<int64_t> shape(static_cast<size_t>(rank), dim);
  std::vector<std::vector<Tensor>> lists;
  for (const std::vector<int32_t>& dtypes : kDtypePatterns) {
    for (bool later_1d : {false, true}) {
      if (later_1d && n == 1) continue;
      std::vector<Tensor> list;
      for (int i = 0; i < n; ++i) {
        const int32_t dtype = dtypes[std::min<size_t>(static_cast<size_t>(i), dtypes.size() - 1)];
        const std::vector<int64_t> s = (later_1d && i > 0) ? std::vector<int64_t>{dim} : shape;
        list.push_back(PatternTensor(dtype, s));
      }
      lists.push_back(std::move(list));
    }
  }
  return lists;
}

TEST(KernelHostileSweepTest, EveryKernelRefusesOrRunsOnHostileShapes) {
  SweepCounts counts;
  for (const exec::KernelDef& def : exec::AllKernels()) {
    if (std::string(def.op_type) == "If" || std::string(def.op_type) == "Loop") continue;
    for (int n = 1; n <= kMaxSweepInputs; ++n) {
      for (int rank = 0; rank <= 4; ++rank) {
        for (int64_t dim : {int64_t{0}, int64_t{1}, int64_t{3}}) {
          for (const auto& inputs : InputLists(n, rank, dim)) {
            RunAndCheck(def, nullptr, inputs, 1, &counts);
          }
        }
      }
    }
  }
  // The sweep reaches the kernels: most cells are refused, not all.
  EXPECT_GT(counts.refused, 0);
  EXPECT_LT(counts.refused, counts.runs);
}

TEST(KernelHostileSweepTest, EveryKernelRefusesOrRunsWithHostileAttributes) {
  SweepCounts counts;
  for (const HostileAttr& h : HostileAttrs()) {
    onnx::AttributeProto attr;
    attr.set_name(h.name);
    attr.set_type(h.type);
    if (h.type == onnx::AttributeProto::INT) attr.set_i(h.ints[0]);
    if (h.type == onnx::AttributeProto::INTS) {
      for (int64_t v : h.ints) attr.add_ints(v);
    }
    if (h.type == onnx::AttributeProto::STRING) attr.set_s(h.s);
    for (const exec::KernelDef& def : exec::AllKernels()) {
      if (!TakesAttr(def, h.name)) continue;
      for (int n = 1; n <= kMaxSweepInputs; ++n) {
        for (int rank : {0, 2, 3, 4}) {
          for (const auto& inputs : InputLists(n, rank, 2)) {
            RunAndCheck(def, &attr, inputs, 1, &counts);
          }
        }
      }
    }
  }
  EXPECT_GT(counts.refused, 0);
}

// Kernels with several outputs write only the ones the node lists.
TEST(KernelHostileSweepTest, EveryKernelHonoursTheListedOutputs) {
  SweepCounts counts;
  for (const exec::KernelDef& def : exec::AllKernels()) {
    if (std::string(def.op_type) == "If" || std::string(def.op_type) == "Loop") continue;
    for (int n = 1; n <= kMaxSweepInputs; ++n) {
      for (int outputs : {2, 4}) {
        for (const auto& inputs : InputLists(n, 3, 2)) {
          RunAndCheck(def, nullptr, inputs, outputs, &counts);
        }
      }
    }
  }
  EXPECT_GT(counts.runs, 0);
}

}  // namespace
}  // namespace pq
