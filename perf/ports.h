// The mempool and the ethdevs tartan-perf uses: one RX and one TX queue per
// port, started on open (which returns once their links are up, or after
// 10 s), stopped and closed on destruction.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "perf/options.h"

namespace tartan::perf {

class Ports {
 public:
  // `max_frame`: the longest frame (bytes without FCS) the ports must pass.
  // nullptr and `error` set on failure.
  static std::unique_ptr<Ports> open(const std::vector<uint16_t>& ports, const TrafficOptions& o,
                                     uint16_t max_frame, std::string& error);
  ~Ports();
  Ports(const Ports&) = delete;
  Ports& operator=(const Ports&) = delete;

  rte_mempool* pool() const { return pool_; }
  static Mac mac(uint16_t port);

 private:
  Ports() = default;
  rte_mempool* pool_ = nullptr;
  std::vector<uint16_t> started_;
};

}  // namespace tartan::perf
