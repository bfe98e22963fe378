#include "perf/ports.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace tartan::perf {
namespace {

constexpr unsigned kMempoolCache = 256;
// How long the ports' links may take to come up (testpmd waits 9 s).
constexpr auto kLinkWait = std::chrono::seconds(10);

std::string setup_port(uint16_t port, const TrafficOptions& o, uint16_t max_frame,
                       rte_mempool* pool) {
  const std::string name = "port " + std::to_string(port) + ": ";
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0)
    return name + "cannot read device info: " + rte_strerror(-rc);
  rte_eth_conf conf{};
  // Room for the longest frame we send and for forwarded VXLAN frames.
  const uint32_t mtu =
      std::max<uint32_t>({RTE_ETHER_MTU, uint32_t{max_frame} - RTE_ETHER_HDR_LEN, 1600});
  const uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  conf.rxmode.mtu = std::min<uint32_t>({mtu, info.max_mtu, info.max_rx_pktlen - overhead});
  if (conf.rxmode.mtu + RTE_ETHER_HDR_LEN < max_frame)
    std::fprintf(stderr, "tartan-perf: warning: %sreceives frames of at most %u bytes\n",
                 name.c_str(), conf.rxmode.mtu + RTE_ETHER_HDR_LEN);
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0)
    return name + "cannot configure: " + rte_strerror(-rc);
  uint16_t rxd = o.descriptors, txd = o.descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned queue_socket = socket < 0 ? rte_socket_id() : static_cast<unsigned>(socket);
  if (int rc = rte_eth_rx_queue_setup(port, 0, rxd, queue_socket, nullptr, pool); rc != 0)
    return name + "cannot set up its RX queue: " + rte_strerror(-rc);
  if (int rc = rte_eth_tx_queue_setup(port, 0, txd, queue_socket, nullptr); rc != 0)
    return name + "cannot set up its TX queue: " + rte_strerror(-rc);
  if (int rc = rte_eth_dev_start(port); rc != 0) return name + "cannot start: " + rte_strerror(-rc);
  rte_eth_promiscuous_enable(port);  // not every device can; frames to other MACs are ours too
  return "";
}

// A memif or vhost peer, or a NIC's link partner, may take a while to
// connect (on a loaded machine, memif's handshake alone can outlast a short
// run): the run's clock starts once every link is up, as testpmd checks link
// status before forwarding, or after kLinkWait with a warning.
void wait_for_links(const std::vector<uint16_t>& ports) {
  const auto deadline = std::chrono::steady_clock::now() + kLinkWait;
  for (uint16_t port : ports) {
    rte_eth_link link{};
    while (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status != RTE_ETH_LINK_UP) {
      if (std::chrono::steady_clock::now() >= deadline) {
        std::fprintf(stderr, "tartan-perf: warning: port %u: link still down after %lld s\n", port,
                     static_cast<long long>(kLinkWait.count()));
        break;
      }
      rte_delay_us_sleep(10000);
    }
  }
}

}  // namespace

std::unique_ptr<Ports> Ports::open(const std::vector<uint16_t>& ports, const TrafficOptions& o,
                                   uint16_t max_frame, std::string& error) {
  std::unique_ptr<Ports> p(new Ports);
  p->pool_ = rte_pktmbuf_pool_create("tartan_perf", o.mbufs, kMempoolCache, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (p->pool_ == nullptr) {
    error = "cannot create a mempool of " + std::to_string(o.mbufs) +
            " mbufs: " + rte_strerror(rte_errno) + " (give EAL more memory with -m, or --mbufs)";
    return nullptr;
  }
  for (uint16_t port : ports) {
    error = setup_port(port, o, max_frame, p->pool_);
    if (!error.empty()) return nullptr;
    p->started_.push_back(port);
  }
  wait_for_links(ports);
  return p;
}

Ports::~Ports() {
  for (uint16_t port : started_) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  rte_mempool_free(pool_);
}

Mac Ports::mac(uint16_t port) {
  rte_ether_addr a{};
  rte_eth_macaddr_get(port, &a);
  Mac m;
  std::copy(std::begin(a.addr_bytes), std::end(a.addr_bytes), m.begin());
  return m;
}

}  // namespace tartan::perf
