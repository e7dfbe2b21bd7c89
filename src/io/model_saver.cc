// SaveModel: atomic, deterministic writing of a Model, inline or with
// external data.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "io/external_data.h"
#include "io/tensor_bytes.h"
#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "util/file_util.h"
#include "util/sha256.h"

namespace pq {
namespace {

// An inline model must stay below protobuf's 2 GiB limit; keep a margin for
// the field tags and lengths that inlining external tensors adds.
constexpr int64_t kInlineLimit = INT_MAX - (64LL << 20);
// Offsets of tensors in an external data file are multiples of this, so that
// runtimes can map them with aligned access.
constexpr int64_t kExternalAlignment = 64;

void ClearData(onnx::TensorProto* t) {
  t->clear_raw_data();
  t->clear_float_data();
  t->clear_int32_data();
  t->clear_int64_data();
  t->clear_double_data();
  t->clear_uint64_data();
  t->clear_external_data();
  t->clear_data_location();
}

// Calls `fn` on every initializer of `graph` and its subgraphs, then on every
// tensor-valued attribute (Constant values and the like), in a fixed order.
void ForEachTensor(onnx::GraphProto* graph,
                   const std::function<void(onnx::TensorProto*, bool is_initializer)>& fn) {
  for (auto& init : *graph->mutable_initializer()) fn(&init, true);
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_t()) fn(attr.mutable_t(), false);
      for (auto& t : *attr.mutable_tensors()) fn(&t, false);
      if (attr.has_g()) ForEachTensor(attr.mutable_g(), fn);
      for (auto& g : *attr.mutable_graphs()) ForEachTensor(&g, fn);
    }
  }
}

// The tensors ForEachTensor visits, in the same order, read-only.
void CollectTensors(const onnx::GraphProto& graph, std::vector<const onnx::TensorProto*>* out) {
  for (const auto& init : graph.initializer()) out->push_back(&init);
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_t()) out->push_back(&attr.t());
      for (const auto& t : attr.tensors()) out->push_back(&t);
      if (attr.has_g()) CollectTensors(attr.g(), out);
      for (const auto& g : attr.graphs()) CollectTensors(g, out);
    }
  }
}

// Returns a copy of `source` whose main-graph initializers hold no raw_data
// (their other fields are copied), so that copying a large model costs no
// tensor data. The source is rearranged during the call and restored before
// it returns; it must not be used concurrently.
std::unique_ptr<onnx::ModelProto> CopyWithoutRawData(const onnx::ModelProto& source) {
  auto& graph = const_cast<onnx::GraphProto&>(source.graph());
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  initializers.Swap(graph.mutable_initializer());
  auto out = std::make_unique<onnx::ModelProto>(source);
  graph.mutable_initializer()->Swap(&initializers);
  for (auto& tensor : *graph.mutable_initializer()) {
    const bool had_raw = tensor.has_raw_data();
    std::string raw;
    if (had_raw) raw.swap(*tensor.mutable_raw_data());
    onnx::TensorProto* copy = out->mutable_graph()->add_initializer();
    *copy = tensor;
    if (had_raw) tensor.mutable_raw_data()->swap(raw);
  }
  return out;
}

int64_t ExternalBytes(const onnx::GraphProto& graph) {
  int64_t total = 0;
  for (const auto& init : graph.initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      Result<int64_t> bytes = ExpectedRawBytes(init, init.name());
      if (bytes.ok()) total += bytes.value();
    }
  }
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) total += ExternalBytes(attr.g());
      for (const auto& g : attr.graphs()) total += ExternalBytes(g);
    }
  }
  return total;
}

Status CheckNotAnInput(const Model& model, const std::string& path, const SaveOptions& options) {
  if (!model.path().empty() && SameFile(path, model.path())) {
    return Status::OutputError(path + ": is the input model; refusing to overwrite it");
  }
  for (const std::string& input : options.never_overwrite) {
    if (SameFile(path, input)) {
      return Status::OutputError(path + ": is the input model; refusing to overwrite it");
    }
  }
  for (const auto& file : model.external_data()->MappedFiles()) {
    if (IsFile(path, file->device(), file->inode())) {
      return Status::OutputError(path + ": is an external data file of the input model; "
                                 "refusing to overwrite it");
    }
  }
  return Status::OK();
}

// Appends `bytes` to `data_file` (and `data_hash`) at the next aligned
// offset and points `t` at them.
Status AppendExternal(const Model::TensorData& bytes, const std::string& location, AtomicFile* data_file,
                      Sha256Stream* data_hash, onnx::TensorProto* t) {
  const int64_t padding = (kExternalAlignment - data_file->size() % kExternalAlignment) % kExternalAlignment;
  static const char kZeros[kExternalAlignment] = {};
  PQ_RETURN_IF_ERROR(data_file->Write(kZeros, static_cast<size_t>(padding)));
  data_hash->Update(kZeros, static_cast<size_t>(padding));
  const int64_t offset = data_file->size();
  PQ_RETURN_IF_ERROR(data_file->Write(bytes.data, bytes.size));
  data_hash->Update(bytes.data, bytes.size);
  if (bytes.mapped) {
    ExternalDataStore::ReleasePages(reinterpret_cast<const uint8_t*>(bytes.data), static_cast<int64_t>(bytes.size));
  }
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : {std::pair<const char*, std::string>{"location", location},
                                   {"offset", std::to_string(offset)},
                                   {"length", std::to_string(bytes.size)}}) {
    auto* entry = t->add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }
  return Status::OK();
}

