#include "tests/support/ring_port.h"

#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <stdexcept>

namespace tartan::testing {

RingPort::RingPort(unsigned ring_size) {
  static unsigned next = 0;
  const std::string name = "rp" + std::to_string(next++);
  rx_ = rte_ring_create((name + "_rx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                        RING_F_SP_ENQ | RING_F_SC_DEQ);
  tx_ = rte_ring_create((name + "_tx").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                        RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (rx_ == nullptr || tx_ == nullptr) throw std::runtime_error("cannot create rings for " + name);
  const int id = rte_eth_from_rings(name.c_str(), &rx_, 1, &tx_, 1, rte_socket_id());
  if (id < 0) throw std::runtime_error("rte_eth_from_rings failed for " + name);
  port_id_ = static_cast<uint16_t>(id);
  char dev_name[RTE_ETH_NAME_MAX_LEN];
  rte_eth_dev_get_name_by_port(port_id_, dev_name);
  name_ = dev_name;  // the driver prefixes "net_ring_"
}

RingPort::~RingPort() {
  for (rte_mbuf* m : drain()) rte_pktmbuf_free(m);
  void* obj;
  while (rte_ring_dequeue(rx_, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  // Removes the vdev (closing the port if the engine under test has not),
  // so the name can be used again, before the rings go away.
  rte_vdev_uninit(name_.c_str());
  rte_ring_free(rx_);
  rte_ring_free(tx_);
}

unsigned RingPort::inject(const std::vector<rte_mbuf*>& pkts) {
  return rte_ring_enqueue_burst(rx_, reinterpret_cast<void* const*>(pkts.data()), pkts.size(),
                                nullptr);
}

std::vector<rte_mbuf*> RingPort::drain() {
  std::vector<rte_mbuf*> out(rte_ring_count(tx_));
  const unsigned n =
      rte_ring_dequeue_burst(tx_, reinterpret_cast<void**>(out.data()), out.size(), nullptr);
  out.resize(n);
  return out;
}

}  // namespace tartan::testing
