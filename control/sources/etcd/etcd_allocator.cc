#include "control/sources/etcd/etcd_allocator.h"

#include <algorithm>
#include <utility>

namespace tartan {
namespace {

constexpr size_t kCandidates = 100;  // flannel picks among the first 100 free

// One family's leased ranges, for overlap tests in log time. Ranges may
// nest (a /16 lease among /24s), so each range also knows the highest last
// address of itself and every range starting before it.
template <class Prefix>
class Leased {
 public:
  using Addr = decltype(Prefix::addr);

  explicit Leased(const std::vector<Prefix>& subnets) {
    for (const Prefix& p : subnets) ranges_.push_back({p.network().addr, p.last()});
    std::sort(ranges_.begin(), ranges_.end());
    for (const auto& [first, last] : ranges_)
      reach_.push_back(reach_.empty() ? last : std::max(reach_.back(), last));
  }

  // The highest address of the ranges overlapping `p`; nullopt when none does.
  std::optional<Addr> overlap_reach(const Prefix& p) const {
    // Among the ranges starting at or below p's last address, one overlaps
    // p exactly when the furthest-reaching of them gets to p's first.
    const auto it =
        std::upper_bound(ranges_.begin(), ranges_.end(), p.last(),
                         [](const Addr& a, const std::pair<Addr, Addr>& r) { return a < r.first; });
    if (it == ranges_.begin()) return std::nullopt;
    const Addr reach = reach_[static_cast<size_t>(it - ranges_.begin()) - 1];
    if (reach < p.addr) return std::nullopt;
    return reach;
  }

 private:
  std::vector<std::pair<Addr, Addr>> ranges_;  // (first, last), sorted
  std::vector<Addr> reach_;
};

// The first kCandidates subnets of `first`'s length from `first` to `max`
// that no lease overlaps. A leased stretch is stepped over whole.
template <class Prefix>
std::vector<Prefix> first_free(Prefix first, const decltype(Prefix::addr)& max,
                               const Leased<Prefix>& leased) {
  std::vector<Prefix> free;
  std::optional<Prefix> p = first;
  while (p && p->addr <= max && free.size() < kCandidates) {
    if (auto reach = leased.overlap_reach(*p)) {
      p = Prefix{*reach, p->len}.network().next();
    } else {
      free.push_back(*p);
      p = p->next();
    }
  }
  return free;
}

template <class Prefix>
Prefix any_of(const std::vector<Prefix>& v, std::mt19937_64& rng) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

// Each family's subnet fits the network it enables, and only those.
bool fits(const NetworkConfig& net, const PodCidrs& s) {
  const bool v4 = net.enable_ipv4 ? s.v4 && s.v4->len == net.subnet_len &&
                                        net.subnet_min <= s.v4->addr && s.v4->addr <= net.subnet_max
                                  : !s.v4;
  const bool v6 = net.enable_ipv6
                      ? s.v6 && s.v6->len == net.ipv6_subnet_len &&
                            net.ipv6_subnet_min <= s.v6->addr && s.v6->addr <= net.ipv6_subnet_max
                      : !s.v6;
  return v4 && v6;
}

Status out_of_ipv4_subnets(const NetworkConfig& net) {
  const uint64_t step = uint64_t{1} << (32 - net.subnet_len);
  const uint64_t total = (uint64_t{net.subnet_max.value} - net.subnet_min.value) / step + 1;
  return Status(ErrorCode::kResourceExhausted,
                "out of subnets: all " + std::to_string(total) + " /" +
                    std::to_string(net.subnet_len) + " subnets from SubnetMin " +
                    net.subnet_min.str() + " to SubnetMax " + net.subnet_max.str() +
                    " of Network " + net.network.str() + " are leased");
}

Status out_of_ipv6_subnets(const NetworkConfig& net) {
  return Status(ErrorCode::kResourceExhausted,
                "out of IPv6 subnets: all /" + std::to_string(net.ipv6_subnet_len) +
                    " subnets from IPv6SubnetMin " + net.ipv6_subnet_min.str() +
                    " to IPv6SubnetMax " + net.ipv6_subnet_max.str() + " of IPv6Network " +
                    net.ipv6_network->str() + " are leased");
}

}  // namespace

bool same_holder(const NetworkConfig& net, const LeaseHolder& a, const LeaseHolder& b) {
  if (net.enable_ipv4) return a.public_ip == b.public_ip;
  return a.public_ipv6 && a.public_ipv6 == b.public_ipv6;
}

Result<SubnetChoice> choose_subnet(const NetworkConfig& net, const std::vector<LeaseInEtcd>& leases,
                                   const LeaseHolder& us, const PodCidrs& previous,
                                   std::mt19937_64& rng) {
  SubnetChoice choice;
  const auto ours = [&](const LeaseInEtcd& l) {
    return l.holder && same_holder(net, *l.holder, us);
  };
  const LeaseInEtcd* held = nullptr;
  for (const LeaseInEtcd& l : leases) {
    if (!ours(l)) continue;
    if (held == nullptr && fits(net, l.subnets))
      held = &l;
    else
      choice.stale_keys.push_back(l.key);
  }
  if (held != nullptr) {
    choice.kind = SubnetChoice::Kind::kOurs;
    choice.subnets = held->subnets;
    choice.existing_key = held->key;
    return choice;
  }
  // Our stale keys are about to go: they do not block a subnet.
  std::vector<Ipv4Prefix> others4;
  std::vector<Ipv6Prefix> others6;
  for (const LeaseInEtcd& l : leases) {
    if (ours(l)) continue;
    if (l.subnets.v4) others4.push_back(*l.subnets.v4);
    if (l.subnets.v6) others6.push_back(*l.subnets.v6);
  }
  const Leased<Ipv4Prefix> leased4(others4);
  const Leased<Ipv6Prefix> leased6(others6);
  if (fits(net, previous) && !(previous.v4 && leased4.overlap_reach(*previous.v4)) &&
      !(previous.v6 && leased6.overlap_reach(*previous.v6))) {
    choice.kind = SubnetChoice::Kind::kPrevious;
    choice.subnets = previous;
    return choice;
  }
  choice.kind = SubnetChoice::Kind::kRandom;
  if (net.enable_ipv4) {
    const auto free =
        first_free(Ipv4Prefix{net.subnet_min, net.subnet_len}, net.subnet_max, leased4);
    if (free.empty()) return out_of_ipv4_subnets(net);
    choice.subnets.v4 = any_of(free, rng);
  }
  if (net.enable_ipv6) {
    const auto free = first_free(Ipv6Prefix{net.ipv6_subnet_min, net.ipv6_subnet_len},
                                 net.ipv6_subnet_max, leased6);
    if (free.empty()) return out_of_ipv6_subnets(net);
    choice.subnets.v6 = any_of(free, rng);
  }
  return choice;
}

}  // namespace tartan
