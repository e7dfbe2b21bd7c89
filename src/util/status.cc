#include "pq/status.h"

namespace pq {

const char* StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInternal: return "internal error";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kInvalidInput: return "invalid input";
    case Status::Code::kNotSupported: return "not supported";
    case Status::Code::kGateFailed: return "gate failed";
    case Status::Code::kOutputError: return "output error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

std::string Status::OneLine(std::string msg) {
  bool clean = true;
  for (char c : msg) clean = clean && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (clean) return msg;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(msg.size() + 8);
  for (char c : msg) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

Status Status::WithPrefix(const std::string& prefix) const {
  if (ok()) return *this;
  return Status(code_, prefix + ": " + message_);
}

}  // namespace pq
