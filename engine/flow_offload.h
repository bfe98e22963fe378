// Places each class of flow rules (flow_rule.h) on the underlay NIC or
// leaves it to the workers, class by class and address family by family.
// At start every class of each family the underlay has an address of is
// probed with rte_flow_validate and installed when it passes; a class whose
// rte_flow_create fails on the live port falls back to software, which the
// log and the API say. The per-node rules follow the tables' senders: a new
// node is admitted before its route goes live (admit), a node's rules go
// after its route is gone (update).
//
// What the workers do in each case: tunnel steering and the sender filter
// always also run in software (the hardware only takes work off them), the
// slow path is handed to worker 0 in software, and marked packets skip
// software decapsulation once hardware decap was in place at start. The
// workers take a marked packet's inner frame as IPv4 (flannel.<VNI>'s), so
// IPv6's hw_decap always stays with them, which start() logs and the API
// shows.
//
// Control thread only: the engine calls it under its mutex.
#pragma once

#include <rte_flow.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/flow_rule.h"
#include "engine/net_types.h"

namespace tartan {

// The tunnel senders the tables accept: public IP -> next-hop id.
template <class Addr>
using SenderMap = std::map<Addr, uint32_t>;
// What a table change did to senders: IP -> its next-hop id now, nullopt
// when it is no longer a sender.
template <class Addr>
using SenderChanges = std::map<Addr, std::optional<uint32_t>>;

struct FlowClassView {
  FlowClass cls = FlowClass::kTunnelSteering;
  const char* family = "ipv4";  // of the tunnels the class's rules match (family_name)
  bool hardware = false;
  uint32_t rules = 0;  // rules on the device now
  std::string detail;  // what the hardware does, or why the workers do it
};

struct FlowRuleView {
  FlowClass cls = FlowClass::kTunnelSteering;
  const char* family = "ipv4";
  bool installed = false;  // on this device now
  std::string testpmd;     // the rule as testpmd's `flow create`
};

// One address family's rules on the port (Ipv4Addr: flannel.<VNI>'s
// tunnels; Ipv6Addr: flannel-v6.<VNI>'s).
template <class Addr>
class FamilyFlows {
 public:
  FamilyFlows(uint16_t port_id, const FlowPlanParams& params) : port_(port_id), params_(params) {}
  FamilyFlows(const FamilyFlows&) = delete;
  FamilyFlows& operator=(const FamilyFlows&) = delete;

  // Whether the underlay has an address of this family (else no rules).
  bool present() const { return our_address<Addr>(params_).has_value(); }
  void start(const SenderMap<Addr>& senders);
  void stop();
  void admit(const std::vector<Addr>& senders);
  void update(const SenderChanges<Addr>& changes);
  bool decap_offloaded() const { return decap_offloaded_; }
  uint64_t spoof_drops() const;
  void add_classes(std::vector<FlowClassView>& out) const;
  void add_rules(std::vector<FlowRuleView>& out) const;

 private:
  struct ClassState {
    bool hardware = false;
    std::string detail;
  };
  ClassState& state(FlowClass c) { return classes_[static_cast<size_t>(c)]; }
  const ClassState& state(FlowClass c) const { return classes_[static_cast<size_t>(c)]; }
  bool in_hardware(FlowClass c) const { return state(c).hardware; }
  void set_software(FlowClass c, std::string why);
  void set_hardware(FlowClass c, std::string what);

  void probe_steering();
  void probe_slow_path();
  void probe_sender_filter();
  void probe_decap();
  // Why a class needing steering's RSS fate cannot be in hardware, or "".
  std::string needs_steering() const;
  // On a live port: the class goes to software, its rules off the device.
  void fall_back(FlowClass c, const std::string& why);
  void remove_rules(FlowClass c);

  bool admit_one(const Addr& sender);
  void decap_one(const Addr& sender, uint32_t next_hop);
  void forget(const Addr& sender);

  uint16_t port_;
  FlowPlanParams params_;
  std::array<ClassState, kNumFlowClasses> classes_;
  FlowActions rss_;  // the fate of every tunnel rule: steering's RSS as it validated
  rte_flow* steering_ = nullptr;
  std::vector<rte_flow*> slow_;
  rte_flow* spoof_drop_ = nullptr;
  uint64_t retired_spoof_drops_ = 0;  // counted by drop rules since removed
  std::map<Addr, rte_flow*> admits_;
  struct Decap {
    uint32_t next_hop;
    rte_flow* flow;
  };
  std::map<Addr, Decap> decaps_;
  SenderMap<Addr> senders_;
  std::vector<Addr> admitted_ahead_;  // by admit(), until the next update()
  bool started_ = false;
  bool decap_offloaded_ = false;
};

class FlowOffload {
 public:
  FlowOffload(uint16_t port_id, const FlowPlanParams& params)
      : v4_(port_id, params), v6_(port_id, params) {}
  FlowOffload(const FlowOffload&) = delete;
  FlowOffload& operator=(const FlowOffload&) = delete;

  // After the port started: probes and installs every class.
  void start(const SenderMap<Ipv4Addr>& senders, const SenderMap<Ipv6Addr>& senders6);
  // Before the port stops: removes every rule. Idempotent.
  void stop();

  // Admits senders about to get routes, ahead of the table change.
  void admit(const std::vector<Ipv4Addr>& senders) { v4_.admit(senders); }
  void admit(const std::vector<Ipv6Addr>& senders) { v6_.admit(senders); }
  // Brings the per-node rules in line after a table change.
  void update(const SenderChanges<Ipv4Addr>& changes) { v4_.update(changes); }
  void update(const SenderChanges<Ipv6Addr>& changes) { v6_.update(changes); }

  // Hardware decap was in place at start: workers must treat marked
  // packets as decapsulated (rules may come and go afterwards). Only IPv4's
  // marks packets.
  bool decap_offloaded() const { return v4_.decap_offloaded(); }
  // Tunnel packets the NIC dropped as from unknown senders, ever.
  uint64_t spoof_drops() const { return v4_.spoof_drops() + v6_.spoof_drops(); }

  // Every class of each family the underlay has an address of, IPv4's first.
  std::vector<FlowClassView> classes() const;
  // Every rule tartan builds for this port, installed here or not: for a
  // real NIC the classes in software here are printed as they would be
  // tried first (inner RSS).
  std::vector<FlowRuleView> rules() const;

 private:
  FamilyFlows<Ipv4Addr> v4_;
  FamilyFlows<Ipv6Addr> v6_;
};

}  // namespace tartan
