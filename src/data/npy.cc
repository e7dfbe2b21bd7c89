#include "pq/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pq/data_type.h"

namespace pq {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// A minimal reader of the header's Python dict literal.
class HeaderParser {
 public:
  explicit HeaderParser(std::string text) : text_(std::move(text)) {}

  Status Parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    Skip();
    if (!Eat('{')) return Fail("the header is not a dict");
    while (true) {
      Skip();
      if (Eat('}')) break;
      std::string key;
      if (!ReadString(&key)) return Fail("expected a quoted key");
      Skip();
      if (!Eat(':')) return Fail("expected ':' after '" + key + "'");
      Skip();
      if (key == "descr") {
        if (Peek() == '[') return Fail("structured dtypes are not supported");
        if (!ReadString(descr)) return Fail("'descr' must be a string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (text_.compare(pos_, 4, "True") == 0) {
          *fortran = true;
          pos_ += 4;
        } else if (text_.compare(pos_, 5, "False") == 0) {
          *fortran = false;
          pos_ += 5;
        } else {
          return Fail("'fortran_order' must be True or False");
        }
        have_fortran = true;
      } else if (key == "shape") {
        PQ_RETURN_IF_ERROR(ReadShape(shape));
        have_shape = true;
      } else {
        return Fail("unexpected key '" + key + "'");
      }
      Skip();
      if (Eat(',')) continue;
      Skip();
      if (Eat('}')) break;
      return Fail("expected ',' or '}'");
    }
    if (!have_descr || !have_fortran || !have_shape) {
      return Fail("the header must have 'descr', 'fortran_order' and 'shape'");
    }
    return Status::OK();
  }

 private:
  Status Fail(const std::string& what) { return Status::InvalidInput(what); }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Skip() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool ReadString(std::string* out) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return false;
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos || end - pos_ > 64) return false;
    *out = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return true;
  }
  Status ReadShape(std::vector<int64_t>* shape) {
    if (!Eat('(')) return Fail("'shape' must be a tuple");
    while (true) {
      Skip();
      if (Eat(')')) return Status::OK();
      int64_t value = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const int d = text_[pos_] - '0';
        if (value > (INT64_MAX - d) / 10) return Fail("a shape dimension overflows int64");
        value = value * 10 + d;
        ++pos_;
        ++digits;
      }
      if (digits == 0) return Fail("shape dimensions must be non-negative integers");
      // numpy writes Python ints; tolerate a trailing 'L' from Python 2 files.
      Eat('L');
      shape->push_back(value);
      if (shape->size() > 32) return Fail("more than 32 dimensions");
      Skip();
      if (Eat(',')) continue;
      Skip();
      if (Eat(')')) return Status::OK();
      return Fail("malformed 'shape' tuple");
    }
  }

  std::string text_;
  size_t pos_ = 0;
};

// Maps a numpy type string ("<f4") to an ONNX type number and item size.
Status DescrType(const std::string& descr, int32_t* dtype, int* size, bool* big_endian) {
  if (descr.find('O') != std::string::npos) {
    return Status::InvalidInput("object arrays (dtype '" + descr +
                                "') are refused: pq never unpickles data");
  }
  if (descr.size() < 3) return Status::InvalidInput("dtype '" + descr + "' is not understood");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    return Status::InvalidInput("dtype '" + descr + "' has no byte-order mark");
  }
  *big_endian = order == '>';
  const std::string kind = descr.substr(1);
  struct Known {
    const char* kind;
    int32_t dtype;
    int size;
  };
  static const Known kKnown[] = {
      {"f4", 1, 4}, {"f8", 11, 8}, {"f2", 10, 2}, {"i8", 7, 8}, {"i4", 6, 4}, {"i2", 5, 2},
      {"i1", 3, 1}, {"u1", 2, 1},  {"u2", 4, 2},  {"u4", 12, 4}, {"u8", 13, 8}, {"b1", 9, 1},
  };
  for (const Known& k : kKnown) {
    if (kind == k.kind) {
      *dtype = k.dtype;
      *size = k.size;
      return Status::OK();
    }
  }
  return Status::InvalidInput("dtype '" + descr + "' is not supported");
}

}  // namespace

