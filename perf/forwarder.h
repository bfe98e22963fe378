// testpmd's io and macswap forwarding: what arrives on one port leaves on
// the other, unchanged (io) or with the Ethernet addresses swapped
// (macswap). What the out port does not take is freed and counted (rx - tx),
// as testpmd does without tx retry.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>

#include "perf/options.h"
#include "perf/poller.h"

namespace tartan::perf {

class Forwarder : public Poller {
 public:
  Forwarder(uint16_t in_port, uint16_t out_port, uint16_t burst, bool macswap);
  void poll(uint64_t now) override;
  void control(Control c, uint64_t now) override;

  uint64_t rx_packets() const { return rx_packets_.get(); }
  uint64_t rx_bytes() const { return rx_bytes_.get(); }
  uint64_t tx_packets() const { return tx_packets_.get(); }
  uint64_t tx_bytes() const { return tx_bytes_.get(); }

 private:
  uint16_t in_, out_, burst_;
  bool macswap_;
  std::array<rte_mbuf*, kMaxBurst> pkts_{};
  Counter rx_packets_, rx_bytes_, tx_packets_, tx_bytes_;
};

}  // namespace tartan::perf