Status SerializeDeterministic(const onnx::ModelProto& proto, AtomicFile* file) {
  google::protobuf::io::FileOutputStream stream(file->fd());
  stream.SetCloseOnDelete(false);
  bool ok = false;
  {
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    ok = proto.SerializeToCodedStream(&coded) && !coded.HadError();
  }
  ok = stream.Flush() && ok;
  if (!ok) {
    const int err = stream.GetErrno();
    return Status::OutputError(file->target() + ": write failed: " +
                               (err != 0 ? std::strerror(err) : "serialization error"));
  }
  return Status::OK();
}

}  // namespace

Result<SaveResult> SaveModel(const Model& model, const std::string& path,
                             const SaveOptions& options) {
  if (path.empty()) return Status::OutputError("no output path given");
  PQ_RETURN_IF_ERROR(CheckNotAnInput(model, path, options));
  if (PathExists(path) && !options.force) {
    return Status::OutputError(path + ": already exists (pass --force to overwrite it)");
  }

  const onnx::ModelProto& source = model.proto();
  const int64_t external_in = ExternalBytes(source.graph());
  const int64_t inline_estimate = static_cast<int64_t>(source.ByteSizeLong()) + external_in;
  SaveResult result;
  result.external_forced = !options.external_data && inline_estimate > kInlineLimit;
  const bool external = options.external_data || result.external_forced;

  std::unique_ptr<AtomicFile> data_file;
  std::unique_ptr<Sha256Stream> data_hash;  // of data_file's bytes, hashed while they are written
  if (external) {
    result.data_path = path + ".data";
    PQ_RETURN_IF_ERROR(CheckNotAnInput(model, result.data_path, options));
    if (PathExists(result.data_path) && !options.force) {
      return Status::OutputError(result.data_path +
                                 ": already exists (pass --force to overwrite it)");
    }
    Result<std::unique_ptr<AtomicFile>> created = AtomicFile::Create(result.data_path);
    if (!created.ok()) return created.status();
    data_file = std::move(created).value();
    data_hash = std::make_unique<Sha256Stream>();
  }
  const std::string location = BaseName(result.data_path);

  // An inline model with nothing external is written as it is, uncopied.
  const bool as_is = !external && external_in == 0;
  std::unique_ptr<onnx::ModelProto> out;
  Status status;
  if (!as_is) {
    out = CopyWithoutRawData(source);
    std::vector<const onnx::TensorProto*> sources;
    CollectTensors(source.graph(), &sources);
    size_t index = 0;
    ForEachTensor(out->mutable_graph(), [&](onnx::TensorProto* t, bool is_initializer) {
      const onnx::TensorProto& src = *sources[index++];
      if (!status.ok() || t->data_type() == onnx::TensorProto::STRING) return;
      const bool was_external = src.data_location() == onnx::TensorProto::EXTERNAL;
      Result<int64_t> size = ExpectedRawBytes(src, src.name());
      if (!size.ok()) {
        status = size.status();
        return;
      }
      const bool to_external =
          external && is_initializer && size.value() >= options.external_threshold;
      if (!to_external && !was_external) {
        // Stays exactly as it was: put back the raw data the copy left out.
        if (src.has_raw_data() && t->raw_data().size() != src.raw_data().size()) {
          t->set_raw_data(src.raw_data());
        }
        return;
      }
      Result<Model::TensorData> bytes = model.TensorBytes(src);
      if (!bytes.ok()) {
        status = bytes.status();
        return;
      }
      ClearData(t);
      if (!to_external) {
        t->set_raw_data(std::string(bytes->data, bytes->size));
        return;
      }
      status = AppendExternal(bytes.value(), location, data_file.get(), data_hash.get(), t);
    });
  }
  PQ_RETURN_IF_ERROR(status);

  const onnx::ModelProto& written = as_is ? source : *out;
  if (static_cast<int64_t>(written.ByteSizeLong()) > kInlineLimit) {
    return Status::OutputError(path + ": the model proto would exceed 2 GiB even with external "
                               "data (too many or too large inline tensors)");
  }
  Result<std::unique_ptr<AtomicFile>> model_file = AtomicFile::Create(path);
  if (!model_file.ok()) return model_file.status();
  PQ_RETURN_IF_ERROR(SerializeDeterministic(written, model_file.value().get()));
  struct stat st;
  if (fstat(model_file.value()->fd(), &st) == 0) result.model_bytes = st.st_size;
  if (data_file) {
    result.data_bytes = data_file->size();
    result.data_sha256 = data_hash->Finish();
    PQ_RETURN_IF_ERROR(data_file->Commit());
  }
  Status committed = model_file.value()->Commit();
  if (!committed.ok()) {
    if (data_file) unlink(result.data_path.c_str());
    return committed;
  }
  result.model_path = path;
  return result;
}

}  // namespace pq