Result<NpyHeader> ParseNpyHeader(const uint8_t* bytes, int64_t size, const std::string& what,
                                 int64_t available) {
  if (available < 0) available = size;
  if (available < 10 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    return Status::InvalidInput(what + ": not an .npy file (bad magic)");
  }
  const int major = bytes[6];
  int64_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (available < 12) return Status::InvalidInput(what + ": truncated .npy header");
    header_len = static_cast<int64_t>(bytes[8]) | (static_cast<int64_t>(bytes[9]) << 8) |
                 (static_cast<int64_t>(bytes[10]) << 16) | (static_cast<int64_t>(bytes[11]) << 24);
    prefix = 12;
  } else {
    return Status::InvalidInput(what + ": .npy format version " + std::to_string(major) +
                                " is not supported");
  }
  if (header_len > kMaxNpyHeaderBytes) {
    return Status::InvalidInput(what + ": .npy header of " + std::to_string(header_len) +
                                " bytes exceeds the limit of " +
                                std::to_string(kMaxNpyHeaderBytes));
  }
  if (prefix + header_len > available) {
    return Status::InvalidInput(what + ": truncated .npy header");
  }
  std::string text(reinterpret_cast<const char*>(bytes + prefix), static_cast<size_t>(header_len));
  NpyHeader header;
  std::string descr;
  HeaderParser parser(text);
  Status parsed = parser.Parse(&descr, &header.fortran_order, &header.shape);
  if (!parsed.ok()) return Status::InvalidInput(what + ": bad .npy header: " + parsed.message());
  Status type = DescrType(descr, &header.dtype, &header.item_size, &header.big_endian);
  if (!type.ok()) return type.WithPrefix(what);
  std::optional<int64_t> count = CheckedElementCount(header.shape);
  // Row offsets multiply the trailing dims even when another dim is 0, so the
  // product of the non-zero dims must not overflow either.
  std::vector<int64_t> spans = header.shape;
  for (int64_t& d : spans) d = d == 0 ? 1 : d;
  std::optional<int64_t> span = CheckedElementCount(spans);
  if (!count || !span || *span > INT64_MAX / header.item_size) {
    return Status::InvalidInput(what + ": shape " + ShapeToString(header.shape) + " overflows");
  }
  header.element_count = *count;
  header.data_offset = prefix + header_len;
  const int64_t data_bytes = size - header.data_offset;
  const int64_t needed = *count * header.item_size;
  if (data_bytes != needed) {
    return Status::InvalidInput(what + ": holds " + std::to_string(data_bytes) +
                                " data bytes, shape " + ShapeToString(header.shape) + " of '" +
                                descr + "' needs " + std::to_string(needed) +
                                (data_bytes < needed ? " (truncated)" : ""));
  }
  return header;
}

namespace {

// Converts rows packed in C order as stored (byte order of the file) into an
// executor tensor.
Result<Tensor> ConvertRows(const NpyHeader& header, std::string packed,
                           const std::vector<int64_t>& out_shape, const std::string& what) {
  const int item = header.item_size;
  if (header.big_endian && item > 1) {
    for (size_t e = 0; e < packed.size(); e += static_cast<size_t>(item)) {
      std::reverse(packed.begin() + static_cast<std::ptrdiff_t>(e),
                   packed.begin() + static_cast<std::ptrdiff_t>(e) + item);
    }
  }
  if (header.dtype == 4 || header.dtype == 5 || header.dtype == 12 || header.dtype == 13) {
    return Status::NotSupported(what + ": arrays of " + DataTypeName(header.dtype) +
                                " are not supported; save float32, int64, int32, uint8, int8 or bool");
  }
  return TensorFromBytes(header.dtype, out_shape, reinterpret_cast<const uint8_t*>(packed.data()),
                         static_cast<int64_t>(packed.size()), what);
}

// Checks a row request; sets the row length and the output shape.
Status CheckRows(const NpyHeader& header, int64_t first, int64_t count, const std::string& what,
                 int64_t* row, std::vector<int64_t>* out_shape) {
  std::vector<int64_t> shape = header.shape;
  if (shape.empty()) shape = {1};  // a scalar is one row
  if (first < 0 || count < 0 || first > shape[0] || count > shape[0] - first) {
    return Status::InvalidInput(what + ": rows " + std::to_string(first) + "+" +
                                std::to_string(count) + " are outside " + std::to_string(shape[0]));
  }
  *row = 1;
  for (size_t i = 1; i < shape.size(); ++i) *row *= shape[i];
  *out_shape = shape;
  (*out_shape)[0] = count;
  return Status::OK();
}

// Gathers rows [first, first + count) of a Fortran-ordered array whose whole
// data is at `data`, into C order.
std::string GatherFortranRows(const NpyHeader& header, const uint8_t* data, int64_t first,
                              int64_t count, int64_t row) {
  std::vector<int64_t> shape = header.shape;
  if (shape.empty()) shape = {1};
  const int item = header.item_size;
  std::string packed(static_cast<size_t>(count * row * item), '\0');
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t e = 0; e < count * row; ++e) {
    int64_t rest = e;
    for (size_t d = shape.size(); d-- > 1;) {
      index[d] = rest % shape[d];
      rest /= shape[d];
    }
    index[0] = first + rest;
    // Fortran order: element (i0, i1, ...) lives at i0 + n0 * (i1 + n1 * ...).
    int64_t offset = 0;
    for (size_t d = shape.size(); d-- > 0;) offset = offset * shape[d] + index[d];
    std::memcpy(&packed[static_cast<size_t>(e * item)], data + offset * item, static_cast<size_t>(item));
  }
  return packed;
}

}  // namespace

