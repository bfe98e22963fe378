// Listening TCP sockets for the API server double: on this network
// namespace, or inside a named one (/var/run/netns/<name>) so processes
// there reach the same server.
#pragma once

#include <string>

namespace tartan::testing::kube {

// A socket bound to `address`:`port` (0: any free port) and listening.
// Throws std::runtime_error naming the address on failure.
int listen_tcp(const std::string& address, int port);
// The same, created inside network namespace `netns` (setns on a
// short-lived thread: the namespace is per thread, the socket keeps it).
int listen_tcp_in_netns(const std::string& netns, const std::string& address, int port);
// The port a socket is bound to.
int bound_port(int fd);

}  // namespace tartan::testing::kube
