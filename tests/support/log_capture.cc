#include "tests/support/log_capture.h"

#include <rte_log.h>

namespace tartan::testing {

LogCapture::LogCapture() : file_(std::tmpfile()) {
  rte_openlog_stream(file_);
}

LogCapture::~LogCapture() {
  rte_openlog_stream(nullptr);
  std::fclose(file_);
}

std::string LogCapture::text() const {
  std::fflush(file_);
  std::rewind(file_);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
  return out;
}

}  // namespace tartan::testing
