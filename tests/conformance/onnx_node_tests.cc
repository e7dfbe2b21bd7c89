// pq_conformance: runs ONNX's backend node tests (Debian's libonnx-testdata,
// data/node/<case>/model.onnx + test_data_set_*/{input,output}_*.pb) through
// pq's executor and prints pass/fail/unsupported counts per op.
//
// Usage: pq_conformance NODE_DATA_DIR [--filter SUBSTRING] [--verbose] [--min-pass N]
// Exit 0 when no case of a supported op fails and at least N cases pass
// (ctest passes the count pq has reached, so coverage cannot regress); 1
// otherwise; 2 on bad usage.
// A case is "unsupported" when the executor refuses the model or its data as
// not supported (an op, attribute mode or data type it has no kernel for).
#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/float16.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/tensor_proto_io.h"

namespace {

// Tolerances of ONNX's own backend test runner for float outputs.
constexpr double kRelativeTolerance = 1e-3;
constexpr double kAbsoluteTolerance = 1e-5;

std::vector<std::string> ListDir(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    // Natural order so that input_10 follows input_9.
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  });
  return names;
}

// Returns "" when `actual` matches `expected`, else a description.
std::string Compare(const pq::Tensor& expected, const pq::Tensor& actual) {
  if (expected.shape() != actual.shape()) {
    return "shape " + pq::ShapeToString(actual.shape()) + ", expected " +
           pq::ShapeToString(expected.shape());
  }
  if (expected.dtype() != actual.dtype()) {
    return "dtype " + std::to_string(actual.dtype()) + ", expected " +
           std::to_string(expected.dtype());
  }
  for (int64_t i = 0; i < expected.size(); ++i) {
    double e = 0, a = 0;
    switch (expected.dtype()) {
      case pq::kFloat: e = expected.data<float>()[i]; a = actual.data<float>()[i]; break;
      case pq::kInt64: e = static_cast<double>(expected.data<int64_t>()[i]);
                       a = static_cast<double>(actual.data<int64_t>()[i]); break;
      case pq::kInt32: e = expected.data<int32_t>()[i]; a = actual.data<int32_t>()[i]; break;
      case pq::kInt8: e = expected.data<int8_t>()[i]; a = actual.data<int8_t>()[i]; break;
      case pq::kUint8: case pq::kBool:
        e = expected.data<uint8_t>()[i]; a = actual.data<uint8_t>()[i]; break;
      case pq::kInt16: e = expected.data<int16_t>()[i]; a = actual.data<int16_t>()[i]; break;
      case pq::kUint16: e = expected.data<uint16_t>()[i]; a = actual.data<uint16_t>()[i]; break;
      case pq::kUint32: e = expected.data<uint32_t>()[i]; a = actual.data<uint32_t>()[i]; break;
      case pq::kUint64:
        // Compared exactly below: doubles do not hold every uint64.
        e = static_cast<double>(expected.data<uint64_t>()[i] != actual.data<uint64_t>()[i]);
        a = 0;
        break;
      default: return "unknown dtype";
    }
    const bool is_float = expected.dtype() == pq::kFloat;
    bool ok;
    if (is_float) {
      if (std::isnan(e) || std::isnan(a)) {
        ok = std::isnan(e) && std::isnan(a);
      } else if (std::isinf(e) || std::isinf(a)) {
        ok = e == a;
      } else {
        ok = std::fabs(a - e) <= kAbsoluteTolerance + kRelativeTolerance * std::fabs(e);
      }
    } else {
      ok = a == e;
    }
    if (!ok) {
      return "element " + std::to_string(i) + " is " + std::to_string(a) + ", expected " +
             std::to_string(e);
    }
  }
  return "";
}

// ONNX's older test data stores bfloat16 tensors as uint16 bit patterns
// (numpy has no bfloat16; the TensorProto says UINT16). True for such a
// tensor of a value the model declares bfloat16.
bool IsBfloat16AsUint16(const pq::Tensor& t, int32_t declared) {
  return declared == pq::kBfloat16 && t.dtype() == pq::kUint16;
}

// The float tensor (how the executor holds bfloat16) of the bfloat16 bit
// patterns in uint16 tensor `bits`. Exact: every bfloat16 is a float.
pq::Tensor Bfloat16BitsAsFloat(const pq::Tensor& bits) {
  pq::Tensor t = pq::Tensor::AllocateUninitialized(pq::kFloat, bits.shape()).value();
  for (int64_t i = 0; i < bits.size(); ++i) {
    t.data<float>()[i] = pq::Bfloat16BitsToFloat(bits.data<uint16_t>()[i]);
  }
  return t;
}

