#include "control/api/packet_stream.h"

#include <rte_cycles.h>

#include <chrono>

namespace tartan {

grpc::Status bounded(const char* field, uint32_t value, uint32_t fallback, uint32_t min,
                     uint32_t max, uint32_t& out) {
  out = value == 0 ? fallback : value;
  if (out < min || out > max) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(field) + ": " + std::to_string(value) + " is outside " +
                            std::to_string(min) + ".." + std::to_string(max));
  }
  return grpc::Status::OK;
}

TscToUnix::TscToUnix()
    : tsc0_(rte_rdtsc()),
      ns0_(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count())),
      hz_(rte_get_tsc_hz()) {}

uint64_t TscToUnix::ns(uint64_t tsc) const {
  return ns0_ +
         static_cast<uint64_t>(static_cast<unsigned __int128>(tsc - tsc0_) * 1000000000 / hz_);
}

}  // namespace tartan
