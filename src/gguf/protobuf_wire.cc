#include "gguf/protobuf_wire.h"

#include <string>
#include <vector>

namespace pq::gguf {
namespace {

constexpr int kMaxVarintBytes = 10;
constexpr uint32_t kMaxFieldNumber = (1u << 29) - 1;

}  // namespace

const char* WireTypeName(WireType type) {
  switch (type) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "64-bit";
    case WireType::kLengthDelimited: return "length-delimited";
    case WireType::kStartGroup: return "start-group";
    case WireType::kEndGroup: return "end-group";
    case WireType::kFixed32: return "32-bit";
  }
  return "invalid";
}

Status WireReader::Error(const std::string& what) const {
  return Status::InvalidInput("at byte " + std::to_string(base_offset_ + pos_) + ": " + what);
}

Status WireReader::ReadVarint(uint64_t* value) {
  uint64_t result = 0;
  for (int i = 0; i < kMaxVarintBytes; ++i) {
    if (pos_ >= bytes_.size()) return Error("varint cut off by the end of the data");
    const uint8_t byte = static_cast<uint8_t>(bytes_[pos_++]);
    // The 10th byte may only carry bit 63, and must end the varint.
    if (i == kMaxVarintBytes - 1 && byte > 1) {
      return Error("varint longer than 10 bytes or beyond 64 bits");
    }
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *value = result;
      return Status::OK();
    }
  }
  return Status::Internal("unreachable: the 10th varint byte ends it or is refused");
}

Status WireReader::ReadTag(uint32_t* number, WireType* type) {
  uint64_t tag = 0;
  PQ_RETURN_IF_ERROR(ReadVarint(&tag));
  const uint64_t n = tag >> 3;
  const uint32_t t = static_cast<uint32_t>(tag & 7);
  if (n == 0 || n > kMaxFieldNumber) {
    return Error("field number " + std::to_string(n) + " outside 1..2^29-1");
  }
  if (t > 5) return Error("wire type " + std::to_string(t) + " does not exist");
  *number = static_cast<uint32_t>(n);
  *type = static_cast<WireType>(t);
  return Status::OK();
}

// Reads the payload of a field whose tag (`number`, `type`) was just read.
// REQUIRES: `type` is not a group tag.
Status WireReader::ReadPayload(uint32_t number, WireType type, WireField* field) {
  field->number = number;
  field->type = type;
  field->offset = base_offset_ + pos_;
  if (type == WireType::kVarint) return ReadVarint(&field->varint);
  if (type == WireType::kFixed64 || type == WireType::kFixed32) {
    const size_t width = type == WireType::kFixed64 ? 8 : 4;
    if (bytes_.size() - pos_ < width) {
      return Error("field " + std::to_string(number) + ": " + WireTypeName(type) +
                   " value cut off by the end of the data");
    }
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    field->fixed = v;
    return Status::OK();
  }
  uint64_t length = 0;
  PQ_RETURN_IF_ERROR(ReadVarint(&length));
  if (length > bytes_.size() - pos_) {
    return Error("field " + std::to_string(number) + ": length " + std::to_string(length) +
                 " beyond the " + std::to_string(bytes_.size() - pos_) + " bytes left");
  }
  field->offset = base_offset_ + pos_;
  field->bytes = bytes_.substr(pos_, static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return Status::OK();
}

// Skips the fields of a group whose start tag (field `number`) was just
// read, nested groups included, up to and including its end tag. Iterative:
// hostile nesting costs memory bounded by the data, not stack.
Status WireReader::SkipGroup(uint32_t number) {
  std::vector<uint32_t> open = {number};
  while (!open.empty()) {
    if (AtEnd()) return Error("group of field " + std::to_string(open.back()) + " not closed");
    uint32_t n = 0;
    WireType type = WireType::kVarint;
    PQ_RETURN_IF_ERROR(ReadTag(&n, &type));
    if (type == WireType::kStartGroup) {
      open.push_back(n);
    } else if (type == WireType::kEndGroup) {
      if (n != open.back()) {
        return Error("end-group of field " + std::to_string(n) + " closes the group of field " +
                     std::to_string(open.back()));
      }
      open.pop_back();
    } else {
      WireField ignored;
      PQ_RETURN_IF_ERROR(ReadPayload(n, type, &ignored));
    }
  }
  return Status::OK();
}

Status WireReader::Next(WireField* field) {
  *field = WireField();
  while (!AtEnd()) {
    uint32_t number = 0;
    WireType type = WireType::kVarint;
    PQ_RETURN_IF_ERROR(ReadTag(&number, &type));
    if (type == WireType::kEndGroup) {
      return Error("end-group of field " + std::to_string(number) + " without its start");
    }
    if (type != WireType::kStartGroup) return ReadPayload(number, type, field);
    PQ_RETURN_IF_ERROR(SkipGroup(number));
  }
  return Status::OK();
}

}  // namespace pq::gguf
