// Status and Result<T>: how errors travel across pq's library boundary.
//
// A Status is either OK or carries a Code and a one-line message that names
// the file (and tensor/node where it applies) and what was expected. The CLI
// maps each Code to a documented exit code; the library never exits.
#ifndef PQ_STATUS_H_
#define PQ_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace pq {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInternal,         // a bug in pq (exit 1)
    kInvalidArgument,  // bad flag or option value (exit 2)
    kInvalidInput,     // unreadable, corrupt or malformed model or data (exit 3)
    kNotSupported,     // well-formed input pq cannot handle (exit 3)
    kGateFailed,       // a validation gate failed (exit 4)
    kOutputError,      // the output could not be written (exit 5)
  };

  // Creates an OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status InvalidInput(std::string msg) {
    return Status(Code::kInvalidInput, std::move(msg));
  }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status GateFailed(std::string msg) { return Status(Code::kGateFailed, std::move(msg)); }
  static Status OutputError(std::string msg) {
    return Status(Code::kOutputError, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns "OK" or "<code name>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithPrefix(const std::string& prefix) const;

 private:
  // Keeps the message on one line whatever it quotes (a tensor name or a
  // header read from a hostile file): control characters become escapes.
  Status(Code code, std::string msg) : code_(code), message_(OneLine(std::move(msg))) {}

  static std::string OneLine(std::string msg);

  Code code_ = Code::kOk;
  std::string message_;
};

// Returns the name of a status code ("invalid input", ...).
const char* StatusCodeName(Status::Code code);

// A value or the Status explaining why there is none.
// REQUIRES: value() only when ok(); status() is OK exactly when a value is held.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace pq

// Returns early from the enclosing function when `expr` is not OK.
#define PQ_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::pq::Status pq_status_ = (expr);     \
    if (!pq_status_.ok()) return pq_status_; \
  } while (0)

#endif  // PQ_STATUS_H_
