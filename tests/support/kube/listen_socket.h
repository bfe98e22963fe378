// Listening TCP sockets for the API server double: on this network
// namespace, or inside a named one (/var/run/netns/<name>) so processes
// there reach the same server.
#pragma once

#include <string>

namespace tartan::testing::kube {

// A socket bound to `address`:`port` (0: any free port), listening or not.
// Every socket made here shares its port (SO_REUSEPORT), so a non-listening
// one can hold a stopped server's port: the kernel then gives that port to
// no outgoing connection (a client retrying a port in the ephemeral range
// can otherwise take it, even connect to itself), connections to it are
// refused, and the server binds it again when it resumes.
// Throws std::runtime_error naming the address on failure.
int bind_tcp(const std::string& address, int port, bool listening);
// The same, created inside network namespace `netns` (setns on a
// short-lived thread: the namespace is per thread, the socket keeps it).
int bind_tcp_in_netns(const std::string& netns, const std::string& address, int port,
                      bool listening);
// The port a socket is bound to.
int bound_port(int fd);

}  // namespace tartan::testing::kube
