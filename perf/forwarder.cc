#include "perf/forwarder.h"

#include <rte_ethdev.h>
#include <rte_ether.h>

#include <utility>

namespace tartan::perf {

Forwarder::Forwarder(uint16_t in_port, uint16_t out_port, uint16_t burst, bool macswap)
    : in_(in_port), out_(out_port), burst_(burst), macswap_(macswap) {}

void Forwarder::control(Control c, uint64_t) {
  if (c != Control::kReset) return;
  for (Counter* k : {&rx_packets_, &rx_bytes_, &tx_packets_, &tx_bytes_}) k->set(0);
}

void Forwarder::poll(uint64_t) {
  const uint16_t n = rte_eth_rx_burst(in_, 0, pkts_.data(), burst_);
  if (n == 0) return;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    bytes += pkts_[i]->pkt_len;
    if (macswap_ && pkts_[i]->data_len >= sizeof(rte_ether_hdr)) {
      auto* eth = rte_pktmbuf_mtod(pkts_[i], rte_ether_hdr*);
      std::swap(eth->src_addr, eth->dst_addr);
    }
  }
  const uint16_t sent = rte_eth_tx_burst(out_, 0, pkts_.data(), n);
  uint64_t sent_bytes = bytes;
  for (uint16_t i = sent; i < n; ++i) sent_bytes -= pkts_[i]->pkt_len;
  if (sent < n) rte_pktmbuf_free_bulk(&pkts_[sent], n - sent);
  rx_packets_.add(n);
  rx_bytes_.add(bytes);
  tx_packets_.add(sent);
  tx_bytes_.add(sent_bytes);
}

}  // namespace tartan::perf
