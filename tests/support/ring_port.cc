#include "tests/support/ring_port.h"

#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <stdexcept>

namespace tartan::testing {

RingPort::RingPort(unsigned ring_size, unsigned queues) {
  static unsigned next = 0;
  const std::string name = "rp" + std::to_string(next++);
  for (unsigned q = 0; q < queues; ++q) {
    const std::string suffix = queues == 1 ? "" : std::to_string(q);
    rx_.push_back(rte_ring_create((name + "_rx" + suffix).c_str(), ring_size,
                                  static_cast<int>(rte_socket_id()),
                                  RING_F_SP_ENQ | RING_F_SC_DEQ));
    tx_.push_back(rte_ring_create((name + "_tx" + suffix).c_str(), ring_size,
                                  static_cast<int>(rte_socket_id()),
                                  RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (rx_.back() == nullptr || tx_.back() == nullptr)
      throw std::runtime_error("cannot create rings for " + name);
  }
  const int id =
      rte_eth_from_rings(name.c_str(), rx_.data(), queues, tx_.data(), queues, rte_socket_id());
  if (id < 0) throw std::runtime_error("rte_eth_from_rings failed for " + name);
  port_id_ = static_cast<uint16_t>(id);
  char dev_name[RTE_ETH_NAME_MAX_LEN];
  rte_eth_dev_get_name_by_port(port_id_, dev_name);
  name_ = dev_name;  // the driver prefixes "net_ring_"
}

RingPort::~RingPort() {
  for (rte_mbuf* m : drain()) rte_pktmbuf_free(m);
  void* obj;
  for (rte_ring* r : rx_) {
    while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
  // Removes the vdev (closing the port if the engine under test has not),
  // so the name can be used again, before the rings go away.
  rte_vdev_uninit(name_.c_str());
  for (rte_ring* r : rx_) rte_ring_free(r);
  for (rte_ring* r : tx_) rte_ring_free(r);
}

unsigned RingPort::inject(const std::vector<rte_mbuf*>& pkts, unsigned queue) {
  return rte_ring_enqueue_burst(rx_.at(queue), reinterpret_cast<void* const*>(pkts.data()),
                                pkts.size(), nullptr);
}

std::vector<rte_mbuf*> RingPort::drain() {
  std::vector<rte_mbuf*> out;
  for (rte_ring* r : tx_) {
    std::vector<rte_mbuf*> some(rte_ring_count(r));
    const unsigned n =
        rte_ring_dequeue_burst(r, reinterpret_cast<void**>(some.data()), some.size(), nullptr);
    out.insert(out.end(), some.begin(), some.begin() + n);
  }
  return out;
}

unsigned RingPort::pending() const {
  unsigned n = 0;
  for (rte_ring* r : rx_) n += rte_ring_count(r);
  for (rte_ring* r : tx_) n += rte_ring_count(r);
  return n;
}

}  // namespace tartan::testing
