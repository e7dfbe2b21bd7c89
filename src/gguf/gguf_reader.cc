// ReadGguf and ParseGguf: every count, length and offset of a GGUF file is
// checked against the bytes that remain before anything is allocated for it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "gguf/gguf_file.h"
#include "gguf/gguf_internal.h"

namespace pq::gguf {
namespace {

// Smallest encodings: a key/value (empty key, type, one byte) and a tensor
// info (empty name, n_dims, one dim, type, offset). Counts are checked
// against the remaining bytes divided by these before any reservation.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kStringLengthBytes = 8;
// ReadGguf reads the file's head in growing prefixes starting at this size.
constexpr size_t kFirstReadBytes = 1 << 20;

// Reads little-endian fields from `data`, whose first `available` bytes of a
// `size`-byte file are present. Running past `size` is a hostile file;
// running past `available` only means the caller must read more.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t available, uint64_t size, const std::string& origin)
      : data_(data), available_(available), size_(size), origin_(origin) {}

  bool need_more() const { return need_more_; }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  Status Error(const std::string& what) const {
    return Status::InvalidInput(origin_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }

  // Checks that `n` more bytes exist, naming `what` they would hold.
  Status Need(uint64_t n, const std::string& what) {
    if (n > size_ - pos_) {
      return Error(what + " needs " + std::to_string(n) + " bytes but the file has " +
                   std::to_string(size_ - pos_) + " left");
    }
    if (n > available_ - pos_) {
      need_more_ = true;
      return Status::InvalidInput(origin_ + ": truncated read");
    }
    return Status::OK();
  }

  template <typename T>
  Status Read(T* v, const std::string& what) {
    PQ_RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::OK();
  }

  Status ReadString(std::string* s, const std::string& what) {
    uint64_t length;
    PQ_RETURN_IF_ERROR(Read(&length, what + " length"));
    if (length > size_ - pos_) {
      return Error(what + " of " + std::to_string(length) + " bytes runs beyond the end of the file");
    }
    PQ_RETURN_IF_ERROR(Need(length, what));
    s->assign(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return Status::OK();
  }

 private:
  const uint8_t* data_;
  uint64_t available_;
  uint64_t size_;
  const std::string& origin_;
  uint64_t pos_ = 0;
  bool need_more_ = false;
};

std::string TypeName(uint32_t t) { return "value type " + std::to_string(t); }

// Reads one scalar of `type` into `integer` or `real`.
Status ReadScalar(Cursor& c, uint32_t type, const std::string& what, int64_t* integer, double* real) {
  switch (static_cast<ValueType>(type)) {
    case ValueType::kUint8: { uint8_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kInt8: { int8_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kBool: {
      uint8_t v;
      PQ_RETURN_IF_ERROR(c.Read(&v, what));
      if (v > 1) return c.Error(what + ": bool " + std::to_string(v) + " is neither 0 nor 1");
      *integer = v;
      break;
    }
    case ValueType::kUint16: { uint16_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kInt16: { int16_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kUint32: { uint32_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kInt32: { int32_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kUint64: {
      uint64_t v;
      PQ_RETURN_IF_ERROR(c.Read(&v, what));
      *integer = static_cast<int64_t>(v);
      break;
    }
    case ValueType::kInt64: { int64_t v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *integer = v; break; }
    case ValueType::kFloat32: { float v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *real = v; break; }
    case ValueType::kFloat64: { double v; PQ_RETURN_IF_ERROR(c.Read(&v, what)); *real = v; break; }
    default: return c.Error(what + " has unknown " + TypeName(type));
  }
  return Status::OK();
}

Status ReadValue(Cursor& c, const std::string& what, Value* v) {
  uint32_t type;
  PQ_RETURN_IF_ERROR(c.Read(&type, what + " type"));
  v->type = static_cast<ValueType>(type);
  if (v->type == ValueType::kString) return c.ReadString(&v->string, what);
  if (v->type != ValueType::kArray) return ReadScalar(c, type, what, &v->integer, &v->real);

  uint32_t element;
  PQ_RETURN_IF_ERROR(c.Read(&element, what + " element type"));
  v->element_type = static_cast<ValueType>(element);
  uint64_t count;
  PQ_RETURN_IF_ERROR(c.Read(&count, what + " element count"));
  if (v->element_type == ValueType::kArray) return c.Error(what + ": nested arrays are refused");
  const bool is_string = v->element_type == ValueType::kString;
  const uint64_t element_bytes = is_string ? kStringLengthBytes : ScalarBytes(element);
  if (element_bytes == 0) return c.Error(what + ": array of unknown " + TypeName(element));
  if (count > c.remaining() / element_bytes) {
    return c.Error(what + ": array of " + std::to_string(count) + " elements cannot fit in the " +
                   std::to_string(c.remaining()) + " bytes left");
  }
  if (is_string) {
    v->strings.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      PQ_RETURN_IF_ERROR(c.ReadString(&v->strings[i], what + "[" + std::to_string(i) + "]"));
    }
    return Status::OK();
  }
  const bool real = v->element_type == ValueType::kFloat32 || v->element_type == ValueType::kFloat64;
  PQ_RETURN_IF_ERROR(c.Need(count * element_bytes, what + " elements"));
  (real ? v->reals.resize(count) : v->integers.resize(count));
  for (uint64_t i = 0; i < count; ++i) {
    int64_t integer = 0;
    double r = 0;
    PQ_RETURN_IF_ERROR(ReadScalar(c, element, what, &integer, &r));
    if (real) {
      v->reals[i] = r;
    } else {
      v->integers[i] = integer;
    }
  }
  return Status::OK();
}

Status ReadTensorInfo(Cursor& c, size_t index, TensorInfoRecord* t) {
  const std::string what = "tensor info " + std::to_string(index);
  PQ_RETURN_IF_ERROR(c.ReadString(&t->name, what + " name"));
  const std::string named = "tensor '" + t->name + "'";
  uint32_t n_dims;
  PQ_RETURN_IF_ERROR(c.Read(&n_dims, named + " n_dims"));
  if (n_dims == 0 || n_dims > static_cast<uint32_t>(kMaxDims)) {
    return c.Error(named + " has " + std::to_string(n_dims) + " dims, expected 1 to 4");
  }
  t->dims.resize(n_dims);
  for (uint32_t i = 0; i < n_dims; ++i) {
    uint64_t d;
    PQ_RETURN_IF_ERROR(c.Read(&d, named + " dim"));
    if (d == 0 || d > static_cast<uint64_t>(INT64_MAX)) {
      return c.Error(named + " dim " + std::to_string(i) + " is " + std::to_string(d) +
                     ", expected a positive size");
    }
    t->dims[i] = static_cast<int64_t>(d);
  }
  PQ_RETURN_IF_ERROR(c.Read(&t->type, named + " type"));
  const GgmlStorage* storage = StorageOf(t->type);
  if (storage == nullptr) return c.Error(named + " has unknown ggml type " + std::to_string(t->type));
  if (t->dims[0] % storage->block_size != 0) {
    return c.Error(named + ": its first dim " + std::to_string(t->dims[0]) +
                   " is not a multiple of the " + storage->name + " block size " +
                   std::to_string(storage->block_size));
  }
  const std::optional<uint64_t> bytes = TensorBytes(t->type, t->dims);
  if (!bytes) return c.Error(named + ": its size overflows");
  t->bytes = *bytes;
  return c.Read(&t->offset, named + " offset");
}

// Parses the head of a `size`-byte file whose first `available` bytes are at
// `data`; sets *need_more (and returns an error) when the head runs past them.
Result<GgufContents> Parse(const uint8_t* data, uint64_t available, uint64_t size,
                           const std::string& origin, bool* need_more) {
  Cursor c(data, available, size, origin);
  auto fail = [&](Status s) -> Result<GgufContents> {
    *need_more = c.need_more();
    return s;
  };
  GgufContents out;
  out.file_bytes = size;
  char magic[4];
  if (size < sizeof(magic)) {
    return fail(Status::InvalidInput(origin + ": not a GGUF file (" + std::to_string(size) + " bytes)"));
  }
  Status s = c.Read(&magic, "magic");
  if (!s.ok()) return fail(s);
  if (std::memcmp(magic, kGgufMagic, sizeof(magic)) != 0) {
    return fail(Status::InvalidInput(origin + ": not a GGUF file (no \"GGUF\" magic)"));
  }
  s = c.Read(&out.version, "version");
  if (!s.ok()) return fail(s);
  if (out.version != 2 && out.version != 3) {
    return fail(c.Error("GGUF version " + std::to_string(out.version) + " is not supported (expected 2 or 3)"));
  }
  uint64_t tensor_count, kv_count;
  s = c.Read(&tensor_count, "tensor count");
  if (s.ok()) s = c.Read(&kv_count, "key/value count");
  if (!s.ok()) return fail(s);
  if (kv_count > c.remaining() / kMinKvBytes) {
    return fail(c.Error("key/value count " + std::to_string(kv_count) + " cannot fit in the " +
                        std::to_string(c.remaining()) + " bytes left"));
  }
  if (tensor_count > c.remaining() / kMinTensorInfoBytes) {
    return fail(c.Error("tensor count " + std::to_string(tensor_count) + " cannot fit in the " +
                        std::to_string(c.remaining()) + " bytes left"));
  }
  std::set<std::string> keys;
  out.kvs.resize(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    KeyValue& kv = out.kvs[i];
    s = c.ReadString(&kv.key, "key " + std::to_string(i));
    if (s.ok()) s = ReadValue(c, "key '" + kv.key + "'", &kv.value);
    if (!s.ok()) return fail(s);
    if (!keys.insert(kv.key).second) return fail(c.Error("duplicate key '" + kv.key + "'"));
  }
  if (const Value* a = FindValue(out, kAlignmentKey)) {
    if (a->type != ValueType::kUint32 || a->integer == 0 || (a->integer & (a->integer - 1)) != 0) {
      return fail(c.Error("general.alignment must be a uint32 power of two"));
    }
    out.alignment = static_cast<uint32_t>(a->integer);
  }
  std::set<std::string> names;
  out.tensors.resize(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    s = ReadTensorInfo(c, i, &out.tensors[i]);
    if (!s.ok()) return fail(s);
    const TensorInfoRecord& t = out.tensors[i];
    if (!names.insert(t.name).second) return fail(c.Error("duplicate tensor name '" + t.name + "'"));
    if (t.offset % out.alignment != 0) {
      return fail(c.Error("tensor '" + t.name + "' offset " + std::to_string(t.offset) +
                          " is not a multiple of the alignment " + std::to_string(out.alignment)));
    }
  }
  out.data_offset = AlignUp(c.pos(), out.alignment);
  const uint64_t data_bytes = out.data_offset <= size ? size - out.data_offset : 0;
  std::vector<const TensorInfoRecord*> by_offset;
  for (const TensorInfoRecord& t : out.tensors) {
    if (t.offset > data_bytes || t.bytes > data_bytes - t.offset) {
      return fail(Status::InvalidInput(origin + ": tensor '" + t.name + "' data [" +
                                       std::to_string(t.offset) + ", +" + std::to_string(t.bytes) +
                                       ") lies beyond the " + std::to_string(data_bytes) +
                                       " bytes of the data section"));
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfoRecord* a, const TensorInfoRecord* b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i - 1]->offset + by_offset[i - 1]->bytes > by_offset[i]->offset) {
      return fail(Status::InvalidInput(origin + ": tensor '" + by_offset[i - 1]->name +
                                       "' overlaps tensor '" + by_offset[i]->name + "'"));
    }
  }
  *need_more = false;
  return out;
}

}  // namespace

Result<GgufContents> ParseGguf(const uint8_t* data, size_t size, const std::string& origin) {
  bool need_more = false;
  return Parse(data, size, size, origin, &need_more);
}

Result<GgufContents> ReadGguf(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidInput(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::InvalidInput(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> head;
  size_t want = static_cast<size_t>(std::min<uint64_t>(size, kFirstReadBytes));
  while (true) {
    size_t done = head.size();
    head.resize(want);
    while (done < want) {
      const ssize_t n = pread(fd, head.data() + done, want - done, static_cast<off_t>(done));
      if (n <= 0) {
        close(fd);
        return Status::InvalidInput(path + ": read failed at byte " + std::to_string(done));
      }
      done += static_cast<size_t>(n);
    }
    bool need_more = false;
    Result<GgufContents> parsed = Parse(head.data(), head.size(), size, path, &need_more);
    if (!need_more || head.size() >= size) {
      close(fd);
      return parsed;
    }
    want = static_cast<size_t>(std::min<uint64_t>(size, static_cast<uint64_t>(head.size()) * 2));
  }
}

}  // namespace pq::gguf
