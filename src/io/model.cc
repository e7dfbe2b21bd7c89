#include "pq/model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "base/onnx_domain.h"
#include "io/external_data.h"
#include "io/model_validate.h"
#include "io/tensor_bytes.h"
#include "onnx/onnx_pb.h"
#include "util/file_util.h"

namespace pq {
namespace {

// Protobuf cannot parse a message of 2 GiB or more.
constexpr int64_t kMaxProtoBytes = INT_MAX;

std::string PackFloats(const google::protobuf::RepeatedField<float>& values) {
  std::string out(static_cast<size_t>(values.size()) * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::string PackInt64s(const google::protobuf::RepeatedField<int64_t>& values) {
  std::string out(static_cast<size_t>(values.size()) * sizeof(int64_t), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace

Model::Model() = default;
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::Load(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidInput(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::InvalidInput(path + ": not a regular file");
  }
  if (st.st_size >= kMaxProtoBytes) {
    close(fd);
    return Status::InvalidInput(path + ": the file is " + std::to_string(st.st_size) +
                                " bytes; an ONNX protobuf must stay under 2 GiB (store the "
                                "weights as external data)");
  }
  auto proto = std::make_unique<onnx::ModelProto>();
  bool parsed = false;
  {
    google::protobuf::io::FileInputStream file(fd);
    google::protobuf::io::CodedInputStream coded(&file);
    coded.SetTotalBytesLimit(INT_MAX);
    // Deep enough for kMaxSubgraphDepth levels of If/Loop bodies (3 messages
    // each), so that the validator, not protobuf, reports over-nesting.
    coded.SetRecursionLimit(4 * kMaxSubgraphDepth + 16);
    parsed = proto->ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    const int err = file.GetErrno();
    close(fd);
    if (err != 0) return Status::InvalidInput(path + ": read error: " + std::strerror(err));
  }
  if (!parsed) {
    return Status::InvalidInput(path + ": not an ONNX model (the protobuf does not parse; "
                                "truncated or not ONNX)");
  }
  auto model = std::unique_ptr<Model>(new Model());
  model->proto_ = std::move(proto);
  model->path_ = path;
  model->origin_ = path;
  model->base_dir_ = DirName(path);
  PQ_RETURN_IF_ERROR(model->Initialize());
  return model;
}

Result<std::unique_ptr<Model>> Model::FromProto(std::unique_ptr<onnx::ModelProto> proto,
                                                const std::string& base_dir,
                                                const std::string& origin) {
  if (proto == nullptr) return Status::Internal("Model::FromProto given no proto");
  auto model = std::unique_ptr<Model>(new Model());
  model->proto_ = std::move(proto);
  model->origin_ = origin;
  model->base_dir_ = base_dir.empty() ? "." : base_dir;
  PQ_RETURN_IF_ERROR(model->Initialize());
  return model;
}

Status Model::Initialize() {
  store_ = std::make_shared<ExternalDataStore>(base_dir_, origin_);
  PQ_RETURN_IF_ERROR(ValidateModel(*proto_, origin_, store_.get(), &warnings_));
  return IndexConstants();
}

Status Model::IndexConstants() {
  constants_.clear();
  constant_index_.clear();
  decoded_.clear();
  const onnx::GraphProto& graph = proto_->graph();
  auto add_tensor = [&](const onnx::TensorProto& t, ConstantTensor c) -> Status {
    c.data_type = t.data_type();
    c.dims.assign(t.dims().begin(), t.dims().end());
    c.element_count = TensorElementCount(t, c.name).value();
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      const int64_t bytes = ExpectedRawBytes(t, c.name).value();
      Result<const uint8_t*> data = store_->Resolve(t, c.name, bytes);
      if (!data.ok()) return data.status();
      c.external = true;
      c.external_location = ParseExternalDataRef(t, c.name)->location;
      c.data = data.value();
      c.byte_size = bytes;
    } else if (t.data_type() == 8) {
      c.data = nullptr;  // strings have no packed byte form
    } else if (t.has_raw_data()) {
      c.data = reinterpret_cast<const uint8_t*>(t.raw_data().data());
      c.byte_size = static_cast<int64_t>(t.raw_data().size());
    } else {
      decoded_.push_back(std::make_unique<std::string>(PackTypedFields(t)));
      c.data = reinterpret_cast<const uint8_t*>(decoded_.back()->data());
      c.byte_size = static_cast<int64_t>(decoded_.back()->size());
    }
    constant_index_[c.name] = constants_.size();
    constants_.push_back(std::move(c));
    return Status::OK();
  };
  auto add_owned = [&](ConstantTensor c, std::string bytes) {
    decoded_.push_back(std::make_unique<std::string>(std::move(bytes)));
    c.data = reinterpret_cast<const uint8_t*>(decoded_.back()->data());
    c.byte_size = static_cast<int64_t>(decoded_.back()->size());
    constant_index_[c.name] = constants_.size();
    constants_.push_back(std::move(c));
  };
  for (const auto& init : graph.initializer()) {
    ConstantTensor c;
    c.name = init.name();
    c.source = ConstantSource::kInitializer;
    PQ_RETURN_IF_ERROR(add_tensor(init, std::move(c)));
  }
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || !IsDefaultDomain(node.domain()) ||
        node.output_size() != 1 || node.attribute_size() != 1) {
      continue;
    }
    const onnx::AttributeProto& attr = node.attribute(0);
    ConstantTensor c;
    c.name = node.output(0);
    c.source = ConstantSource::kConstantNode;
    c.node_name = node.name();
    if (attr.name() == "value" && attr.has_t()) {
      PQ_RETURN_IF_ERROR(add_tensor(attr.t(), std::move(c)));
    } else if (attr.name() == "value_float") {
      c.data_type = onnx::TensorProto::FLOAT;
      c.element_count = 1;
      const float v = attr.f();
      add_owned(std::move(c), std::string(reinterpret_cast<const char*>(&v), sizeof(v)));
    } else if (attr.name() == "value_floats") {
      c.data_type = onnx::TensorProto::FLOAT;
      c.dims = {attr.floats_size()};
      c.element_count = attr.floats_size();
      add_owned(std::move(c), PackFloats(attr.floats()));
    } else if (attr.name() == "value_int") {
      c.data_type = onnx::TensorProto::INT64;
      c.element_count = 1;
      const int64_t v = attr.i();
      add_owned(std::move(c), std::string(reinterpret_cast<const char*>(&v), sizeof(v)));
    } else if (attr.name() == "value_ints") {
      c.data_type = onnx::TensorProto::INT64;
      c.dims = {attr.ints_size()};
      c.element_count = attr.ints_size();
      add_owned(std::move(c), PackInt64s(attr.ints()));
    }
    // value_string(s) and sparse_value carry no numeric weights; they are
    // kept in the graph untouched but not offered as constant tensors.
  }
  return Status::OK();
}

int64_t Model::OpsetVersion(const std::string& domain) const { return OpsetVersionOf(*proto_, domain); }

int64_t OpsetVersionOf(const onnx::ModelProto& proto, const std::string& domain) {
  const bool want_default = IsDefaultDomain(domain);
  for (const auto& opset : proto.opset_import()) {
    const bool is_default = IsDefaultDomain(opset.domain());
    if ((want_default && is_default) || (!want_default && opset.domain() == domain)) {
      return opset.version();
    }
  }
  return 0;
}

const ConstantTensor* Model::FindConstant(const std::string& name) const {
  auto it = constant_index_.find(name);
  return it == constant_index_.end() ? nullptr : &constants_[it->second];
}

std::vector<ExternalFile> Model::ExternalFiles() const { return store_->Files(); }

Result<Model::TensorData> Model::TensorBytes(const onnx::TensorProto& tensor) const {
  TensorData view;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    Result<int64_t> bytes = ExpectedRawBytes(tensor, origin_ + ": tensor '" + tensor.name() + "'");
    if (!bytes.ok()) return bytes.status();
    Result<const uint8_t*> data = store_->Resolve(tensor, tensor.name(), bytes.value());
    if (!data.ok()) return data.status();
    view.data = reinterpret_cast<const char*>(data.value());
    view.size = static_cast<size_t>(bytes.value());
    view.mapped = true;
  } else if (tensor.has_raw_data()) {
    view.data = tensor.raw_data().data();
    view.size = tensor.raw_data().size();
  } else {
    view.owned = PackTypedFields(tensor);
    view.data = view.owned.data();
    view.size = view.owned.size();
  }
  return view;
}

}  // namespace pq
