#include "tests/support/taken_port.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tartan::testing {

TakenPort::TakenPort() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 1) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string error = std::strerror(errno);
    if (fd_ >= 0) close(fd_);
    throw std::runtime_error("cannot take a port on 127.0.0.1: " + error);
  }
  address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

TakenPort::~TakenPort() {
  close(fd_);
}

}  // namespace tartan::testing
