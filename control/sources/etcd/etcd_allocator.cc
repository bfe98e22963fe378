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

// One family's allocation range as the network config gives it, and the
// net-conf keys that set it ("" or "IPv6" in front of each name).
template <class Prefix>
struct Range {
  bool enabled;
  uint8_t len;
  decltype(Prefix::addr) min, max;
  std::string network;
  std::string family;  // "" or "IPv6"
};

Range<Ipv4Prefix> ipv4_range(const NetworkConfig& net) {
  return {net.enable_ipv4, net.subnet_len, net.subnet_min, net.subnet_max, net.network.str(), ""};
}

Range<Ipv6Prefix> ipv6_range(const NetworkConfig& net) {
  return {net.enable_ipv6,
          net.ipv6_subnet_len,
          net.ipv6_subnet_min,
          net.ipv6_subnet_max,
          net.ipv6_network ? net.ipv6_network->str() : "",
          "IPv6"};
}

// A subnet of the family fits the range when the network enables it, and
// there is none when it does not.
template <class Prefix>
bool fits(const Range<Prefix>& r, const std::optional<Prefix>& s) {
  if (!r.enabled) return !s;
  return s && s->len == r.len && r.min <= s->addr && s->addr <= r.max;
}

bool fits(const NetworkConfig& net, const PodCidrs& s) {
  return fits(ipv4_range(net), s.v4) && fits(ipv6_range(net), s.v6);
}

using Count = unsigned __int128;  // an IPv6 range may hold up to 2^126 subnets

Count number(Ipv4Addr a) {
  return a.value;
}

Count number(const Ipv6Addr& a) {
  Count n = 0;
  for (uint8_t b : a.bytes) n = n << 8 | b;
  return n;
}

std::string decimal(Count n) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
    n /= 10;
  } while (n != 0);
  return digits;
}

template <class Prefix>
Status out_of_subnets(const Range<Prefix>& r) {
  const int host_bits = static_cast<int>(sizeof(Prefix::addr)) * 8 - r.len;
  const Count total = ((number(r.max) - number(r.min)) >> host_bits) + 1;
  const std::string& f = r.family;
  return Status(ErrorCode::kResourceExhausted,
                "out of " + (f.empty() ? "" : f + " ") + "subnets: all " + decimal(total) + " /" +
                    std::to_string(r.len) + " subnets from " + f + "SubnetMin " + r.min.str() +
                    " to " + f + "SubnetMax " + r.max.str() + " of " + f + "Network " + r.network +
                    " are leased");
}

// One of the first free subnets of the range, when the network enables it.
template <class Prefix>
Status pick(const Range<Prefix>& r, const Leased<Prefix>& leased, std::mt19937_64& rng,
            std::optional<Prefix>& out) {
  if (!r.enabled) return {};
  const auto free = first_free(Prefix{r.min, r.len}, r.max, leased);
  if (free.empty()) return out_of_subnets(r);
  out = any_of(free, rng);
  return {};
}

template <class Prefix>
bool taken(const std::optional<Prefix>& s, const Leased<Prefix>& leased) {
  return s && leased.overlap_reach(*s);
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
  if (fits(net, previous) && !taken(previous.v4, leased4) && !taken(previous.v6, leased6)) {
    choice.kind = SubnetChoice::Kind::kPrevious;
    choice.subnets = previous;
    return choice;
  }
  choice.kind = SubnetChoice::Kind::kRandom;
  if (Status s = pick(ipv4_range(net), leased4, rng, choice.subnets.v4); !s.ok()) return s;
  if (Status s = pick(ipv6_range(net), leased6, rng, choice.subnets.v6); !s.ok()) return s;
  return choice;
}

}  // namespace tartan
