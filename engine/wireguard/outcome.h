// A value or the reason there is none, as an enum the data path can count.
// status.h's Result carries a message string; a handshake or packet
// rejected by a peer is an expected event whose reason is a counter, not a
// sentence, and building a string per hostile packet would allocate.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace tartan::wireguard {

template <class T, class Reason>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Outcome(Reason why) : v_(why) {}            // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Reason reason() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Reason> v_;
};

}  // namespace tartan::wireguard
