// The fast host path: a kernel tap opened with virtio-net headers
// (IFF_VNET_HDR, TUNSETOFFLOAD CSUM | TSO4), so the kernel hands over TCP
// in GSO packets of up to 64 KB and takes merged ones back, one read() or
// write() each instead of one per MTU-sized frame. This is what vhost-net
// does for virtio-user from a kernel thread; where /dev/vhost-net is absent
// (or a kernel thread per port is unwanted) the worker does it.
//
// The engine sees an ordinary ethdev: a net_ring device (rte_eth_from_rings)
// whose RX ring this class fills from the tap and whose TX rings it drains
// into the tap, on the worker that polls the port's RX queue 0. Offloads
// travel in the mbufs as a virtio PMD carries them: a GSO packet from the
// kernel arrives with RTE_MBUF_F_RX_LRO and tso_segsz (its TCP checksum
// partial), and a packet sent with RTE_MBUF_F_TX_TCP_SEG leaves as one GSO
// write. A partial checksum of a packet that is not GSO is finished here,
// so the rest of the engine sees complete checksums as from net_tap.
//
// DPDK 22.11's net_tap opens its tap without IFF_VNET_HDR and cannot be told
// to; a PMD of our own would need DPDK's driver SDK headers, which Debian
// does not ship. Hence this relay, about as cheap (two ring operations per
// packet next to a system call per 64 KB).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/observe/counter.h"
#include "engine/status.h"

namespace tartan {

// Devargs prefix of the port in the config: "vnet_tap0,iface=flannel.1".
inline constexpr const char* kVnetTapPrefix = "vnet_tap";

bool is_vnet_tap_device(const std::string& device);

// struct virtio_net_hdr of linux/virtio_net.h, which C++ cannot include (a
// field there is named `class`); native byte order, as a tap without
// TUNSETVNETBE uses on a little-endian host.
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
inline constexpr uint8_t kVirtioNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kVirtioGsoNone = 0;
inline constexpr uint8_t kVirtioGsoTcpv4 = 1;

class VnetTap {
 public:
  // The largest frame the kernel hands over (its GSO limit) and the chain
  // of pool mbufs kept ready to read one into.
  static constexpr uint32_t kMaxFrame = 65535 + 14;

  // Opens (or creates) the kernel interface named by config.device's
  // iface=, sets its MAC (config.mac, else the kernel's own) and MTU,
  // brings it up, and creates the ring ethdev named after the devargs with
  // one RX queue and `tx_queues` TX queues.
  static Result<std::unique_ptr<VnetTap>> open(const PortConfig& config, uint16_t tx_queues,
                                               rte_mempool* pool);
  ~VnetTap();
  VnetTap(const VnetTap&) = delete;
  VnetTap& operator=(const VnetTap&) = delete;

  // The kernel interface was deleted from outside: create it again with the
  // same name, MAC and MTU. Only while no worker runs.
  Status reopen();

  // Worker side, on one worker only. receive(): up to `burst` packets from
  // the tap into the RX ring; transmit(): everything in the TX rings into
  // the tap. What the tap gives or takes badly is freed and counted as the
  // port's RX or TX errors, as a NIC counts its own.
  void receive(uint16_t burst);
  void transmit();
  uint64_t rx_errors() const { return rx_errors_.get(); }
  uint64_t tx_errors() const { return tx_errors_.get(); }

  uint16_t port_id() const { return port_id_; }
  const MacAddr& mac() const { return mac_; }
  const std::string& iface() const { return iface_; }

 private:
  VnetTap() = default;
  Status open_fd();
  bool refill_spares();
  rte_mbuf* read_one(bool& empty);
  void write_one(rte_mbuf* m);

  static constexpr unsigned kChain =
      (kMaxFrame + RTE_PKTMBUF_HEADROOM) / (RTE_MBUF_DEFAULT_BUF_SIZE) + 2;

  std::string iface_;
  MacAddr mac_;
  uint16_t mtu_ = 0;
  int fd_ = -1;
  uint16_t port_id_ = RTE_MAX_ETHPORTS;
  std::string ethdev_name_;  // net_ring's, for releasing it
  rte_mempool* pool_ = nullptr;
  rte_ring* rx_ring_ = nullptr;
  std::vector<rte_ring*> tx_rings_;
  std::array<rte_mbuf*, kChain> spares_{};
  unsigned num_spares_ = 0;
  Counter rx_errors_;  // frames refused: runts, offloads we did not offer
  Counter tx_errors_;  // writes the tap refused (interface down or gone)
};

}  // namespace tartan
