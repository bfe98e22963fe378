// An ethdev backed by two rte_rings the test holds: what the test enqueues
// on `rx` the port receives; what the port transmits the test dequeues from
// `tx`. The data plane sees an ordinary DPDK port (net_ring).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tartan::testing {

class RingPort {
 public:
  // Names are generated ("rp<N>"): DPDK's ring and memzone names are short.
  // `queues` RX and as many TX queues, each its own pair of rings.
  explicit RingPort(unsigned ring_size = 4096, unsigned queues = 1);
  ~RingPort();  // frees the rings and anything left in them
  RingPort(const RingPort&) = delete;
  RingPort& operator=(const RingPort&) = delete;

  const std::string& name() const { return name_; }  // the ethdev name, for PortConfig::device
  uint16_t port_id() const { return port_id_; }

  // Queues packets for the port to receive on RX queue `queue`; returns
  // how many fit.
  unsigned inject(const std::vector<rte_mbuf*>& pkts, unsigned queue = 0);
  // Takes everything the port has sent so far, on every TX queue.
  std::vector<rte_mbuf*> drain();
  // mbufs in the rings: injected but not received yet, sent but not drained.
  unsigned pending() const;

 private:
  std::string name_;
  std::vector<rte_ring*> rx_;
  std::vector<rte_ring*> tx_;
  uint16_t port_id_ = 0;
};

}  // namespace tartan::testing
