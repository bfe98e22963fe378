#include "engine/flow_offload.h"

#include <string_view>
#include <type_traits>

#include "engine/flow_rte.h"
#include "engine/flow_testpmd.h"
#include "engine/log.h"

namespace tartan {
namespace {

// Validation needs some sender; one from the benchmarking ranges (RFC 2544,
// RFC 5180) stands in while no node is known.
template <class Addr>
Addr probe_sender();
template <>
Ipv4Addr probe_sender<Ipv4Addr>() {
  return Ipv4Addr{0xc6120001};  // 198.18.0.1
}
template <>
Ipv6Addr probe_sender<Ipv6Addr>() {
  return *Ipv6Addr::parse("2001:2::1");
}

// Where the workers' handling of hardware-decapsulated packets falls short
// for a family, or "" (FlowOffload's header says why IPv6 does).
template <class Addr>
constexpr std::string_view decap_unsupported() {
  return std::is_same_v<Addr, Ipv4Addr>
             ? ""
             : "the workers take a hardware-decapsulated frame as IPv4 (flannel.<VNI>'s), so "
               "flannel-v6's VXLAN is decapsulated by them";
}

std::string queue_span(const FlowPlanParams& p) {
  return p.rx_queues == 1 ? "queue 0" : "queues 0-" + std::to_string(p.rx_queues - 1);
}

std::string rss_what(const FlowActions& rss) {
  switch (rss.rss_level) {
    case 2:
      return "the inner headers (RSS level 2)";
    case 1:
      return "the outer 5-tuple (RSS level 1)";
    default:
      return "the device's default hash (RSS level 0)";
  }
}

template <class Addr>
std::string slow_path_what(const FlowPlanParams& p) {
  const std::string us = our_address<Addr>(p)->str();
  return (std::is_same_v<Addr, Ipv4Addr> ? "ARP and other IPv4 to " + us
                                         : "neighbour solicitations and other IPv6 to " + us) +
         " -> queue " + std::to_string(p.slow_queue) + " (the slow-path worker)";
}

}  // namespace

template <class Addr>
void FamilyFlows<Addr>::set_software(FlowClass c, std::string why) {
  state(c) = {false, std::move(why)};
}

template <class Addr>
void FamilyFlows<Addr>::set_hardware(FlowClass c, std::string what) {
  state(c) = {true, std::move(what)};
}

template <class Addr>
void FamilyFlows<Addr>::start(const SenderMap<Addr>& senders) {
  if (!present()) return;
  if (started_) return;  // the port was started again without a stop
  senders_ = senders;
  started_ = true;
  rss_ = rss_over_workers<Addr>(params_, steering_rss_levels(params_).front());
  if (has_tunnel(params_)) {
    probe_steering();
    probe_slow_path();
    probe_sender_filter();
    probe_decap();
  } else if (params_.backend == BackendType::kWireguard) {
    // No rule: the NIC cannot decrypt, keypairs (not senders) admit
    // packets, and a slow-path rule would take the tunnel to one queue.
    const std::string why = "wireguard has no flow rules (RSS spreads its peers)";
    for (size_t c = 0; c < kNumFlowClasses; ++c) set_software(static_cast<FlowClass>(c), why);
  } else {
    const std::string why = "host-gw carries no tunnel traffic";
    set_software(FlowClass::kTunnelSteering, why);
    set_software(FlowClass::kSenderFilter, why);
    set_software(FlowClass::kHwDecap, why);
    probe_slow_path();
  }
  decap_offloaded_ = in_hardware(FlowClass::kHwDecap);
  for (size_t c = 0; c < kNumFlowClasses; ++c) {
    TARTAN_LOG(INFO, kEngine, "port %u: %s %s in %s: %s", port_, family_name<Addr>(),
               flow_class_name(static_cast<FlowClass>(c)),
               classes_[c].hardware ? "hardware" : "software", classes_[c].detail.c_str());
  }
}

template <class Addr>
void FamilyFlows<Addr>::probe_steering() {
  std::string why;
  bool same_refusal = true;  // then one message says it for every level
  std::string first_refusal;
  for (uint32_t level : steering_rss_levels(params_)) {
    const FlowActions rss = rss_over_workers<Addr>(params_, level);
    const FlowRule rule = tunnel_steering_rule<Addr>(params_, rss);
    if (Status s = flow_validate(port_, rule); !s.ok()) {
      if (first_refusal.empty()) first_refusal = s.message();
      same_refusal = same_refusal && s.message() == first_refusal;
      why += (why.empty() ? "" : "; ") + std::string("level ") + std::to_string(level) + ": " +
             s.message();
      continue;
    }
    auto flow = flow_create(port_, rule);
    if (!flow) return set_software(FlowClass::kTunnelSteering, flow.status().message());
    steering_ = *flow;
    rss_ = rss;
    return set_hardware(FlowClass::kTunnelSteering,
                        "RSS over " + queue_span(params_) + " on " + rss_what(rss));
  }
  set_software(FlowClass::kTunnelSteering, same_refusal ? first_refusal : why);
}

template <class Addr>
std::string FamilyFlows<Addr>::needs_steering() const {
  if (in_hardware(FlowClass::kTunnelSteering)) return "";
  return "needs tunnel_steering in hardware";
}

template <class Addr>
void FamilyFlows<Addr>::probe_slow_path() {
  // The "other IP to us" rule would take tunnel traffic that no steering
  // rule holds off the workers' queues.
  if (has_tunnel(params_)) {
    if (std::string why = needs_steering(); !why.empty())
      return set_software(FlowClass::kSlowPath, why);
  }
  const std::vector<FlowRule> rules = slow_path_rules<Addr>(params_);
  for (const FlowRule& r : rules) {
    if (Status s = flow_validate(port_, r); !s.ok())
      return set_software(FlowClass::kSlowPath, s.message());
  }
  for (const FlowRule& r : rules) {
    auto flow = flow_create(port_, r);
    if (!flow) {
      remove_rules(FlowClass::kSlowPath);
      return set_software(FlowClass::kSlowPath, flow.status().message());
    }
    slow_.push_back(*flow);
  }
  set_hardware(FlowClass::kSlowPath, slow_path_what<Addr>(params_));
}

template <class Addr>
void FamilyFlows<Addr>::probe_sender_filter() {
  if (std::string why = needs_steering(); !why.empty())
    return set_software(FlowClass::kSenderFilter, why);
  for (const FlowRule& r :
       {admit_rule(params_, probe_sender<Addr>(), rss_), spoof_drop_rule<Addr>(params_)}) {
    if (Status s = flow_validate(port_, r); !s.ok())
      return set_software(FlowClass::kSenderFilter, s.message());
  }
  set_hardware(FlowClass::kSenderFilter,
               "known nodes admitted, other tunnel traffic to us dropped and counted");
  // Every known node is admitted before the drop rule exists.
  for (const auto& [ip, id] : senders_) {
    if (!admit_one(ip)) return;
  }
  auto drop = flow_create(port_, spoof_drop_rule<Addr>(params_));
  if (!drop) return fall_back(FlowClass::kSenderFilter, drop.status().message());
  spoof_drop_ = *drop;
}

template <class Addr>
void FamilyFlows<Addr>::probe_decap() {
  if (params_.backend != BackendType::kVxlan)
    return set_software(FlowClass::kHwDecap, "VXLAN_DECAP applies to the vxlan backend only");
  if (constexpr std::string_view why = decap_unsupported<Addr>(); !why.empty())
    return set_software(FlowClass::kHwDecap, std::string(why));
  if (std::string why = needs_steering(); !why.empty())
    return set_software(FlowClass::kHwDecap, why);
  if (Status s = flow_validate(port_, decap_rule(params_, probe_sender<Addr>(), 1, rss_)); !s.ok())
    return set_software(FlowClass::kHwDecap, s.message());
  set_hardware(FlowClass::kHwDecap,
               "known nodes' VXLAN decapsulated by the NIC, marked with their next hop");
  for (const auto& [ip, id] : senders_) {
    decap_one(ip, id);
    if (!in_hardware(FlowClass::kHwDecap)) return;
  }
}

template <class Addr>
void FamilyFlows<Addr>::fall_back(FlowClass c, const std::string& why) {
  TARTAN_LOG(WARNING, kEngine, "port %u: %s %s falls back to software: %s", port_,
             family_name<Addr>(), flow_class_name(c), why.c_str());
  remove_rules(c);
  set_software(c, "fell back on the live port: " + why);
}

template <class Addr>
void FamilyFlows<Addr>::remove_rules(FlowClass c) {
  switch (c) {
    case FlowClass::kTunnelSteering:
      if (steering_ != nullptr) flow_destroy(port_, steering_);
      steering_ = nullptr;
      break;
    case FlowClass::kSlowPath:
      for (rte_flow* f : slow_) flow_destroy(port_, f);
      slow_.clear();
      break;
    case FlowClass::kSenderFilter:
      // The drop rule first: no known node may be dropped meanwhile.
      if (spoof_drop_ != nullptr) {
        if (auto n = flow_count(port_, spoof_drop_)) retired_spoof_drops_ += *n;
        flow_destroy(port_, spoof_drop_);
        spoof_drop_ = nullptr;
      }
      for (const auto& [ip, f] : admits_) flow_destroy(port_, f);
      admits_.clear();
      break;
    case FlowClass::kHwDecap:
      for (const auto& [ip, d] : decaps_) flow_destroy(port_, d.flow);
      decaps_.clear();
      break;
  }
}

template <class Addr>
void FamilyFlows<Addr>::stop() {
  if (!started_) return;
  // Per-node rules before the rules they sit above.
  remove_rules(FlowClass::kHwDecap);
  remove_rules(FlowClass::kSenderFilter);
  remove_rules(FlowClass::kTunnelSteering);
  remove_rules(FlowClass::kSlowPath);
  started_ = false;
}

template <class Addr>
bool FamilyFlows<Addr>::admit_one(const Addr& sender) {
  if (admits_.count(sender)) return true;
  auto flow = flow_create(port_, admit_rule(params_, sender, rss_));
  if (!flow) {
    fall_back(FlowClass::kSenderFilter,
              "admitting " + sender.str() + ": " + flow.status().message());
    return false;
  }
  admits_[sender] = *flow;
  return true;
}

template <class Addr>
void FamilyFlows<Addr>::decap_one(const Addr& sender, uint32_t next_hop) {
  auto it = decaps_.find(sender);
  if (it != decaps_.end() && it->second.next_hop == next_hop) return;
  // A new next hop (the node's VtepMAC changed): until the rule is replaced
  // the old mark names a freed next hop, and workers drop what it marks.
  if (it != decaps_.end()) {
    flow_destroy(port_, it->second.flow);
    decaps_.erase(it);
  }
  auto flow = flow_create(port_, decap_rule(params_, sender, next_hop, rss_));
  if (!flow) {
    return fall_back(FlowClass::kHwDecap,
                     "decapsulating for " + sender.str() + ": " + flow.status().message());
  }
  decaps_[sender] = {next_hop, *flow};
}

template <class Addr>
void FamilyFlows<Addr>::forget(const Addr& sender) {
  if (auto it = decaps_.find(sender); it != decaps_.end()) {
    flow_destroy(port_, it->second.flow);
    decaps_.erase(it);
  }
  if (auto it = admits_.find(sender); it != admits_.end()) {
    flow_destroy(port_, it->second);
    admits_.erase(it);
  }
}

template <class Addr>
void FamilyFlows<Addr>::admit(const std::vector<Addr>& senders) {
  if (!started_ || !in_hardware(FlowClass::kSenderFilter)) return;
  for (const Addr& ip : senders) {
    if (admits_.count(ip)) continue;
    if (!admit_one(ip)) return;
    admitted_ahead_.push_back(ip);
  }
}

template <class Addr>
void FamilyFlows<Addr>::update(const SenderChanges<Addr>& changes) {
  for (const auto& [ip, next_hop] : changes) {
    if (!next_hop) {
      senders_.erase(ip);
      if (started_) forget(ip);
      continue;
    }
    senders_[ip] = *next_hop;
    if (!started_) continue;
    if (in_hardware(FlowClass::kSenderFilter)) admit_one(ip);
    if (in_hardware(FlowClass::kHwDecap)) decap_one(ip, *next_hop);
  }
  // Senders admitted ahead of a change that was then refused.
  for (const Addr& ip : admitted_ahead_) {
    if (!senders_.count(ip)) forget(ip);
  }
  admitted_ahead_.clear();
}

template <class Addr>
uint64_t FamilyFlows<Addr>::spoof_drops() const {
  uint64_t n = retired_spoof_drops_;
  if (spoof_drop_ != nullptr) {
    if (auto live = flow_count(port_, spoof_drop_)) n += *live;
  }
  return n;
}

template <class Addr>
void FamilyFlows<Addr>::add_classes(std::vector<FlowClassView>& out) const {
  if (!present()) return;
  const uint32_t counts[kNumFlowClasses] = {
      steering_ != nullptr ? 1u : 0u, static_cast<uint32_t>(slow_.size()),
      static_cast<uint32_t>(admits_.size()) + (spoof_drop_ != nullptr ? 1u : 0u),
      static_cast<uint32_t>(decaps_.size())};
  for (size_t c = 0; c < kNumFlowClasses; ++c) {
    out.push_back({static_cast<FlowClass>(c), family_name<Addr>(), classes_[c].hardware, counts[c],
                   started_ ? classes_[c].detail : "port not started"});
  }
}

template <class Addr>
void FamilyFlows<Addr>::add_rules(std::vector<FlowRuleView>& out) const {
  if (!present()) return;
  const FlowActions rss =
      in_hardware(FlowClass::kTunnelSteering)
          ? rss_
          : rss_over_workers<Addr>(params_, steering_rss_levels(params_).front());
  auto add = [&](const FlowRule& r, bool installed) {
    out.push_back({r.cls, family_name<Addr>(), installed, testpmd_flow_create(port_, r)});
  };
  if (has_tunnel(params_)) add(tunnel_steering_rule<Addr>(params_, rss), steering_ != nullptr);
  for (const FlowRule& r : slow_path_rules<Addr>(params_)) add(r, !slow_.empty());
  if (!has_tunnel(params_)) return;
  for (const auto& [ip, id] : senders_) add(admit_rule(params_, ip, rss), admits_.count(ip) > 0);
  add(spoof_drop_rule<Addr>(params_), spoof_drop_ != nullptr);
  if (params_.backend != BackendType::kVxlan || !decap_unsupported<Addr>().empty()) return;
  for (const auto& [ip, id] : senders_) {
    auto it = decaps_.find(ip);
    add(decap_rule(params_, ip, id, rss), it != decaps_.end() && it->second.next_hop == id);
  }
}

template class FamilyFlows<Ipv4Addr>;
template class FamilyFlows<Ipv6Addr>;

void FlowOffload::start(const SenderMap<Ipv4Addr>& senders, const SenderMap<Ipv6Addr>& senders6) {
  v4_.start(senders);
  v6_.start(senders6);
}

void FlowOffload::stop() {
  v4_.stop();
  v6_.stop();
}

std::vector<FlowClassView> FlowOffload::classes() const {
  std::vector<FlowClassView> out;
  v4_.add_classes(out);
  v6_.add_classes(out);
  return out;
}

std::vector<FlowRuleView> FlowOffload::rules() const {
  std::vector<FlowRuleView> out;
  v4_.add_rules(out);
  v6_.add_rules(out);
  return out;
}

}  // namespace tartan
