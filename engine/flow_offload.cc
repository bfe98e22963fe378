#include "engine/flow_offload.h"

#include "engine/flow_rte.h"
#include "engine/flow_testpmd.h"
#include "engine/log.h"

namespace tartan {
namespace {

// Validation needs some sender; one from the benchmarking range (RFC 2544)
// stands in while no node is known.
const Ipv4Addr kProbeSender{0xc6120001};  // 198.18.0.1

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

}  // namespace

void FlowOffload::set_software(FlowClass c, std::string why) {
  state(c) = {false, std::move(why)};
}

void FlowOffload::set_hardware(FlowClass c, std::string what) {
  state(c) = {true, std::move(what)};
}

void FlowOffload::start(const SenderMap& senders) {
  if (started_) return;  // the port was started again without a stop
  senders_ = senders;
  started_ = true;
  rss_ = rss_over_workers(params_, steering_rss_levels(params_).front());
  if (!params_.our_ip) {
    for (size_t c = 0; c < kNumFlowClasses; ++c)
      set_software(static_cast<FlowClass>(c), "no IPv4 underlay address: the rules match IPv4");
  } else if (has_tunnel(params_)) {
    probe_steering();
    probe_slow_path();
    probe_sender_filter();
    probe_decap();
  } else {
    const std::string why = "host-gw carries no tunnel traffic";
    set_software(FlowClass::kTunnelSteering, why);
    set_software(FlowClass::kSenderFilter, why);
    set_software(FlowClass::kHwDecap, why);
    probe_slow_path();
  }
  decap_offloaded_ = in_hardware(FlowClass::kHwDecap);
  for (size_t c = 0; c < kNumFlowClasses; ++c) {
    TARTAN_LOG(INFO, kEngine, "port %u: %s in %s: %s", port_,
               flow_class_name(static_cast<FlowClass>(c)),
               classes_[c].hardware ? "hardware" : "software", classes_[c].detail.c_str());
  }
}

void FlowOffload::probe_steering() {
  std::string why;
  bool same_refusal = true;  // then one message says it for every level
  std::string first_refusal;
  for (uint32_t level : steering_rss_levels(params_)) {
    const FlowActions rss = rss_over_workers(params_, level);
    const FlowRule rule = tunnel_steering_rule(params_, rss);
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

std::string FlowOffload::needs_steering() const {
  if (in_hardware(FlowClass::kTunnelSteering)) return "";
  return "needs tunnel_steering in hardware";
}

void FlowOffload::probe_slow_path() {
  // The "other IPv4 to us" rule would take tunnel traffic that no steering
  // rule holds off the workers' queues.
  if (has_tunnel(params_)) {
    if (std::string why = needs_steering(); !why.empty())
      return set_software(FlowClass::kSlowPath, why);
  }
  const std::vector<FlowRule> rules = slow_path_rules(params_);
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
  set_hardware(FlowClass::kSlowPath, "ARP and other IPv4 to " + params_.our_ip->str() +
                                         " -> queue " + std::to_string(params_.slow_queue) +
                                         " (the slow-path worker)");
}

void FlowOffload::probe_sender_filter() {
  if (std::string why = needs_steering(); !why.empty())
    return set_software(FlowClass::kSenderFilter, why);
  for (const FlowRule& r : {admit_rule(params_, kProbeSender, rss_), spoof_drop_rule(params_)}) {
    if (Status s = flow_validate(port_, r); !s.ok())
      return set_software(FlowClass::kSenderFilter, s.message());
  }
  set_hardware(FlowClass::kSenderFilter,
               "known nodes admitted, other tunnel traffic to us dropped and counted");
  // Every known node is admitted before the drop rule exists.
  for (const auto& [ip, id] : senders_) {
    if (!admit_one(ip)) return;
  }
  auto drop = flow_create(port_, spoof_drop_rule(params_));
  if (!drop) return fall_back(FlowClass::kSenderFilter, drop.status().message());
  spoof_drop_ = *drop;
}

void FlowOffload::probe_decap() {
  if (params_.backend != BackendType::kVxlan)
    return set_software(FlowClass::kHwDecap, "VXLAN_DECAP applies to the vxlan backend only");
  if (std::string why = needs_steering(); !why.empty())
    return set_software(FlowClass::kHwDecap, why);
  if (Status s = flow_validate(port_, decap_rule(params_, kProbeSender, 1, rss_)); !s.ok())
    return set_software(FlowClass::kHwDecap, s.message());
  set_hardware(FlowClass::kHwDecap,
               "known nodes' VXLAN decapsulated by the NIC, marked with their next hop");
  for (const auto& [ip, id] : senders_) {
    decap_one(ip, id);
    if (!in_hardware(FlowClass::kHwDecap)) return;
  }
}

void FlowOffload::fall_back(FlowClass c, const std::string& why) {
  TARTAN_LOG(WARNING, kEngine, "port %u: %s falls back to software: %s", port_, flow_class_name(c),
             why.c_str());
  remove_rules(c);
  set_software(c, "fell back on the live port: " + why);
}

void FlowOffload::remove_rules(FlowClass c) {
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

void FlowOffload::stop() {
  if (!started_) return;
  // Per-node rules before the rules they sit above.
  remove_rules(FlowClass::kHwDecap);
  remove_rules(FlowClass::kSenderFilter);
  remove_rules(FlowClass::kTunnelSteering);
  remove_rules(FlowClass::kSlowPath);
  started_ = false;
}

bool FlowOffload::admit_one(Ipv4Addr sender) {
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

void FlowOffload::decap_one(Ipv4Addr sender, uint32_t next_hop) {
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

void FlowOffload::forget(Ipv4Addr sender) {
  if (auto it = decaps_.find(sender); it != decaps_.end()) {
    flow_destroy(port_, it->second.flow);
    decaps_.erase(it);
  }
  if (auto it = admits_.find(sender); it != admits_.end()) {
    flow_destroy(port_, it->second);
    admits_.erase(it);
  }
}

void FlowOffload::admit(const std::vector<Ipv4Addr>& senders) {
  if (!started_ || !in_hardware(FlowClass::kSenderFilter)) return;
  for (Ipv4Addr ip : senders) {
    if (admits_.count(ip)) continue;
    if (!admit_one(ip)) return;
    admitted_ahead_.push_back(ip);
  }
}

void FlowOffload::update(const SenderChanges& changes) {
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
  for (Ipv4Addr ip : admitted_ahead_) {
    if (!senders_.count(ip)) forget(ip);
  }
  admitted_ahead_.clear();
}

uint64_t FlowOffload::spoof_drops() const {
  uint64_t n = retired_spoof_drops_;
  if (spoof_drop_ != nullptr) {
    if (auto live = flow_count(port_, spoof_drop_)) n += *live;
  }
  return n;
}

std::vector<FlowClassView> FlowOffload::classes() const {
  const uint32_t counts[kNumFlowClasses] = {
      steering_ != nullptr ? 1u : 0u, static_cast<uint32_t>(slow_.size()),
      static_cast<uint32_t>(admits_.size()) + (spoof_drop_ != nullptr ? 1u : 0u),
      static_cast<uint32_t>(decaps_.size())};
  std::vector<FlowClassView> out;
  for (size_t c = 0; c < kNumFlowClasses; ++c) {
    out.push_back({static_cast<FlowClass>(c), classes_[c].hardware, counts[c],
                   started_ ? classes_[c].detail : "port not started"});
  }
  return out;
}

std::vector<FlowRuleView> FlowOffload::rules() const {
  const FlowActions rss = in_hardware(FlowClass::kTunnelSteering)
                              ? rss_
                              : rss_over_workers(params_, steering_rss_levels(params_).front());
  std::vector<FlowRuleView> out;
  if (!params_.our_ip) return out;
  auto add = [&](const FlowRule& r, bool installed) {
    out.push_back({r.cls, installed, testpmd_flow_create(port_, r)});
  };
  if (has_tunnel(params_)) add(tunnel_steering_rule(params_, rss), steering_ != nullptr);
  for (const FlowRule& r : slow_path_rules(params_)) add(r, !slow_.empty());
  if (!has_tunnel(params_)) return out;
  for (const auto& [ip, id] : senders_) add(admit_rule(params_, ip, rss), admits_.count(ip) > 0);
  add(spoof_drop_rule(params_), spoof_drop_ != nullptr);
  if (params_.backend != BackendType::kVxlan) return out;
  for (const auto& [ip, id] : senders_) {
    auto it = decaps_.find(ip);
    add(decap_rule(params_, ip, id, rss), it != decaps_.end() && it->second.next_hop == id);
  }
  return out;
}

}  // namespace tartan
