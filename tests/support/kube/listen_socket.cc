#include "tests/support/kube/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tartan::testing::kube {

int bind_tcp(const std::string& address, int port, bool listening) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const std::string where = address + ":" + std::to_string(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("API server double: '" + address + "' is not an IPv4 address");
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error("API server double: socket: " + std::string(strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (listening && listen(fd, 128) != 0)) {
    const std::string why = strerror(errno);
    close(fd);
    throw std::runtime_error("API server double: cannot listen on " + where + ": " + why);
  }
  return fd;
}

int bind_tcp_in_netns(const std::string& netns, const std::string& address, int port,
                      bool listening) {
  int fd = -1;
  std::string error;
  std::thread([&] {
    const std::string path = "/var/run/netns/" + netns;
    const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
      error = "API server double: cannot enter network namespace " + netns + ": " + strerror(errno);
      if (ns >= 0) close(ns);
      return;
    }
    close(ns);
    try {
      fd = bind_tcp(address, port, listening);
    } catch (const std::exception& e) {
      error = e.what() + std::string(" in network namespace ") + netns;
    }
  }).join();
  if (fd < 0) throw std::runtime_error(error);
  return fd;
}

int bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace tartan::testing::kube
