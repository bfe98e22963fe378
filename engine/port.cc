#include "engine/port.h"

#include <rte_dev.h>
#include <rte_errno.h>

#include <algorithm>

#include "engine/eal.h"
#include "engine/log.h"

namespace tartan {
namespace {

std::string dpdk_error(int rc) {
  return rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

Result<Port> Port::open(const PortConfig& config, uint16_t wanted_rx_queues, uint16_t tx_queues,
                        const WorkersConfig& workers, rte_mempool* pool) {
  Port port;
  port.name_ = config.name;
  port.role_ = config.role;
  if (is_vnet_tap_device(config.device)) {
    auto tap = VnetTap::open(config, tx_queues, pool);
    if (!tap) return tap.status();
    port.vnet_tap_ = std::move(tap).value();
  }
  const std::string dev_name = device_port_name(config.device);
  if (port.vnet_tap_) {
    port.id_ = port.vnet_tap_->port_id();
  } else if (rte_eth_dev_get_port_by_name(dev_name.c_str(), &port.id_) != 0) {
    return Status(ErrorCode::kNotFound, "port '" + config.name + "': no DPDK device named '" +
                                            dev_name + "' (device '" + config.device +
                                            "' was not probed; is it bound to a DPDK driver?)");
  }

  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port.id_, &info); rc != 0) {
    return Status::internal("port '" + config.name +
                            "': cannot read device info: " + dpdk_error(rc));
  }
  port.driver_ = info.driver_name ? info.driver_name : "?";
  port.rx_queues_ = std::min<uint16_t>(wanted_rx_queues, info.max_rx_queues);
  if (port.rx_queues_ < wanted_rx_queues) {
    TARTAN_LOG(NOTICE, kEngine,
               "port '%s' (%s) has %u RX queues, fewer than the %u workers; "
               "workers beyond it do not poll it",
               config.name.c_str(), port.driver_.c_str(), info.max_rx_queues, wanted_rx_queues);
  }
  if (info.max_tx_queues < tx_queues) {
    return Status(ErrorCode::kFailedPrecondition,
                  "port '" + config.name + "' (" + port.driver_ + ") offers " +
                      std::to_string(info.max_tx_queues) + " TX queues but tartan needs " +
                      std::to_string(tx_queues) + " (one per worker)");
  }
  port.tx_queues_ = tx_queues;

  rte_eth_conf conf{};
  const uint64_t rss_hf =
      info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
  if (port.rx_queues_ > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    port.offloads_.rss = true;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    port.offloads_.ipv4_cksum = true;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    port.offloads_.udp_cksum = true;
  }
  // The workers read the verdicts where the device gives them and check in
  // software where not; a tunnel-aware device puts the outer UDP one apart.
  constexpr uint64_t kRxChecksums = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  if ((info.rx_offload_capa & kRxChecksums) == kRxChecksums) {
    conf.rxmode.offloads |= kRxChecksums;
    conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_OUTER_UDP_CKSUM;
    port.offloads_.rx_cksum = true;
  }
  if (int rc = rte_eth_dev_configure(port.id_, port.rx_queues_, port.tx_queues_, &conf); rc != 0) {
    return Status::internal("port '" + config.name + "': configure failed: " + dpdk_error(rc));
  }
  port.open_ = true;

  // A vnet tap set its MTU and MAC on the kernel interface when it opened.
  if (config.mtu != 0 && !port.vnet_tap_) {
    if (int rc = rte_eth_dev_set_mtu(port.id_, config.mtu); rc != 0) {
      // Virtual devices such as net_ring have no MTU; the engine enforces the
      // overlay MTU itself, so this is worth a note, not a failure.
      TARTAN_LOG(NOTICE, kEngine, "port '%s' (%s): MTU %u not set on the device: %s",
                 config.name.c_str(), port.driver_.c_str(), config.mtu, dpdk_error(rc).c_str());
    }
  }

