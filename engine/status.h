// Explicit results for expected failures. C++20 has no std::expected (it is
// C++23) and Debian 12 packages no expected-style library, so this is the
// smallest type that lets engine/ and control/ return errors by value.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tartan {

// Codes mirror the gRPC canonical codes the control plane maps them to.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kAborted,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,
  kInternal,
};

class Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message)
      : ok_(false), code_(code), message_(std::move(message)) {}

  static Status invalid(std::string message) {
    return {ErrorCode::kInvalidArgument, std::move(message)};
  }
  static Status internal(std::string message) { return {ErrorCode::kInternal, std::move(message)}; }

  bool ok() const { return ok_; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  ErrorCode code_ = ErrorCode::kInternal;
  std::string message_;
};

// A value or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Status& status() const { return std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tartan
