// Prebuilt frames: one template per frame size holding every byte that does
// not change with the flow or the packet, and per flow the fields that do
// with their share of each checksum (one's complement sums add up). Building
// a frame is one copy and a few stores; no checksum is summed over a packet.
//
// Outer UDP checksums (VXLAN, udp backend) need no per-packet work at all: a
// valid inner TCP/UDP segment sums to minus its pseudo header, a valid
// inner IPv4 header to zero and an inner IPv6 header to its fixed words
// plus the addresses the pseudo header took away, so the outer sum is fixed
// per flow and size (the identity Linux's local checksum offload uses).
//
// The family (IPv4 or IPv6, inside and out) is fixed per factory: the frame
// code is a template over it (family.h), chosen once in the constructor.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "perf/family.h"
#include "perf/marker.h"
#include "perf/options.h"

namespace tartan::perf {

class FrameFactory {
 public:
  // `port_mac`: the source MAC of plain frames when --src-mac is not given.
  FrameFactory(const TrafficOptions& o, const Mac& port_mac);

  // Frames cycle through the size pattern: slot s has frame_len(s) bytes.
  unsigned slots() const { return static_cast<unsigned>(slot_template_.size()); }
  uint16_t frame_len(unsigned slot) const { return templates_[slot_template_[slot]].len; }
  uint16_t max_frame_len() const;
  // Whether frames of a slot are long enough to carry a sequence number
  // (only those use one up).
  bool carries_seq(unsigned slot) const {
    return templates_[slot_template_[slot]].marker_len > kMarkerSeqOffset;
  }

  // What stamp() needs to finish a frame once its burst's TSC is known.
  struct Pending {
    uint8_t* tsc = nullptr;  // nullptr: the frame has no timestamp, it is finished
    uint8_t* l4_csum = nullptr;
    uint64_t sum = 0;
    bool udp = true;
  };

  // Writes the frame of `flow`, size `slot` and sequence `seq` to `data`
  // (frame_len(slot) bytes).
  void build(uint8_t* data, uint32_t flow, unsigned slot, uint64_t seq, Pending& pending) const {
    (this->*build_)(data, flow, slot, seq, pending);
  }
  // Writes the timestamp and the inner TCP/UDP checksum.
  static void stamp(const Pending& pending, uint64_t tsc) {
    if (pending.tsc != nullptr) finish_l4(pending, tsc);
  }

  // Builds frames of a few flows in every size and checks them as the
  // receiver would; "" when they are right.
  std::string self_check() const;

 private:
  struct Layout {
    bool outer = false;         // encapsulated
    bool vxlan = false;         // with a VXLAN header and inner Ethernet
    bool node_src_mac = false;  // outer source MAC set per remote node
    bool tcp = false;
    uint16_t outer_ip = 0, outer_udp = 0, inner_eth = 0;
    uint16_t ip = 0, l4 = 0, payload = 0;
  };
  struct Template {
    std::vector<uint8_t> bytes;
    uint16_t len = 0;
    uint16_t marker_len = 0;
    // Checksum parts of the template, flow fields zero (IPv6: no header
    // checksums, ip_sum and outer_ip_sum unused).
    uint16_t ip_sum = 0, l4_sum = 0, outer_ip_sum = 0, outer_l4_sum = 0;
  };
  template <class F>
  struct FlowFields {  // network order, and their checksum parts
    typename F::Wire src_ip, dst_ip, outer_src_ip;
    uint16_t src_port, outer_src_port;
    uint16_t ip_sum, l4_sum, outer_ip_sum, outer_l4_sum;
    uint32_t node;
  };
  struct NodeMacs {
    Mac underlay, vtep;
  };
  using BuildFn = void (FrameFactory::*)(uint8_t*, uint32_t, unsigned, uint64_t, Pending&) const;

  template <class F>
  void init(const TrafficOptions& o, const Mac& port_mac);
  template <class F>
  void build_as(uint8_t* data, uint32_t flow, unsigned slot, uint64_t seq, Pending& pending) const;
  static void finish_l4(const Pending& pending, uint64_t tsc);
  template <class F>
  Template make_template(const TrafficOptions& o, uint16_t size, const Mac& port_mac) const;
  template <class F>
  FlowFields<F> make_flow(const TrafficOptions& o, uint32_t flow) const;
  // The flow table of the factory's family.
  template <class F>
  const std::vector<FlowFields<F>>& flows() const {
    if constexpr (F::kFamily == Family::kIpv6) {
      return flows6_;
    } else {
      return flows4_;
    }
  }
  template <class F>
  std::vector<FlowFields<F>>& flows() {
    return const_cast<std::vector<FlowFields<F>>&>(std::as_const(*this).flows<F>());
  }

  Layout layout_;
  BuildFn build_ = nullptr;
  std::vector<Template> templates_;
  std::vector<uint8_t> slot_template_;  // slot -> template
  std::vector<FlowFields<Ipv4Family>> flows4_;
  std::vector<FlowFields<Ipv6Family>> flows6_;
  std::vector<NodeMacs> nodes_;
  uint32_t flow_count_ = 0;
};

}  // namespace tartan::perf
