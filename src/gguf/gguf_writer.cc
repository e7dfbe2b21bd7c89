// WriteGguf, the Value factories and FindValue.
#include <algorithm>
#include <cstring>
#include <set>

#include "gguf/gguf_file.h"
#include "gguf/gguf_internal.h"
#include "util/file_util.h"

namespace pq::gguf {

int ScalarBytes(uint32_t type) {
  switch (static_cast<ValueType>(type)) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    default: return 0;
  }
}

std::optional<uint64_t> TensorBytes(uint32_t type, const std::vector<int64_t>& dims) {
  const GgmlStorage* storage = StorageOf(type);
  if (storage == nullptr || dims.empty()) return std::nullopt;
  uint64_t count = 1;
  for (int64_t d : dims) {
    if (d <= 0 || __builtin_mul_overflow(count, static_cast<uint64_t>(d), &count)) {
      return std::nullopt;
    }
  }
  if (dims[0] % storage->block_size != 0) return std::nullopt;
  uint64_t bytes;
  if (__builtin_mul_overflow(count / storage->block_size,
                             static_cast<uint64_t>(storage->block_bytes), &bytes) ||
      bytes > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  return bytes;
}

Value Value::Uint32(uint32_t v) { Value x; x.type = ValueType::kUint32; x.integer = v; return x; }
Value Value::Int32(int32_t v) { Value x; x.type = ValueType::kInt32; x.integer = v; return x; }
Value Value::Uint64(uint64_t v) {
  Value x;
  x.type = ValueType::kUint64;
  x.integer = static_cast<int64_t>(v);
  return x;
}
Value Value::Float32(float v) { Value x; x.type = ValueType::kFloat32; x.real = v; return x; }
Value Value::Bool(bool v) { Value x; x.type = ValueType::kBool; x.integer = v ? 1 : 0; return x; }
Value Value::String(std::string v) {
  Value x;
  x.type = ValueType::kString;
  x.string = std::move(v);
  return x;
}
Value Value::Strings(std::vector<std::string> v) {
  Value x;
  x.type = ValueType::kArray;
  x.element_type = ValueType::kString;
  x.strings = std::move(v);
  return x;
}
Value Value::Float32s(std::vector<float> v) {
  Value x;
  x.type = ValueType::kArray;
  x.element_type = ValueType::kFloat32;
  x.reals.assign(v.begin(), v.end());
  return x;
}
Value Value::Int32s(std::vector<int32_t> v) {
  Value x;
  x.type = ValueType::kArray;
  x.element_type = ValueType::kInt32;
  x.integers.assign(v.begin(), v.end());
  return x;
}

const Value* FindValue(const GgufContents& contents, const std::string& key) {
  for (const KeyValue& kv : contents.kvs) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

namespace {

class Encoder {
 public:
  template <typename T>
  void Put(T v) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void PutBytes(const void* data, size_t n) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), p, p + n);
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // A scalar of `type` from the integer or real field.
  void PutScalar(ValueType type, int64_t integer, double real) {
    switch (type) {
      case ValueType::kUint8: Put(static_cast<uint8_t>(integer)); break;
      case ValueType::kInt8: Put(static_cast<int8_t>(integer)); break;
      case ValueType::kBool: Put(static_cast<uint8_t>(integer != 0)); break;
      case ValueType::kUint16: Put(static_cast<uint16_t>(integer)); break;
      case ValueType::kInt16: Put(static_cast<int16_t>(integer)); break;
      case ValueType::kUint32: Put(static_cast<uint32_t>(integer)); break;
      case ValueType::kInt32: Put(static_cast<int32_t>(integer)); break;
      case ValueType::kUint64: Put(static_cast<uint64_t>(integer)); break;
      case ValueType::kInt64: Put(integer); break;
      case ValueType::kFloat32: Put(static_cast<float>(real)); break;
      case ValueType::kFloat64: Put(real); break;
      default: break;
    }
  }
  Status PutValue(const std::string& key, const Value& v) {
    Put(static_cast<uint32_t>(v.type));
    if (v.type == ValueType::kString) {
      PutString(v.string);
      return Status::OK();
    }
    if (v.type != ValueType::kArray) {
      if (ScalarBytes(static_cast<uint32_t>(v.type)) == 0) {
        return Status::InvalidArgument("GGUF key '" + key + "': unknown value type " +
                                       std::to_string(static_cast<uint32_t>(v.type)));
      }
      PutScalar(v.type, v.integer, v.real);
      return Status::OK();
    }
    Put(static_cast<uint32_t>(v.element_type));
    if (v.element_type == ValueType::kString) {
      Put<uint64_t>(v.strings.size());
      for (const std::string& s : v.strings) PutString(s);
      return Status::OK();
    }
    const int bytes = ScalarBytes(static_cast<uint32_t>(v.element_type));
    if (bytes == 0) {
      return Status::InvalidArgument("GGUF key '" + key + "': arrays of value type " +
                                     std::to_string(static_cast<uint32_t>(v.element_type)) +
                                     " are not written (nested or unknown)");
    }
    const bool real = v.element_type == ValueType::kFloat32 || v.element_type == ValueType::kFloat64;
    Put<uint64_t>(real ? v.reals.size() : v.integers.size());
    if (real) {
      for (double r : v.reals) PutScalar(v.element_type, 0, r);
    } else {
      for (int64_t i : v.integers) PutScalar(v.element_type, i, 0);
    }
    return Status::OK();
  }
  void PadTo(uint64_t alignment) { out_.resize(AlignUp(out_.size(), alignment), 0); }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  std::vector<uint8_t> out_;
};

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Status WriteGguf(const std::string& path, const std::vector<KeyValue>& kvs,
                 const std::vector<TensorToWrite>& tensors, uint32_t alignment) {
  const std::string what = "GGUF file " + path;
  if (!IsPowerOfTwo(alignment)) {
    return Status::InvalidArgument(what + ": alignment " + std::to_string(alignment) +
                                   " is not a power of two");
  }
  std::vector<KeyValue> all = kvs;
  std::set<std::string> keys;
  for (const KeyValue& kv : kvs) {
    if (!keys.insert(kv.key).second) {
      return Status::InvalidArgument(what + ": duplicate key '" + kv.key + "'");
    }
  }
  if (const auto it = keys.find(kAlignmentKey); it != keys.end()) {
    for (const KeyValue& kv : kvs) {
      if (kv.key == kAlignmentKey && (kv.value.type != ValueType::kUint32 ||
                                      kv.value.integer != static_cast<int64_t>(alignment))) {
        return Status::InvalidArgument(what + ": key general.alignment must be the uint32 " +
                                       std::to_string(alignment) + " passed as alignment");
      }
    }
  } else if (alignment != kDefaultAlignment) {
    all.push_back({kAlignmentKey, Value::Uint32(alignment)});
  }

  Encoder e;
  e.PutBytes(kGgufMagic, sizeof(kGgufMagic));
  e.Put(kGgufVersion);
  e.Put<uint64_t>(tensors.size());
  e.Put<uint64_t>(all.size());
  for (const KeyValue& kv : all) {
    e.PutString(kv.key);
    PQ_RETURN_IF_ERROR(e.PutValue(kv.key, kv.value));
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::string tensor = what + ": tensor '" + t.name + "'";
    if (!names.insert(t.name).second) return Status::InvalidArgument(what + ": duplicate tensor name '" + t.name + "'");
    if (t.name.size() > kMaxTensorName) {
      return Status::InvalidArgument(tensor + ": name longer than " + std::to_string(kMaxTensorName) + " bytes");
    }
    if (t.dims.empty() || t.dims.size() > static_cast<size_t>(kMaxDims)) {
      return Status::InvalidArgument(tensor + ": expected 1 to 4 dims, got " + std::to_string(t.dims.size()));
    }
    const std::optional<uint64_t> bytes = TensorBytes(static_cast<uint32_t>(t.type), t.dims);
    if (!bytes || *bytes != t.bytes.size()) {
      return Status::InvalidArgument(tensor + ": " + std::to_string(t.bytes.size()) + " bytes do not match " +
                                     GgmlTypeName(static_cast<uint32_t>(t.type)) + " dims (" +
                                     (bytes ? std::to_string(*bytes) + " expected" : "invalid dims") + ")");
    }
    e.PutString(t.name);
    e.Put<uint32_t>(t.dims.size());
    for (int64_t d : t.dims) e.Put<uint64_t>(d);
    e.Put(static_cast<uint32_t>(t.type));
    e.Put<uint64_t>(offset);
    offset = AlignUp(offset + *bytes, alignment);
  }
  e.PadTo(alignment);

  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  AtomicFile& f = *file.value();
  PQ_RETURN_IF_ERROR(f.Write(e.bytes().data(), e.bytes().size()));
  static const uint8_t kZeros[256] = {};
  for (const TensorToWrite& t : tensors) {
    PQ_RETURN_IF_ERROR(f.Write(t.bytes.data(), t.bytes.size()));
    for (uint64_t pad = AlignUp(t.bytes.size(), alignment) - t.bytes.size(); pad > 0;) {
      const size_t n = std::min<uint64_t>(pad, sizeof(kZeros));
      PQ_RETURN_IF_ERROR(f.Write(kZeros, n));
      pad -= n;
    }
  }
  return f.Commit();
}

}  // namespace pq::gguf
