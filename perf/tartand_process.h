// The real tartand binary as a child process, for what only a process
// shows: its resident memory. net_null ports (no NIC, no traffic), no
// hugepages, its own EAL file prefix and temporary directory (socket,
// state, subnet.env), the worker on lcore 1.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "control/config/config.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan::perf {

struct TartandOptions {
  std::string binary;  // build/control/tartand
  // The `lease` section, e.g. "{source: static, subnet: 10.0.1.0/24}".
  std::string lease;
  uint32_t max_routes = 1024;
  uint32_t watch_history_mb = ControlConfig{}.watch_history_mb;
};

class TartandProcess {
 public:
  // Started and ready (every readiness condition holds); throws
  // std::runtime_error with its output when it is not within 2 minutes.
  explicit TartandProcess(const TartandOptions& options);
  ~TartandProcess();  // SIGTERM, then SIGKILL after 30 s; the directory removed
  TartandProcess(const TartandProcess&) = delete;
  TartandProcess& operator=(const TartandProcess&) = delete;

  const std::string& socket() const { return socket_; }
  std::shared_ptr<grpc::Channel> channel() const;
  // VmRSS of the process, in bytes.
  size_t rss_bytes() const;
  std::string output() const { return process_->output(); }

 private:
  testing::ScopedTempDir dir_;
  std::string socket_;
  std::unique_ptr<testing::Process> process_;
};

}  // namespace tartan::perf
