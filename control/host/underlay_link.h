// The kernel interface under an af_packet underlay, set up so that frames
// reach tartan's socket as a wire carries them: at most MTU-sized.
//
// DPDK 22.11's af_packet PMD copies tp_snaplen bytes of each frame into one
// mbuf and passes on no virtio-net header, so a GSO super-frame the kernel
// hands the socket arrives truncated, and nothing tartan can do afterwards
// makes it whole. Such frames come from receive aggregation on the
// interface (GRO, LRO, hardware GRO: a VM's virtio-net gets them from its
// host that way) and, on a veth, straight from the peer, whose GSO packets
// cross unsegmented whatever the receiving end's own features say; the
// kernel makes a veth's peer segment only while the receiving end runs an
// XDP program (drivers/net/veth.c, veth_fix_features). So tartan turns
// receive aggregation off on the interface it binds and, on a veth,
// attaches an XDP program that passes every frame; it logs each change and
// puts everything back when it stops. (Partial checksums, which no setting
// on the receiving side avoids, are finished by the workers:
// engine/backends/tunnel_checksum.h.)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine_config.h"
#include "engine/status.h"

namespace tartan {

class UnderlayLink {
 public:
  // The interface of an af_packet device ("net_af_packet0,iface=eth0,..."),
  // "" for any other device.
  static std::string af_packet_interface(const std::string& device);

  // Sets up the af_packet underlay's interface; nullptr (nothing to do)
  // for other devices.
  static Result<std::unique_ptr<UnderlayLink>> prepare(const PortConfig& underlay);
  ~UnderlayLink();  // puts back what prepare() changed
  UnderlayLink(const UnderlayLink&) = delete;
  UnderlayLink& operator=(const UnderlayLink&) = delete;

 private:
  UnderlayLink() = default;
  Status turn_off_receive_aggregation();
  Status attach_xdp_pass();

  std::string ifname_;
  int ifindex_ = 0;
  std::vector<std::string> turned_off_;  // ethtool features to turn on again
  int xdp_fd_ = -1;                      // our XDP program, attached by us
};

}  // namespace tartan