Result<Tensor> NpyRows(const NpyHeader& header, const uint8_t* bytes, int64_t first,
                       int64_t count, const std::string& what) {
  int64_t row = 0;
  std::vector<int64_t> out_shape;
  PQ_RETURN_IF_ERROR(CheckRows(header, first, count, what, &row, &out_shape));
  const uint8_t* data = bytes + header.data_offset;
  const int item = header.item_size;
  std::string packed;
  if (!header.fortran_order || header.shape.size() <= 1) {
    packed.assign(reinterpret_cast<const char*>(data + first * row * item),
                  static_cast<size_t>(count * row * item));
  } else {
    packed = GatherFortranRows(header, data, first, count, row);
  }
  return ConvertRows(header, std::move(packed), out_shape, what);
}

NpyFile::~NpyFile() {
  if (fd_ >= 0) close(fd_);
}

namespace {

// Reads exactly `size` bytes at `offset`; false on a short read or error.
bool ReadAt(int fd, int64_t offset, void* out, size_t size) {
  char* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<NpyFile>> NpyFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidInput(path + ": cannot open: " + std::strerror(errno));
  auto file = std::unique_ptr<NpyFile>(new NpyFile());
  file->path_ = path;
  file->fd_ = fd;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidInput(path + ": not a regular file");
  }
  // The header is at most 12 + kMaxNpyHeaderBytes bytes; the parser checks
  // the data size against the whole file's size.
  const int64_t file_size = static_cast<int64_t>(st.st_size);
  const int64_t head = std::min<int64_t>(file_size, 12 + kMaxNpyHeaderBytes);
  std::string prefix(static_cast<size_t>(head), '\0');
  if (head > 0 && !ReadAt(fd, 0, prefix.data(), prefix.size())) {
    return Status::InvalidInput(path + ": read error");
  }
  // ParseNpyHeader only reads the header bytes; `file_size` lets it check the
  // data size, after it checked that the header lies within `prefix`.
  Result<NpyHeader> header = ParseNpyHeader(reinterpret_cast<const uint8_t*>(prefix.data()),
                                            file_size, path, head);
  if (!header.ok()) return header.status();
  file->header_ = std::move(header).value();
  return file;
}

Result<Tensor> NpyFile::Rows(int64_t first, int64_t count) const {
  int64_t row = 0;
  std::vector<int64_t> out_shape;
  PQ_RETURN_IF_ERROR(CheckRows(header_, first, count, path_, &row, &out_shape));
  const int item = header_.item_size;
  std::string packed;
  if (!header_.fortran_order || header_.shape.size() <= 1) {
    packed.resize(static_cast<size_t>(count * row * item));
    if (!packed.empty() &&
        !ReadAt(fd_, header_.data_offset + first * row * item, packed.data(), packed.size())) {
      return Status::InvalidInput(path_ + ": read error (the file changed while pq read it?)");
    }
  } else {
    std::string all(static_cast<size_t>(header_.element_count * item), '\0');
    if (!all.empty() && !ReadAt(fd_, header_.data_offset, all.data(), all.size())) {
      return Status::InvalidInput(path_ + ": read error (the file changed while pq read it?)");
    }
    packed = GatherFortranRows(header_, reinterpret_cast<const uint8_t*>(all.data()), first,
                               count, row);
  }
  return ConvertRows(header_, std::move(packed), out_shape, path_);
}

std::string EncodeNpy(const Tensor& t) {
  const char* descr = "<f4";
  switch (t.dtype()) {
    case kFloat: descr = "<f4"; break;
    case kInt64: descr = "<i8"; break;
    case kInt32: descr = "<i4"; break;
    case kInt8: descr = "|i1"; break;
    case kUint8: descr = "|u1"; break;
    case kInt16: descr = "<i2"; break;
    case kUint16: descr = "<u2"; break;
    case kUint32: descr = "<u4"; break;
    case kUint64: descr = "<u8"; break;
    case kBool: descr = "|b1"; break;
    default: break;
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  }
  shape += ")";
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                     shape + ", }";
  // Pad with spaces so that magic + version + length + dict + '\n' is a
  // multiple of 64 bytes, as numpy does.
  const size_t unpadded = kMagicSize + 2 + 2 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  out += dict;
  out.append(static_cast<const char*>(t.raw()), static_cast<size_t>(t.byte_size()));
  return out;
}

}  // namespace pq