// True when `actual` (float values of bfloat16 precision) differs from
// `expected` (bfloat16 bits) only where the expected value is one bfloat16
// step nearer zero: the older test data truncates float to bfloat16 where
// pq rounds to nearest even, as ONNX Runtime 1.30 and current ONNX do.
bool DiffersOnlyByTruncation(const pq::Tensor& expected_bits, const pq::Tensor& actual) {
  int64_t differing = 0;
  for (int64_t i = 0; i < expected_bits.size(); ++i) {
    uint32_t a = 0;
    std::memcpy(&a, actual.data<float>() + i, sizeof(a));
    const uint32_t e = expected_bits.data<uint16_t>()[i];
    if ((a >> 16) == e) continue;
    if ((a & 0xffffu) != 0 || (a >> 16) != e + 1 || (e & 0x7f80u) == 0x7f80u) return false;
    ++differing;
  }
  return differing > 0;
}

// Returns "" when every feed has the shape the model declares for it, else
// what differs. The executor refuses such feeds, as ONNX Runtime does ("Invalid
// rank for input"); the castlike bfloat16 cases feed `like` as [1] to a model
// declaring [3, 4].
std::string FeedShapeMismatch(const std::vector<pq::TensorInfo>& inputs,
                              const std::map<std::string, pq::Tensor>& feeds) {
  for (const pq::TensorInfo& info : inputs) {
    auto it = feeds.find(info.name);
    if (it == feeds.end() || !info.has_shape) continue;
    bool same = it->second.rank() == static_cast<int64_t>(info.dims.size());
    for (size_t d = 0; same && d < info.dims.size(); ++d) {
      same = info.dims[d] < 0 || info.dims[d] == it->second.shape()[d];
    }
    if (!same) {
      return "the test data feeds input '" + info.name + "' as " +
             pq::ShapeToString(it->second.shape()) + " where its model declares " +
             pq::ShapeToString(info.dims) + " (ONNX Runtime refuses it too)";
    }
  }
  return "";
}

// The element type the graph declares for value `name` among `values`, or 0.
int32_t DeclaredType(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values,
                    const std::string& name) {
  for (const auto& v : values) {
    if (v.name() == name) return v.type().tensor_type().elem_type();
  }
  return 0;
}

enum class Outcome { kPass, kFail, kUnsupported };

