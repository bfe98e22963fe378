#include "control/sources/etcd/etcd_endpoint.h"

#include <algorithm>
#include <cctype>

namespace tartan {

Result<EtcdEndpoint> parse_etcd_endpoint(const std::string& url) {
  EtcdEndpoint e;
  e.url = url;
  std::string rest = url;
  if (rest.rfind("https://", 0) == 0) {
    e.tls = true;
    rest = rest.substr(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return Status::invalid("'" + url + "': the scheme must be http or https");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();  // "http://h:2379/" is common
  const auto colon = rest.rfind(':');
  const bool digits = colon != std::string::npos && colon + 1 < rest.size() &&
                      rest.size() - colon - 1 <= 5 &&
                      std::all_of(rest.begin() + colon + 1, rest.end(),
                                  [](unsigned char c) { return std::isdigit(c); });
  if (colon == 0 || !digits || rest.find('/') != std::string::npos) {
    return Status::invalid("'" + url + "' is not an etcd client URL (http://host:port)");
  }
  const long port = std::stol(rest.substr(colon + 1));
  if (port < 1 || port > 65535) return Status::invalid("'" + url + "': port out of range 1..65535");
  e.target = rest;
  return e;
}

}  // namespace tartan
