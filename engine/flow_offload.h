// Places each class of flow rules (flow_rule.h) on the underlay NIC or
// leaves it to the workers, class by class. At start every class is probed
// with rte_flow_validate and installed when it passes; a class whose
// rte_flow_create fails on the live port falls back to software, which the
// log and the API say. The per-node rules follow the tables' senders: a new
// node is admitted before its route goes live (admit), a node's rules go
// after its route is gone (update).
//
// What the workers do in each case: tunnel steering and the sender filter
// always also run in software (the hardware only takes work off them), the
// slow path is handed to worker 0 in software, and marked packets skip
// software decapsulation once hardware decap was in place at start.
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
using SenderMap = std::map<Ipv4Addr, uint32_t>;
// What a table change did to senders: IP -> its next-hop id now, nullopt
// when it is no longer a sender.
using SenderChanges = std::map<Ipv4Addr, std::optional<uint32_t>>;

struct FlowClassView {
  FlowClass cls = FlowClass::kTunnelSteering;
  bool hardware = false;
  uint32_t rules = 0;  // rules on the device now
  std::string detail;  // what the hardware does, or why the workers do it
};

struct FlowRuleView {
  FlowClass cls = FlowClass::kTunnelSteering;
  bool installed = false;  // on this device now
  std::string testpmd;     // the rule as testpmd's `flow create`
};

class FlowOffload {
 public:
  FlowOffload(uint16_t port_id, const FlowPlanParams& params) : port_(port_id), params_(params) {}
  FlowOffload(const FlowOffload&) = delete;
  FlowOffload& operator=(const FlowOffload&) = delete;

  // After the port started: probes and installs every class.
  void start(const SenderMap& senders);
  // Before the port stops: removes every rule. Idempotent.
  void stop();

  // Admits senders about to get routes, ahead of the table change.
  void admit(const std::vector<Ipv4Addr>& senders);
  // Brings the per-node rules in line after a table change.
  void update(const SenderChanges& changes);

  // Hardware decap was in place at start: workers must treat marked
  // packets as decapsulated (rules may come and go afterwards).
  bool decap_offloaded() const { return decap_offloaded_; }
  // Tunnel packets the NIC dropped as from unknown senders, ever.
  uint64_t spoof_drops() const;

  std::vector<FlowClassView> classes() const;
  // Every rule tartan builds for this port, installed here or not: for a
  // real NIC the classes in software here are printed as they would be
  // tried first (inner RSS).
  std::vector<FlowRuleView> rules() const;

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

  bool admit_one(Ipv4Addr sender);
  void decap_one(Ipv4Addr sender, uint32_t next_hop);
  void forget(Ipv4Addr sender);

  uint16_t port_;
  FlowPlanParams params_;
  std::array<ClassState, kNumFlowClasses> classes_;
  FlowActions rss_;  // the fate of every tunnel rule: steering's RSS as it validated
  rte_flow* steering_ = nullptr;
  std::vector<rte_flow*> slow_;
  rte_flow* spoof_drop_ = nullptr;
  uint64_t retired_spoof_drops_ = 0;  // counted by drop rules since removed
  std::map<Ipv4Addr, rte_flow*> admits_;
  struct Decap {
    uint32_t next_hop;
    rte_flow* flow;
  };
  std::map<Ipv4Addr, Decap> decaps_;
  SenderMap senders_;
  std::vector<Ipv4Addr> admitted_ahead_;  // by admit(), until the next update()
  bool started_ = false;
  bool decap_offloaded_ = false;
};

}  // namespace tartan
