// A reader of the protobuf wire format over bytes in memory, for messages pq
// decodes without their .proto (SentencePiece's ModelProto). It never reads
// past the end of its bytes and refuses what the format does not allow.
//
// Wire format: a message is a sequence of fields; each starts with a varint
// tag (field_number << 3 | wire_type) followed by its payload:
//   0 varint  1..10 bytes, 7 bits each, little-endian groups, high bit = more
//   1 i64     8 bytes little-endian
//   2 len     a varint byte count, then that many bytes
//   3 sgroup  fields up to the matching egroup (4) of the same number
//   5 i32     4 bytes little-endian
#ifndef PQ_GGUF_PROTOBUF_WIRE_H_
#define PQ_GGUF_PROTOBUF_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pq/status.h"

namespace pq::gguf {

enum class WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// Returns a short name of `type` ("varint", "length-delimited", ...).
const char* WireTypeName(WireType type);

// One field as read. Only the member of its wire type is meaningful.
struct WireField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;     // kVarint
  uint64_t fixed = 0;      // kFixed64, or kFixed32 in the low 32 bits
  std::string_view bytes;  // kLengthDelimited; points into the reader's bytes
  size_t offset = 0;       // where the payload starts, from the outermost message's start
};

// Reads the fields of one message in order. `base_offset` is where `bytes`
// starts within the outermost message, so that errors name absolute offsets.
// The bytes must outlive the reader and the fields it returns.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes, size_t base_offset = 0)
      : bytes_(bytes), base_offset_(base_offset) {}

  // True when every byte has been consumed.
  bool AtEnd() const { return pos_ >= bytes_.size(); }

  // Reads the next field into `field`; groups (wire types 3..4) are skipped
  // whole and the field after them is returned, so a message made only of
  // groups may leave AtEnd() true and `field->number` 0 on success.
  // REQUIRES: !AtEnd().
  // Errors (kInvalidInput, "at byte N: ..."): a varint longer than 10 bytes
  // or beyond 64 bits, a length or fixed-size payload beyond the bytes,
  // field number 0 or above 2^29-1, wire types 6 and 7, an end-group
  // without its start, a group left open.
  Status Next(WireField* field);

 private:
  Status ReadVarint(uint64_t* value);
  Status ReadTag(uint32_t* number, WireType* type);
  Status ReadPayload(uint32_t number, WireType type, WireField* field);
  Status SkipGroup(uint32_t number);
  Status Error(const std::string& what) const;

  std::string_view bytes_;
  size_t base_offset_ = 0;
  size_t pos_ = 0;
};

// The int32 a varint field holds (negative values are sign-extended to 64
// bits on the wire; protobuf keeps the low 32 bits).
inline int32_t VarintToInt32(uint64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(v & 0xffffffffu));
}

}  // namespace pq::gguf

#endif  // PQ_GGUF_PROTOBUF_WIRE_H_
