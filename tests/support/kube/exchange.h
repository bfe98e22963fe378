// One HTTP request to the API server double and its reply, apart from the
// HTTP library that carries them.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tartan::testing::kube {

// kube-apiserver's MaxRequestBodyBytes: a larger body is 413.
constexpr size_t kMaxRequestBody = 3 * 1024 * 1024;

// The client certificate a TLS connection presented.
struct TlsPeer {
  bool presented = false;
  bool verified = false;  // chains to the configured client CA
  std::string common_name;
};

struct Request {
  std::string method;
  std::string path;
  std::string raw_query;                       // as sent, still escaped
  std::map<std::string, std::string> query;    // decoded as Go's url.ParseQuery does
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool body_too_large = false;
  TlsPeer peer;

  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  std::string param(const std::string& name) const {
    const auto it = query.find(name);
    return it == query.end() ? "" : it->second;
  }
  bool has_param(const std::string& name) const { return query.contains(name); }
  // A boolean parameter, true as strconv.ParseBool reads it.
  bool flag(const std::string& name) const {
    const std::string v = param(name);
    return v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True";
  }
};

// A body produced while it is sent (watches, huge answers): read() fills
// `buf` with at most `max` bytes, blocking until it has some, or returns
// MHD's end codes (-1: end of stream, -2: reset the connection).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual ssize_t read(char* buf, size_t max) = 0;
};

struct Reply {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this stream (HTTP chunked), not `body`.
  std::unique_ptr<BodySource> stream;
};

}  // namespace tartan::testing::kube
