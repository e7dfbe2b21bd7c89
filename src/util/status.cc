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

Status Status::WithPrefix(const std::string& prefix) const {
  if (ok()) return *this;
  return Status(code_, prefix + ": " + message_);
}

}  // namespace pq
