// What the packet-streaming RPCs (Capture, Trace) share: their bounds
// checked at the edge, the ports a request names, and worker timestamps
// (TSC ticks) turned into Unix time.
#pragma once

#include <grpcpp/grpcpp.h>
#include <rte_ethdev.h>

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/port.h"

namespace tartan {

// `value`, or `fallback` when 0, into `out`; outside min..max
// INVALID_ARGUMENT naming `field`.
grpc::Status bounded(const char* field, uint32_t value, uint32_t fallback, uint32_t min,
                     uint32_t max, uint32_t& out);

// The ports named in `wanted` (every port when it is empty) into `out`; a
// name no port has is INVALID_ARGUMENT naming it.
template <class Names>
grpc::Status select_ports(const Names& wanted, const std::vector<Port>& ports,
                          std::bitset<RTE_MAX_ETHPORTS>& out) {
  for (const std::string& want : wanted) {
    const Port* found = nullptr;
    for (const Port& p : ports) {
      if (p.name() == want) found = &p;
    }
    if (found == nullptr)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "ports: no port named '" + want + "'");
    out.set(found->id());
  }
  if (wanted.empty()) {
    for (const Port& p : ports) out.set(p.id());
  }
  return grpc::Status::OK;
}

// Unix nanoseconds of a worker's TSC reading, from a pair taken together
// when the stream started.
class TscToUnix {
 public:
  TscToUnix();
  uint64_t ns(uint64_t tsc) const;

 private:
  uint64_t tsc0_, ns0_, hz_;
};

}  // namespace tartan
