// A TCP port on 127.0.0.1 held by a listening socket, as another process
// (flanneld's --healthz-port, say) would hold it.
#pragma once

#include <string>

namespace tartan::testing {

class TakenPort {
 public:
  TakenPort();  // a free port, taken
  ~TakenPort();
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace tartan::testing
