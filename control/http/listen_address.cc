#include "control/http/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace tartan {

Result<ListenAddress> parse_listen_address(const std::string& text) {
  const auto bad = [&] {
    return Status::invalid("expected IPv4:PORT (e.g. 0.0.0.0:8081) or [IPv6]:PORT, found '" + text +
                           "'");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  uint16_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size()) {
    return Status::invalid("port '" + port_text + "' is not a number 0..65535 in '" + text + "'");
  }
  ListenAddress a;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
      return Status::invalid("'" + host + "' is not an IPv6 address in '" + text + "'");
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    a.ipv6 = true;
    return a;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.addr);
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1)
    return host.find(':') != std::string::npos
               ? bad()
               : Status::invalid("'" + host + "' is not an IPv4 address in '" + text + "'");
  in4->sin_family = AF_INET;
  in4->sin_port = htons(port);
  a.len = sizeof(sockaddr_in);
  return a;
}

std::string listen_address_str(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(&addr);
  inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(in4->sin_port));
}

}  // namespace tartan
