// A flow-capable NIC for tests: "net_flowtest", a DPDK vdev driver of the
// tests' own. No PMD on the test machines accepts rte_flow rules (net_tap
// needs TC flower; ring, pcap, af_packet and null have no rte_flow), so this
// stands in for a dedicated NIC. It is a test device, never used by tartand.
//
// It implements rte_flow validate, create, destroy, flush and COUNT queries
// and acts on the rules it holds when a test injects frames ("the wire"):
// the highest-priority matching rule decides; QUEUE and RSS steer to an RX
// queue (RSS over the outer or, at level 2, the inner 5-tuple, of IPv4 or
// IPv6 without extension headers), DROP frees
// the frame, COUNT counts, MARK sets the FDIR id, VXLAN_DECAP strips the
// outer headers. Frames no rule takes are spread by the device's own RSS.
// What it lacks is set per device (FlowTestCaps), so tests can make it
// refuse a class of rules, or fill its table so creates fail on a live port.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/net_types.h"

namespace tartan::testing {

// What the device can do; each `false` makes rte_flow_validate refuse
// rules that need it, as a NIC without the feature does.
struct FlowTestCaps {
  bool flow_api = true;  // false: no rte_flow at all, as net_ring
  bool rss = true;
  bool rss_inner = true;  // RSS level 2 (inside VXLAN)
  bool queue = true;
  bool drop = true;
  bool count = true;
  bool mark = true;
  bool vxlan_decap = true;
  bool vxlan_item = true;
  bool match_ipv4_src = true;
  bool ipv6_item = true;      // false: no rule may match IPv6 headers
  uint32_t max_rules = 4096;  // the flow table: creates beyond it fail (ENOSPC)
  unsigned ring_size = 4096;  // frames each RX and TX queue holds (a power of 2)
};

// A rule as the device holds it.
struct FlowTestRule {
  uint32_t priority = 0;
  std::optional<Ipv4Addr> src_ip;
  std::optional<Ipv6Addr> src_ip6;
  std::string actions;  // e.g. "count drop", "mark(5) vxlan_decap rss(level 2)"
  uint64_t hits = 0;
};

class FlowTestPort {
 public:
  explicit FlowTestPort(const FlowTestCaps& caps = {});
  ~FlowTestPort();  // removes the vdev (closing the port if still open)
  FlowTestPort(const FlowTestPort&) = delete;
  FlowTestPort& operator=(const FlowTestPort&) = delete;

  const std::string& name() const { return name_; }  // for PortConfig::device
  uint16_t port_id() const { return port_id_; }

  // The wire: every frame goes through the rules the device holds now.
  void inject(const std::vector<rte_mbuf*>& pkts);
  // Everything the port transmitted so far, from every TX queue.
  std::vector<rte_mbuf*> drain();
  // Frames the device put on each RX queue so far.
  std::vector<uint64_t> rx_per_queue() const;
  // Frames DROP rules took.
  uint64_t dropped_by_rules() const;
  std::vector<FlowTestRule> rules() const;
  // Resizes the flow table of the live device (existing rules stay).
  void set_max_rules(uint32_t n);
  // Called after each rule is created or destroyed, outside the device's
  // lock: the test may inject or poll from it.
  using RuleHook = std::function<void(bool created, const FlowTestRule& rule)>;
  void set_rule_hook(RuleHook hook);

  struct Device;  // flow_test_pmd.cc

 private:
  std::string name_;
  uint16_t port_id_ = 0;
  std::shared_ptr<Device> device_;
};

}  // namespace tartan::testing
