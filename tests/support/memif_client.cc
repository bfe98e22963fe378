#include "tests/support/memif_client.h"

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace tartan::testing {

Vdev::Vdev(std::string name, const std::string& args) : name_(std::move(name)) {
  ok_ = rte_vdev_init(name_.c_str(), args.c_str()) == 0 &&
        rte_eth_dev_get_port_by_name(name_.c_str(), &port_) == 0;
}

Vdev::~Vdev() {
  rte_vdev_uninit(name_.c_str());
}

bool Vdev::link_up() const {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

MemifClient::MemifClient(const std::string& name, const std::string& socket)
    : pool_(rte_pktmbuf_pool_create((name + "_pool").c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY)),
      dev_("net_memif_" + name, "role=client,id=0,socket-abstract=no,socket=" + socket) {
  rte_eth_conf conf{};
  ok_ = pool_ != nullptr && dev_.ok() && rte_eth_dev_configure(dev_.port(), 1, 1, &conf) == 0 &&
        rte_eth_rx_queue_setup(dev_.port(), 0, 1024, SOCKET_ID_ANY, nullptr, pool_) == 0 &&
        rte_eth_tx_queue_setup(dev_.port(), 0, 1024, SOCKET_ID_ANY, nullptr) == 0;
}

MemifClient::~MemifClient() {
  if (dev_.ok()) {
    rte_eth_dev_stop(dev_.port());
    rte_eth_dev_close(dev_.port());
  }
  rte_mempool_free(pool_);
}

bool MemifClient::connect() {
  return rte_eth_dev_start(dev_.port()) == 0;
}

void MemifClient::vanish() {
  rte_eth_dev_stop(dev_.port());
}

unsigned MemifClient::send(const Bytes& frame, unsigned n) {
  unsigned sent = 0;
  for (unsigned done = 0; done < n; done += 32) {
    rte_mbuf* pkts[32];
    const uint16_t burst = static_cast<uint16_t>(std::min(32u, n - done));
    for (uint16_t i = 0; i < burst; ++i) pkts[i] = to_mbuf(pool_, frame);
    const uint16_t took = rte_eth_tx_burst(dev_.port(), 0, pkts, burst);
    rte_pktmbuf_free_bulk(pkts + took, burst - took);
    sent += took;
  }
  return sent;
}

std::vector<Bytes> MemifClient::receive() {
  std::vector<Bytes> out;
  rte_mbuf* pkts[32];
  uint16_t n;
  while ((n = rte_eth_rx_burst(dev_.port(), 0, pkts, 32)) > 0) {
    for (uint16_t i = 0; i < n; ++i) {
      out.push_back(from_mbuf(pkts[i]));
      rte_pktmbuf_free(pkts[i]);
    }
  }
  return out;
}

unsigned MemifClient::discard_received() {
  unsigned total = 0;
  rte_mbuf* pkts[32];
  uint16_t n;
  while ((n = rte_eth_rx_burst(dev_.port(), 0, pkts, 32)) > 0) {
    rte_pktmbuf_free_bulk(pkts, n);
    total += n;
  }
  return total;
}

}  // namespace tartan::testing
