// Model: an ONNX model loaded from disk, validated, with its constant tensors
// (initializers and Constant-node values alike) visible as byte views.
//
// Loading refuses what pq cannot trust: files that are not ONNX, malformed
// graphs, tensors whose data does not match their dims and type, and external
// data that would be read from outside the model's folder. Saving is atomic
// (temporary file + rename) and deterministic.
#ifndef PQ_MODEL_H_
#define PQ_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pq/status.h"

namespace onnx {
class ModelProto;
class TensorProto;
class NodeProto;
}  // namespace onnx

namespace pq {

class ExternalDataStore;

// A graph input or output as the model declares it. A dim is -1 where it is
// symbolic or unknown (dim_names holds the symbolic name, or "").
struct TensorInfo {
  std::string name;
  int32_t dtype = 0;
  bool has_shape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_names;
};

// Where a constant tensor is held in the model.
enum class ConstantSource {
  kInitializer,   // graph.initializer
  kConstantNode,  // the output of a Constant node
};

// A read-only view of one constant tensor of the main graph. The bytes are
// little-endian and packed as TensorProto.raw_data would hold them, whatever
// field or external file the model stores them in.
// Valid until the Model is destroyed or its proto is mutated.
struct ConstantTensor {
  std::string name;
  int32_t data_type = 0;
  std::vector<int64_t> dims;
  int64_t element_count = 0;
  ConstantSource source = ConstantSource::kInitializer;
  std::string node_name;   // the Constant node's name, for kConstantNode
  bool external = false;   // bytes come from an external data file
  std::string external_location;  // that file, relative to the model folder
  const uint8_t* data = nullptr;   // nullptr for STRING tensors
  int64_t byte_size = 0;
};

// The opset `proto` imports for `domain` ("" or "ai.onnx": the default
// domain), or 0 when it imports none. Model::OpsetVersion reads it.
int64_t OpsetVersionOf(const onnx::ModelProto& proto, const std::string& domain);

// Lets the kernel drop the resident pages of an external-data constant's
// bytes (they are read back from the file if used again), so a caller that
// streams through a large model's weights keeps peak memory near one tensor.
// No effect on constants held in the model file.
void ReleaseConstantPages(const ConstantTensor& constant);

// An external data file a model refers to.
struct ExternalFile {
  std::string location;  // as written in the model, relative to its folder
  int64_t bytes = 0;     // the file's size
};

class Model {
 public:
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Loads and validates the model at `path`.
  // Errors: kInvalidInput (unreadable, not ONNX, malformed, unsafe external
  // data), kNotSupported (ir_version < 3, default-domain opset < 1, segmented
  // tensors). Newer ir_version/opset than pq knows load with a warning.
  static Result<std::unique_ptr<Model>> Load(const std::string& path);

  // Wraps an in-memory model, validating it as Load does. External data
  // locations are resolved against `base_dir`. `origin` names the model in
  // error messages.
  static Result<std::unique_ptr<Model>> FromProto(std::unique_ptr<onnx::ModelProto> proto,
                                                  const std::string& base_dir,
                                                  const std::string& origin);

  const onnx::ModelProto& proto() const { return *proto_; }

  // The file the model was loaded from ("" for FromProto) and its folder.
  const std::string& path() const { return path_; }
  const std::string& base_dir() const { return base_dir_; }
  // How the model is named in messages: its path, or FromProto's origin.
  const std::string& origin() const { return origin_; }

  // The version of `domain` in opset_import ("" and "ai.onnx" are the
  // default domain), or 0 when the model does not import it.
  int64_t OpsetVersion(const std::string& domain) const;

  // Constant tensors of the main graph, initializers first, then Constant
  // nodes in graph order.
  const std::vector<ConstantTensor>& constants() const { return constants_; }
  // Returns the constant named `name`, or nullptr if there is none.
  const ConstantTensor* FindConstant(const std::string& name) const;

  // External data files referenced by the model, in first-use order.
  std::vector<ExternalFile> ExternalFiles() const;

  // Non-fatal findings of validation (e.g. an opset newer than pq knows).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The packed little-endian bytes of a tensor: a view into the model or its
  // mapped external data (`mapped`), or typed fields packed into `owned`.
  // Valid while the model lives and its proto is not mutated.
  struct TensorData {
    const char* data = nullptr;
    size_t size = 0;
    bool mapped = false;
    std::string owned;
  };

  // Returns the bytes of any tensor of this model (main graph or subgraph),
  // resolving external data, without copying them when it can.
  // REQUIRES: `tensor` belongs to proto().
  Result<TensorData> TensorBytes(const onnx::TensorProto& tensor) const;

  // The external data store, shared with models derived from this one.
  const std::shared_ptr<ExternalDataStore>& external_data() const { return store_; }

 private:
  Model();
  Status Initialize();
  Status IndexConstants();

  std::unique_ptr<onnx::ModelProto> proto_;
  std::string path_;
  std::string base_dir_;
  std::string origin_;
  std::shared_ptr<ExternalDataStore> store_;
  std::vector<ConstantTensor> constants_;
  std::map<std::string, size_t> constant_index_;
  std::vector<std::unique_ptr<std::string>> decoded_;  // bytes of typed-field tensors
  std::vector<std::string> warnings_;
};

// How SaveModel writes a model.
struct SaveOptions {
  // Overwrite an existing output file.
  bool force = false;
  // Store tensors of at least `external_threshold` bytes in "<output>.data"
  // beside the model. Forced on when the model would exceed 2 GiB.
  bool external_data = false;
  int64_t external_threshold = 1024;
  // Files the output must never replace (e.g. the model a quantized model was
  // made from), in addition to the model's own file and external data.
  std::vector<std::string> never_overwrite;
};

// Refuses, before any work is done, two outputs naming one file, outputs
// that would replace one of `inputs` ("is an input; refusing to overwrite
// it") or, without `force`, an existing file ("already exists (pass --force to
// overwrite it)"), in that order. Errors: kOutputError naming the path.
Status CheckOutputPaths(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs,
                        bool force);

// What SaveModel wrote.
struct SaveResult {
  std::string model_path;
  int64_t model_bytes = 0;
  std::string data_path;  // "" when no external data was written
  int64_t data_bytes = 0;
  std::string data_sha256;  // lower-case hex SHA-256 of the data file as written; "" when none
  bool external_forced = false;  // external data chosen because of the 2 GiB limit
};

// Writes `model` to `path` atomically: a temporary file in the target folder
// is written, flushed and renamed, so an interrupted run never leaves a
// half-written model. The same model saved twice gives identical bytes.
// Errors: kOutputError when `path` is the model's own file, one of its
// external data files or one of options.never_overwrite, exists and
// !options.force, its folder is missing or unwritable, or writing fails (no
// partial file is left).
Result<SaveResult> SaveModel(const Model& model, const std::string& path,
                             const SaveOptions& options);

}  // namespace pq

#endif  // PQ_MODEL_H_
