// Which subnets this node takes in etcd, by flanneld's rules
// (pkg/subnet/etcd/local_manager.go tryAcquireLease), given every lease in
// etcd: our own lease again (by public IP) if it still fits the config,
// else the subnets of the last run (subnet.env) if free, else, for each
// family the network enables, one at random among the first 100 free
// subnets from SubnetMin to SubnetMax (IPv6SubnetMin to IPv6SubnetMax).
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "control/cluster/pod_cidrs.h"
#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

// Who holds a lease: its LeaseAttrs' PublicIP (0.0.0.0 on an IPv6-only
// node) and PublicIPv6.
struct LeaseHolder {
  Ipv4Addr public_ip;
  std::optional<Ipv6Addr> public_ipv6;
};

// Whether two holders are one node, as flanneld finds its own lease: by
// PublicIP; on an IPv6-only network by PublicIPv6. (flanneld compares
// PublicIP there too, 0.0.0.0 on every IPv6-only node, and so takes any
// IPv6-only node's lease for its own.)
bool same_holder(const NetworkConfig& net, const LeaseHolder& a, const LeaseHolder& b);

struct LeaseInEtcd {
  std::string key;
  PodCidrs subnets;
  std::optional<LeaseHolder> holder;  // nullopt: the value did not parse
};

struct SubnetChoice {
  enum class Kind { kOurs, kPrevious, kRandom };
  Kind kind = Kind::kRandom;
  PodCidrs subnets;
  std::string existing_key;             // kOurs: the key we hold already
  std::vector<std::string> stale_keys;  // ours (by holder) but not kept: delete them
};

// A lease blocks only the families it has a subnet of: a v4-only lease
// leaves every IPv6 subnet free (flanneld's allocator compares IPv6
// candidates with its missing IPv6 subnet, and fails). The error
// when nothing is free is kResourceExhausted "out of subnets: all N /24
// subnets from SubnetMin ..." (or "out of IPv6 subnets: all N /64 subnets
// from IPv6SubnetMin ..."), naming the range.
Result<SubnetChoice> choose_subnet(const NetworkConfig& net, const std::vector<LeaseInEtcd>& leases,
                                   const LeaseHolder& us, const PodCidrs& previous,
                                   std::mt19937_64& rng);

}  // namespace tartan
