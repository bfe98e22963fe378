// control.http.listen: where tartand's HTTP endpoints listen, as flanneld's
// --healthz-ip and --healthz-port together. Numeric addresses only, so the
// config means the same on every node whatever its resolver says.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "engine/status.h"

namespace tartan {

struct ListenAddress {
  sockaddr_storage addr{};  // sockaddr_in or sockaddr_in6, port set
  socklen_t len = 0;
  bool ipv6 = false;
};

// "IPv4:PORT" ("0.0.0.0:8081", "127.0.0.1:0") or "[IPv6]:PORT" ("[::]:8081");
// port 0 asks the kernel for a free one. Errors say what was expected.
Result<ListenAddress> parse_listen_address(const std::string& text);

// "127.0.0.1:8081" / "[::1]:8081", from a bound socket's address.
std::string listen_address_str(const sockaddr_storage& addr);

}  // namespace tartan
