// What tartan's log (rte_log, DPDK's lines included) says while one of these
// lives: rte_log writes to a temporary file meanwhile.
#pragma once

#include <cstdio>
#include <string>

namespace tartan::testing {

class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const;

 private:
  FILE* file_;
};

}  // namespace tartan::testing