  bool logical_mac = false;
  if (config.mac && !port.vnet_tap_) {
    rte_ether_addr wanted;
    std::copy(config.mac->bytes.begin(), config.mac->bytes.end(), wanted.addr_bytes);
    const int rc = rte_eth_dev_default_mac_addr_set(port.id_, &wanted);
    if (rc == -ENOTSUP) {
      // Virtual devices such as net_ring have no MAC filter to program; the
      // configured MAC is what tartan puts in and expects in frames.
      TARTAN_LOG(NOTICE, kEngine, "port '%s' (%s) cannot change its MAC; using %s in software",
                 config.name.c_str(), port.driver_.c_str(), config.mac->str().c_str());
      logical_mac = true;
    } else if (rc != 0) {
      port.close();
      return Status(ErrorCode::kFailedPrecondition, "port '" + config.name + "' (" + port.driver_ +
                                                        "): cannot set MAC " + config.mac->str() +
                                                        ": " + dpdk_error(rc));
    }
  }

  uint16_t rx_desc = workers.rx_descriptors;
  uint16_t tx_desc = workers.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.id_, &rx_desc, &tx_desc); rc != 0) {
    port.close();
    return Status::internal("port '" + config.name +
                            "': descriptor counts rejected: " + dpdk_error(rc));
  }
  const int socket = rte_eth_dev_socket_id(port.id_);
  for (uint16_t q = 0; q < port.rx_queues_; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port.id_, q, rx_desc, socket, nullptr, pool); rc != 0) {
      port.close();
      return Status::internal("port '" + config.name + "': RX queue " + std::to_string(q) +
                              " setup failed: " + dpdk_error(rc));
    }
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < port.tx_queues_; ++q) {
    if (int rc = rte_eth_tx_queue_setup(port.id_, q, tx_desc, socket, &txconf); rc != 0) {
      port.close();
      return Status::internal("port '" + config.name + "': TX queue " + std::to_string(q) +
                              " setup failed: " + dpdk_error(rc));
    }
  }
  if (port.vnet_tap_) {
    port.mac_ = port.vnet_tap_->mac();
  } else if (logical_mac) {
    port.mac_ = *config.mac;
  } else {
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port.id_, &mac);
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), port.mac_.bytes.begin());
  }
  return port;
}

Status Port::start() {
  if (int rc = rte_eth_dev_start(id_); rc != 0) {
    return Status::internal("port '" + name_ + "': start failed: " + dpdk_error(rc));
  }
  started_ = true;
  TARTAN_LOG(INFO, kEngine, "port '%s' (%s, %s) started: %u RX / %u TX queues, mac %s%s%s%s%s",
             name_.c_str(), port_role_name(role_), driver_.c_str(), rx_queues_, tx_queues_,
             mac_.str().c_str(), offloads_.rss ? ", rss" : "",
             offloads_.ipv4_cksum ? ", ipv4-cksum offload" : "",
             offloads_.udp_cksum ? ", udp-cksum offload" : "",
             offloads_.rx_cksum ? ", rx-cksum offload" : "");
  return {};
}

Status Port::reprobe(const PortConfig& config, uint16_t wanted_rx_queues, uint16_t tx_queues,
                     const WorkersConfig& workers, rte_mempool* pool) {
  if (vnet_tap_) return vnet_tap_->reopen();  // the ethdev in front of it stays
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id_, &info); rc != 0) {
    return Status::internal("port '" + name_ + "': cannot read device info: " + dpdk_error(rc));
  }
  stop();
  if (int rc = rte_dev_remove(info.device); rc != 0) {
    return Status::internal("port '" + name_ + "': cannot remove the device: " + dpdk_error(rc));
  }
  open_ = false;
  if (int rc = rte_dev_probe(config.device.c_str()); rc != 0) {
    return Status::internal("port '" + name_ + "': probing '" + config.device +
                            "' again failed: " + dpdk_error(rc));
  }
  PortConfig same = config;
  same.mac = mac_;
  auto fresh = Port::open(same, wanted_rx_queues, tx_queues, workers, pool);
  if (!fresh) return fresh.status();
  if (fresh->id() != id_) {
    fresh->close();
    return Status::internal("port '" + name_ + "' came back as DPDK port " +
                            std::to_string(fresh->id()) + ", not " + std::to_string(id_));
  }
  open_ = true;
  return start();
}

bool Port::link_up() const {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(id_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

void Port::stop() {
  if (!started_) return;
  rte_eth_dev_stop(id_);
  started_ = false;
}

void Port::close() {
  stop();
  if (!open_) return;
  rte_eth_dev_close(id_);
  open_ = false;
  vnet_tap_.reset();
}

}  // namespace tartan