Outcome RunCase(const std::string& dir, std::string* op, std::string* detail) {
  auto model = pq::Model::Load(dir + "/model.onnx");
  if (!model.ok()) {
    *detail = model.status().message();
    return model.status().code() == pq::Status::Code::kNotSupported ? Outcome::kUnsupported
                                                                    : Outcome::kFail;
  }
  for (const auto& node : model.value()->proto().graph().node()) {
    if (node.op_type() != "Constant" || op->empty()) *op = node.op_type();
    if (node.op_type() != "Constant") break;
  }
  auto executor = pq::Executor::Create(*model.value());
  if (!executor.ok()) {
    *detail = executor.status().message();
    return executor.status().code() == pq::Status::Code::kNotSupported ? Outcome::kUnsupported
                                                                       : Outcome::kFail;
  }
  const auto& inputs = executor.value()->inputs();
  for (const std::string& set : ListDir(dir, "test_data_set_")) {
    const std::string set_dir = dir + "/" + set;
    std::map<std::string, pq::Tensor> feeds;
    const std::vector<std::string> input_files = ListDir(set_dir, "input_");
    for (size_t i = 0; i < input_files.size(); ++i) {
      std::string name;
      auto tensor = pq::ReadTensorProtoFile(set_dir + "/" + input_files[i], &name);
      if (!tensor.ok()) {
        *detail = tensor.status().message();
        return tensor.status().code() == pq::Status::Code::kNotSupported ? Outcome::kUnsupported
                                                                         : Outcome::kFail;
      }
      if (name.empty() && i < inputs.size()) name = inputs[i].name;
      if (IsBfloat16AsUint16(tensor.value(),
                             DeclaredType(model.value()->proto().graph().input(), name))) {
        tensor = Bfloat16BitsAsFloat(tensor.value());
      }
      feeds[name] = std::move(tensor).value();
    }
    const std::string mismatch = FeedShapeMismatch(inputs, feeds);
    if (!mismatch.empty()) {
      *detail = set + ": " + mismatch;
      return Outcome::kUnsupported;
    }
    auto outputs = executor.value()->Run(feeds);
    if (!outputs.ok()) {
      *detail = set + ": " + outputs.status().message();
      return outputs.status().code() == pq::Status::Code::kNotSupported ? Outcome::kUnsupported
                                                                        : Outcome::kFail;
    }
    const std::vector<std::string> output_files = ListDir(set_dir, "output_");
    if (output_files.size() != outputs.value().size()) {
      *detail = set + ": produced " + std::to_string(outputs.value().size()) + " outputs, expected " +
                std::to_string(output_files.size());
      return Outcome::kFail;
    }
    for (size_t i = 0; i < output_files.size(); ++i) {
      auto expected = pq::ReadTensorProtoFile(set_dir + "/" + output_files[i]);
      if (!expected.ok()) {
        *detail = expected.status().message();
        return Outcome::kUnsupported;
      }
      const auto& graph_outputs = model.value()->proto().graph().output();
      const int32_t declared = i < static_cast<size_t>(graph_outputs.size())
                                   ? graph_outputs[static_cast<int>(i)].type().tensor_type().elem_type()
                                   : 0;
      const bool bfloat16_bits = IsBfloat16AsUint16(expected.value(), declared);
      const std::string diff = Compare(
          bfloat16_bits ? Bfloat16BitsAsFloat(expected.value()) : expected.value(), outputs.value()[i]);
      if (!diff.empty() && bfloat16_bits &&
          DiffersOnlyByTruncation(expected.value(), outputs.value()[i])) {
        *detail = set + " output " + std::to_string(i) + ": " + diff +
                  ": the test data truncates float to bfloat16 where pq rounds to nearest even "
                  "(as ONNX Runtime 1.30 and current ONNX do)";
        return Outcome::kUnsupported;
      }
      if (!diff.empty()) {
        *detail = set + " output " + std::to_string(i) + ": " + diff;
        return Outcome::kFail;
      }
    }
  }
  return Outcome::kPass;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: pq_conformance NODE_DATA_DIR [--filter S] [--verbose] [--min-pass N]\n");
    return 2;
  }
  const std::string root = argv[1];
  std::string filter;
  bool verbose = false;
  int min_pass = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--min-pass" && i + 1 < argc) {
      min_pass = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "pq_conformance: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  const std::vector<std::string> cases = ListDir(root, "test_");
  if (cases.empty()) {
    std::fprintf(stderr, "pq_conformance: no test cases under '%s'\n", root.c_str());
    return 2;
  }
  struct Counts {
    int pass = 0, fail = 0, unsupported = 0;
  };
  std::map<std::string, Counts> by_op;
  Counts total;
  std::vector<std::string> failures;
  for (const std::string& name : cases) {
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    std::string op, detail;
    const Outcome outcome = RunCase(root + "/" + name, &op, &detail);
    if (op.empty()) op = "(unknown)";
    Counts& c = by_op[op];
    switch (outcome) {
      case Outcome::kPass: ++c.pass; ++total.pass; break;
      case Outcome::kFail:
        ++c.fail;
        ++total.fail;
        failures.push_back(name + ": " + detail);
        break;
      case Outcome::kUnsupported: ++c.unsupported; ++total.unsupported; break;
    }
    if (verbose) {
      std::printf("%-60s %s %s\n", name.c_str(),
                  outcome == Outcome::kPass ? "pass" : outcome == Outcome::kFail ? "FAIL" : "unsupported",
                  outcome == Outcome::kPass ? "" : detail.c_str());
    }
  }
  std::printf("%-28s %6s %6s %12s\n", "op", "pass", "fail", "unsupported");
  for (const auto& [op, c] : by_op) {
    if (c.pass == 0 && c.fail == 0) continue;  // only ops pq supports at least partly
    std::printf("%-28s %6d %6d %12d\n", op.c_str(), c.pass, c.fail, c.unsupported);
  }
  int unsupported_ops = 0;
  for (const auto& [op, c] : by_op) unsupported_ops += (c.pass == 0 && c.fail == 0) ? 1 : 0;
  std::printf("ops with no supported case: %d\n", unsupported_ops);
  for (const std::string& f : failures) std::printf("FAIL %s\n", f.c_str());
  std::printf("conformance: %d passed, %d failed, %d unsupported\n", total.pass, total.fail,
              total.unsupported);
  if (total.pass < min_pass) {
    std::printf("FAIL: %d cases passed, fewer than the %d required (--min-pass)\n", total.pass,
                min_pass);
    return 1;
  }
  return total.fail == 0 ? 0 : 1;
}
