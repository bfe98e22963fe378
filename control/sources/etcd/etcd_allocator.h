// Which subnet this node takes in etcd, by flanneld's rules
// (pkg/subnet/etcd/local_manager.go tryAcquireLease), given every lease in
// etcd: our own lease again (by public IP) if it still fits the config,
// else the subnet of the last run (subnet.env) if free, else one at random
// among the first 100 free subnets from SubnetMin to SubnetMax.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

struct LeaseInEtcd {
  std::string key;
  Ipv4Prefix subnet;
  std::optional<Ipv4Addr> public_ip;  // nullopt: the value did not parse
};

struct SubnetChoice {
  enum class Kind { kOurs, kPrevious, kRandom };
  Kind kind = Kind::kRandom;
  Ipv4Prefix subnet;
  std::string existing_key;             // kOurs: the key we hold already
  std::vector<std::string> stale_keys;  // ours (our public IP) but not kept: delete them
};

// The error when nothing is free is kResourceExhausted "out of subnets: ...",
// naming the range.
Result<SubnetChoice> choose_subnet(const NetworkConfig& net, const std::vector<LeaseInEtcd>& leases,
                                   Ipv4Addr our_ip, std::optional<Ipv4Prefix> previous,
                                   std::mt19937_64& rng);

}  // namespace tartan
