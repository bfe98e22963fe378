#include "tests/support/kube/faults.h"

#include <algorithm>
#include <cstring>

#include "tests/support/kube/status.h"

namespace tartan::testing::kube {
namespace {

// A NodeList of one Node whose annotation holds the bulk, made while it is
// sent so that it never sits in memory.
class HugeBody : public BodySource {
 public:
  explicit HugeBody(size_t bytes) {
    head_ = R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)"
            R"({"metadata":{"name":"huge","annotations":{"filler":")";
    tail_ = R"("}}}]})";
    filler_ = bytes > head_.size() + tail_.size() ? bytes - head_.size() - tail_.size() : 0;
  }

  ssize_t read(char* buf, size_t max) override {
    size_t n = 0;
    while (n < max) {
      if (sent_ < head_.size()) {
        n += copy(head_, sent_, buf + n, max - n);
      } else if (sent_ < head_.size() + filler_) {
        const size_t k = std::min(max - n, head_.size() + filler_ - sent_);
        std::memset(buf + n, 'x', k);
        sent_ += k;
        n += k;
      } else if (sent_ < head_.size() + filler_ + tail_.size()) {
        n += copy(tail_, sent_ - head_.size() - filler_, buf + n, max - n);
      } else {
        break;
      }
    }
    return n == 0 ? -1 : static_cast<ssize_t>(n);
  }

 private:
  size_t copy(const std::string& s, size_t from, char* out, size_t room) {
    const size_t k = std::min(room, s.size() - from);
    std::memcpy(out, s.data() + from, k);
    sent_ += k;
    return k;
  }

  std::string head_, tail_;
  size_t filler_ = 0;
  size_t sent_ = 0;
};

}  // namespace

bool RequestMatch::matches(const Request& request) const {
  return (method.empty() || method == request.method) && (path.empty() || path == request.path) &&
         (!watch || *watch == request.flag("watch"));
}

void FaultQueue::add(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

std::optional<Fault> FaultQueue::take(const Request& request) {
  std::lock_guard lock(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!it->match.matches(request)) continue;
    Fault taken = *it;
    if (--it->remaining <= 0) faults_.erase(it);
    return taken;
  }
  return std::nullopt;
}

void FaultQueue::clear() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

Reply status_reply(const Fault& fault) {
  Reply r;
  r.code = fault.code;
  if (fault.retry_after_s > 0)
    r.headers.emplace_back("Retry-After", std::to_string(fault.retry_after_s));
  if (fault.code == 429) {
    // Max-in-flight and priority-and-fairness answer in plain text
    // (apiserver/pkg/server/filters/maxinflight.go tooManyRequests).
    r.content_type = "text/plain; charset=utf-8";
    r.body = "Too many requests, please try again later.\n";
    return r;
  }
  const Outcome o =
      fault.code == 503
          ? service_unavailable("the server is currently unable to handle the request")
      : fault.code == 500 ? internal_error("a fault the test injected")
                          : failure(fault.code, "InternalError", "a fault the test injected");
  r.body = o.body.dump();
  return r;
}

void spoil(const Fault& fault, Reply& reply, const std::function<void(BodySource&)>& cut_watch) {
  switch (fault.kind) {
    case Fault::kGarbage:
      reply.stream.reset();
      reply.code = 200;
      reply.content_type = "application/json";
      reply.body = R"({"kind":"NodeList","apiVersion":"v1","items":[{"metadata":{"name":)"
                   "\x01\xff<garbage>]}";
      break;
    case Fault::kTruncated:
      if (reply.stream)
        cut_watch(*reply.stream);
      else
        reply.body.resize(reply.body.size() / 2);
      break;
    case Fault::kHuge:
      reply.code = 200;
      reply.content_type = "application/json";
      reply.body.clear();
      reply.stream = std::make_unique<HugeBody>(fault.bytes);
      break;
    case Fault::kStatus:
      break;
  }
}

}  // namespace tartan::testing::kube
