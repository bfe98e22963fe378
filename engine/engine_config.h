// What the engine needs to know to start: plain values, filled in by the
// control plane's config loader (engine/ knows nothing of YAML).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/net_types.h"

namespace tartan {

enum class HugepageMode { kAuto, kOn, kOff };

struct EalConfig {
  unsigned main_lcore = 0;
  unsigned memory_mb = 512;  // per process, hugepage or anonymous memory
  HugepageMode hugepages = HugepageMode::kAuto;
  std::string file_prefix;  // empty: "tartan-<pid>", unique per process
  std::vector<std::string> extra_args;
};

enum class PortRole { kUnderlay, kOverlay, kException };

const char* port_role_name(PortRole role);

struct PortConfig {
  std::string name;    // tartan's name for the port, used in logs, stats and the API
  std::string device;  // PCI address ("0000:3b:00.0[,args]") or vdev devargs ("net_tap0,iface=x")
  PortRole role = PortRole::kOverlay;
  uint16_t mtu = 0;  // 0: leave the device's MTU as it is
};

struct UnderlayConfig {
  Ipv4Prefix address;               // our public IP with its on-link prefix, e.g. 192.0.2.10/24
  std::optional<Ipv4Addr> gateway;  // next hop for remote VTEPs outside `address`'s subnet
};

struct WorkersConfig {
  std::vector<unsigned> lcores{1};  // one poll-mode worker per lcore
  uint16_t burst_size = 32;         // packets per rx/tx burst
  uint16_t rx_descriptors = 1024;   // per RX queue
  uint16_t tx_descriptors = 1024;   // per TX queue
  uint32_t mempool_size = 32767;    // mbufs per NUMA socket
  uint32_t mempool_cache = 256;     // per-lcore mbuf cache
};

struct EngineConfig {
  EalConfig eal;
  std::vector<PortConfig> ports;  // exactly one underlay; one or more overlays; optional exception
  UnderlayConfig underlay;
  WorkersConfig workers;
};

}  // namespace tartan
