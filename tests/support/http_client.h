// A plain-HTTP client for tests of tartand's HTTP endpoints (libcurl, as a
// probe or a scraper would be).
#pragma once

#include <string>
#include <vector>

namespace tartan::testing {

struct HttpResult {
  long status = 0;           // 0 when no answer came (the error says why)
  std::string content_type;  // of the answer
  std::string body;
  std::string allow;  // the Allow header
  std::string error;  // libcurl's, when status is 0
};

// `method` GET, HEAD, POST...; `headers` as "Name: value". Gives up after 10 s.
HttpResult http_request(const std::string& url, const std::string& method = "GET",
                        const std::vector<std::string>& headers = {});

}  // namespace tartan::testing
