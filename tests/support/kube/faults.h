// Faults the tests arm on the API server double, each for the next
// request(s) that match: an error status (429 with Retry-After, 5xx), a
// body that is not JSON, one cut in half, or one far too large.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "tests/support/kube/exchange.h"

namespace tartan::testing::kube {

// Which requests a fault applies to; empty fields match anything.
struct RequestMatch {
  std::string method;         // "GET", "PATCH", ...
  std::string path;           // exactly, without the query
  std::optional<bool> watch;  // a WATCH (watch=true) or not
  bool matches(const Request& request) const;
};

struct Fault {
  enum Kind { kStatus, kGarbage, kTruncated, kHuge } kind = kStatus;
  RequestMatch match;
  int remaining = 1;
  int code = 500;         // kStatus
  int retry_after_s = 0;  // kStatus: a Retry-After header when > 0
  size_t bytes = 0;       // kHuge
};

class FaultQueue {
 public:
  void add(Fault fault);
  // One use of the oldest fault matching `request`.
  std::optional<Fault> take(const Request& request);
  void clear();

 private:
  std::mutex mu_;
  std::deque<Fault> faults_;
};

// The answer a kStatus fault gives instead of serving the request.
Reply status_reply(const Fault& fault);
// Applies a body fault to the reply the request got: garbage instead of
// it, its first half only (a watch: its first event cut in half, then the
// end of the stream), or a 200 NodeList of `fault.bytes`, streamed.
// `cut_watch` arms a watch stream's cut (with the server's lock held).
void spoil(const Fault& fault, Reply& reply, const std::function<void(BodySource&)>& cut_watch);

}  // namespace tartan::testing::kube
