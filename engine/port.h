// One ethdev as tartan uses it: configured from PortConfig with as many RX
// queues as workers poll it (clamped to the device) and one TX queue per
// worker, offloads enabled only where the device reports them.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>

#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/path/vnet_tap.h"
#include "engine/status.h"

namespace tartan {

struct PortOffloads {
  bool ipv4_cksum = false;  // TX IPv4 header checksum
  bool udp_cksum = false;   // TX UDP checksum
  bool rx_cksum = false;    // RX IPv4 and UDP checksums verified (mbuf flags)
  bool rss = false;         // RX spread over several queues
};

class Port {
 public:
  // Finds the ethdev EAL created for config.device and configures it.
  static Result<Port> open(const PortConfig& config, uint16_t wanted_rx_queues, uint16_t tx_queues,
                           const WorkersConfig& workers, rte_mempool* pool);

  Status start();
  void stop();   // idempotent
  void close();  // idempotent; stops first
  // Removes the device and probes it again from config.device, configured
  // as open() does and with the MAC it had: what brings back a net_tap
  // whose kernel interface was deleted. The port id must come back the same.
  Status reprobe(const PortConfig& config, uint16_t wanted_rx_queues, uint16_t tx_queues,
                 const WorkersConfig& workers, rte_mempool* pool);

  // Without waiting: for memif and vhost, whether a peer is connected.
  bool link_up() const;

  uint16_t id() const { return id_; }
  const std::string& name() const { return name_; }
  PortRole role() const { return role_; }
  uint16_t rx_queues() const { return rx_queues_; }
  uint16_t tx_queues() const { return tx_queues_; }
  const MacAddr& mac() const { return mac_; }
  const PortOffloads& offloads() const { return offloads_; }
  const std::string& driver() const { return driver_; }
  // The tap behind a vnet_tap port (vnet_tap.h), else nullptr.
  VnetTap* vnet_tap() const { return vnet_tap_.get(); }
  // Whether the host kernel routes for this port's pods (a tap standing
  // where flannel.<VNI> does) rather than tartan.
  bool is_kernel_tap() const { return vnet_tap_ != nullptr || driver_ == "net_tap"; }

 private:
  uint16_t id_ = RTE_MAX_ETHPORTS;
  std::string name_;
  PortRole role_ = PortRole::kOverlay;
  std::string driver_;
  uint16_t rx_queues_ = 0;
  uint16_t tx_queues_ = 0;
  MacAddr mac_;
  PortOffloads offloads_;
  bool started_ = false;
  bool open_ = false;
  // Shared so that Port stays copyable for Result<Port>; one owner in use.
  std::shared_ptr<VnetTap> vnet_tap_;
};

}  // namespace tartan
